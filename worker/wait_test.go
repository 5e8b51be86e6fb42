package worker

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/squallstream/squall/topology"
)

func TestNewWaitStrategy(t *testing.T) {
	tests := []struct {
		name      string
		situation string
		conf      topology.Config
		want      waitStrategy
		wantErr   bool
	}{
		{"spout defaults: straight to 1 ms sleeps", topology.WaitSpout, nil, waitStrategy{sleep: time.Millisecond}, false},
		{"bolt defaults: a check, then park", topology.WaitBolt, nil, waitStrategy{spin: 1, sleep: time.Millisecond}, false},
		{"backpressure defaults", topology.WaitBackpressure, nil, waitStrategy{spin: 1, sleep: time.Millisecond}, false},
		{"progressive levels", topology.WaitSpout, topology.Config{
			"topology.spout.wait.progressive.level1.count":        10,
			"topology.spout.wait.progressive.level2.count":        20,
			"topology.spout.wait.progressive.level3.sleep.millis": 50,
		}, waitStrategy{spin: 10, yield: 20, sleep: 50 * time.Millisecond}, false},
		{"a spout sleeping 0 ms waits busily", topology.WaitSpout, topology.Config{
			"topology.spout.wait.progressive.level3.sleep.millis": 0,
		}, waitStrategy{busy: true}, false},
		{"a bolt parks whatever its level 3 sleep", topology.WaitBolt, topology.Config{
			"topology.bolt.wait.progressive.level3.sleep.millis": 0,
		}, waitStrategy{spin: 1}, false},
		{"park", topology.WaitSpout, topology.Config{
			"topology.spout.wait.strategy":      "org.apache.storm.policy.WaitStrategyPark",
			"topology.spout.wait.park.microsec": 250,
		}, waitStrategy{sleep: 250 * time.Microsecond}, false},
		{"park 0 µs waits busily", topology.WaitBolt, topology.Config{
			"topology.bolt.wait.strategy":      "org.apache.storm.policy.WaitStrategyPark",
			"topology.bolt.wait.park.microsec": 0,
		}, waitStrategy{busy: true}, false},
		{"Storm 1's sleep strategy", topology.WaitSpout, topology.Config{
			"topology.spout.wait.strategy":               "org.apache.storm.spout.SleepSpoutWaitStrategy",
			"topology.sleep.spout.wait.strategy.time.ms": 5,
		}, waitStrategy{sleep: 5 * time.Millisecond}, false},
		{"Storm 1's sleep strategy is for spouts", topology.WaitBolt, topology.Config{
			"topology.bolt.wait.strategy": "org.apache.storm.spout.SleepSpoutWaitStrategy",
		}, waitStrategy{}, true},
		{"unknown strategy", topology.WaitBolt, topology.Config{
			"topology.bolt.wait.strategy": "com.example.MyWait",
		}, waitStrategy{}, true},
		{"negative count", topology.WaitBackpressure, topology.Config{
			"topology.backpressure.wait.progressive.level2.count": -1,
		}, waitStrategy{}, true},
		{"negative sleep", topology.WaitSpout, topology.Config{
			"topology.spout.wait.progressive.level3.sleep.millis": -1,
		}, waitStrategy{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := newWaitStrategy(topology.Defaults().Merge(tt.conf), tt.situation)
			if (err != nil) != tt.wantErr {
				t.Fatalf("newWaitStrategy(%v) error = %v, want error %v", tt.conf, err, tt.wantErr)
			}
			if err == nil && got != tt.want {
				t.Errorf("newWaitStrategy(%v) = %+v, want %+v", tt.conf, got, tt.want)
			}
		})
	}
}

// TestBadWaitStrategyNamesTheKey: a worker refuses to start with a wait
// strategy it does not know, saying which key is wrong.
func TestBadWaitStrategyNamesTheKey(t *testing.T) {
	topo := idleTopology(t, topology.Config{"topology.bolt.wait.strategy": "com.example.MyWait"})
	_, err := New(Config{Topology: topo, StormID: "idle-1-1"})
	var se *SettingError
	if !errors.Is(err, topology.ErrBadConfig) || !errors.As(err, &se) || se.Key != "topology.bolt.wait.strategy" {
		t.Errorf("New = %v, want a *SettingError for topology.bolt.wait.strategy", err)
	}
}

// pokeSpout counts its Next calls and emits one tuple when poked.
type pokeSpout struct {
	out     topology.SpoutCollector
	nexts   *atomic.Int64
	poke    *atomic.Bool
	emitted *atomic.Int64 // unix nanos of the last emit
}

func (s *pokeSpout) DeclareOutputs() []topology.Stream {
	return []topology.Stream{{ID: topology.DefaultStream, Fields: []string{"v"}}}
}
func (s *pokeSpout) Open(_ *topology.TaskContext, out topology.SpoutCollector) error {
	s.out = out
	return nil
}
func (s *pokeSpout) Next() {
	s.nexts.Add(1)
	if s.poke.CompareAndSwap(true, false) {
		s.emitted.Store(time.Now().UnixNano())
		s.out.Emit(topology.DefaultStream, []any{1}, nil)
	}
}
func (s *pokeSpout) Ack(any)  {}
func (s *pokeSpout) Fail(any) {}
func (s *pokeSpout) Close()   {}

