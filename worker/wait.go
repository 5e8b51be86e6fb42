package worker

import (
	"cmp"
	"fmt"
	"runtime"
	"time"

	"github.com/squallstream/squall/metrics"
	"github.com/squallstream/squall/topology"
)

// waitStrategy says how an executor idles in one of Storm 2's wait
// situations: a spout whose Next emitted nothing, a bolt whose queue is
// empty, a producer whose target queue is full. It first checks again at
// once (level 1), then yields the processor between checks (level 2, Go's
// nearest to Storm's parkNanos(1)), then waits in level 3: a spout sleeps,
// waking early for acks, fails, room and activation; a bolt or a producer
// parks until the queue it waits on wakes it, which is sooner than any
// sleep would. A spout of an inactive topology parks until it is
// activated: it has nothing to poll.
type waitStrategy struct {
	// spin and yield are how many idle rounds pass in levels 1 and 2.
	spin, yield int
	// sleep is how long a spout sleeps per round in level 3.
	sleep time.Duration
	// busy never leaves level 2 (WaitStrategyPark with 0 µs: busy
	// waiting).
	busy bool
	// held, if set, adds up the nanoseconds a producer waited for room
	// (backpressure-time; metrics_flow.go).
	held *metrics.Counter
}

// park reports whether the n-th idle round in a row (from 0) is in level
// 3: the caller waits for what it waits for.
func (s *waitStrategy) park(n int) bool { return !s.busy && n >= s.spin+s.yield }

// pause idles for the n-th idle round in a row when it is not in level 3:
// not at all in level 1, a yield in level 2.
func (s *waitStrategy) pause(n int) {
	if s.busy || n >= s.spin {
		runtime.Gosched()
	}
}

// newWaitStrategy reads the wait strategy of a situation (topology.WaitSpout,
// WaitBolt or WaitBackpressure) from conf, whose types CheckConfig checked.
// A bad value is a *SettingError.
func newWaitStrategy(conf topology.Config, situation string) (waitStrategy, error) {
	var s waitStrategy
	key := func(setting string) string { return situation + setting }
	nonNegative := func(setting string, v float64) error {
		if v < 0 {
			return &SettingError{Key: key(setting), Value: conf[key(setting)], Reason: "must not be negative"}
		}
		return nil
	}
	name := conf.String(key(topology.WaitStrategy), topology.WaitProgressive)
	switch name {
	case topology.WaitProgressive:
		s.spin = conf.Int(key(topology.WaitLevel1Count), 0)
		s.yield = conf.Int(key(topology.WaitLevel2Count), 0)
		ms := conf.Float(key(topology.WaitLevel3SleepMs), 1)
		if err := cmp.Or(nonNegative(topology.WaitLevel1Count, float64(s.spin)),
			nonNegative(topology.WaitLevel2Count, float64(s.yield)),
			nonNegative(topology.WaitLevel3SleepMs, ms)); err != nil {
			return s, err
		}
		s.sleep = time.Duration(ms * float64(time.Millisecond))
	case topology.WaitPark:
		us := conf.Float(key(topology.WaitParkMicrosec), 100)
		if err := nonNegative(topology.WaitParkMicrosec, us); err != nil {
			return s, err
		}
		s.sleep = time.Duration(us * float64(time.Microsecond))
	case topology.WaitSleepSpoutWait:
		if situation != topology.WaitSpout {
			return s, &SettingError{Key: key(topology.WaitStrategy), Value: name, Reason: "a spout wait strategy"}
		}
		ms := conf.Int(topology.KeySleepSpoutWaitStrategyMs, 1)
		if ms < 0 {
			return s, &SettingError{Key: topology.KeySleepSpoutWaitStrategyMs, Value: ms, Reason: "must not be negative"}
		}
		s.sleep = time.Duration(ms) * time.Millisecond
	default:
		return s, &SettingError{Key: key(topology.WaitStrategy), Value: name, Reason: fmt.Sprintf(
			"unknown wait strategy; squall has %s and %s (and, for spouts, %s)",
			topology.WaitProgressive, topology.WaitPark, topology.WaitSleepSpoutWait)}
	}
	// Sleeping no time at all is waiting busily, as in Storm.
	s.busy = s.sleep == 0
	if situation != topology.WaitSpout && name == topology.WaitProgressive {
		// Bolts and producers park until woken; level 3's sleep is for
		// spouts, which nothing wakes when they have something to emit.
		s.busy = false
	}
	return s, nil
}