// timeBolt records when it executed its last tuple.
type timeBolt struct{ executed *atomic.Int64 }

func (b timeBolt) Prepare(*topology.TaskContext, topology.BoltCollector) error { return nil }
func (b timeBolt) Execute(topology.Tuple)                                      { b.executed.Store(time.Now().UnixNano()) }
func (b timeBolt) Cleanup()                                                    {}

type pokeRig struct {
	w                 *Worker
	nexts             atomic.Int64
	poke              atomic.Bool
	emitted, executed atomic.Int64
}

// startPokeRig runs a worker of a poke spout and a time bolt in the
// current synctest bubble, stopped when the test ends.
func startPokeRig(t *testing.T, conf topology.Config, inactive bool) *pokeRig {
	r := &pokeRig{}
	b := topology.NewBuilder("poke")
	for k, v := range conf {
		b.AddConfig(k, v)
	}
	b.SetSpout("spout", topology.SpoutFunc(func() (topology.Spout, error) {
		return &pokeSpout{nexts: &r.nexts, poke: &r.poke, emitted: &r.emitted}, nil
	}), 1)
	b.SetBolt("bolt", topology.BoltFunc(func() (topology.Bolt, error) { return timeBolt{&r.executed}, nil }), 1).ShuffleGrouping("spout")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	r.w, err = New(Config{Topology: topo, StormID: "poke-1-1", Inactive: inactive, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	<-r.w.Started()
	return r
}

// TestSpoutWaitHonoursStormKeys: an active spout with nothing to emit is
// called as often as its wait strategy says, in (fake) time.
func TestSpoutWaitHonoursStormKeys(t *testing.T) {
	tests := []struct {
		name   string
		conf   topology.Config
		lo, hi int64 // Next calls in the first second
	}{
		{"Storm's default: 1 ms sleeps", nil, 995, 1001},
		{"level 3 of 20 ms", topology.Config{"topology.spout.wait.progressive.level3.sleep.millis": 20}, 50, 51},
		{"levels 1 and 2 before 100 ms sleeps", topology.Config{
			"topology.spout.wait.progressive.level1.count":        30,
			"topology.spout.wait.progressive.level2.count":        70,
			"topology.spout.wait.progressive.level3.sleep.millis": 100,
		}, 100 + 10, 100 + 11},
		{"park 10 ms", topology.Config{
			"topology.spout.wait.strategy":      "org.apache.storm.policy.WaitStrategyPark",
			"topology.spout.wait.park.microsec": 10000,
		}, 100, 101},
		{"Storm 1's sleep", topology.Config{
			"topology.spout.wait.strategy":               "org.apache.storm.spout.SleepSpoutWaitStrategy",
			"topology.sleep.spout.wait.strategy.time.ms": 250,
		}, 4, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := startPokeRig(t, tt.conf, false)
				time.Sleep(time.Second - time.Nanosecond)
				synctest.Wait()
				if n := r.nexts.Load(); n < tt.lo || n > tt.hi {
					t.Errorf("Next called %d times in the first second, want %d to %d", n, tt.lo, tt.hi)
				}
			})
		})
	}
}

// TestInactiveSpoutParks: a deactivated spout is not called and does not
// poll; activation wakes it at once, and a tuple it then emits reaches an
// idle bolt without any time passing: nothing on the way sleeps.
func TestInactiveSpoutParks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startPokeRig(t, topology.Config{"topology.spout.wait.progressive.level3.sleep.millis": 50}, true)
		time.Sleep(time.Hour)
		synctest.Wait()
		if n := r.nexts.Load(); n != 0 {
			t.Fatalf("an inactive spout was called %d times", n)
		}
		r.poke.Store(true)
		r.w.Activate()
		activated := time.Now()
		synctest.Wait()
		if r.nexts.Load() == 0 || r.executed.Load() == 0 {
			t.Fatalf("after activation: %d Next calls, executed at %d", r.nexts.Load(), r.executed.Load())
		}
		if at := time.Unix(0, r.executed.Load()); !at.Equal(activated) {
			t.Errorf("the tuple was executed %v after activation, want at once", at.Sub(activated))
		}
		// An idle bolt, parked long ago, executes a new tuple the moment
		// it is emitted.
		time.Sleep(time.Second)
		r.poke.Store(true)
		time.Sleep(time.Second) // the spout's next call emits
		synctest.Wait()
		if e, x := r.emitted.Load(), r.executed.Load(); e != x {
			t.Errorf("emitted at %v, executed at %v, want the same instant", time.Unix(0, e), time.Unix(0, x))
		}
		r.w.Deactivate()
		synctest.Wait()
		n := r.nexts.Load()
		time.Sleep(time.Hour)
		synctest.Wait()
		if d := r.nexts.Load() - n; d != 0 {
			t.Errorf("a deactivated spout was called %d times in an hour", d)
		}
	})
}
