package nimbus

import "time"

// Clock is nimbus's time source: the system clock, or a fake one in tests
// that drives the kill and rebalance timers, the monitor ticks and the
// heartbeat timeouts.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has passed, unless the
	// returned Timer is stopped first.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a call scheduled by Clock.AfterFunc.
type Timer interface {
	// Stop cancels the call, reporting whether it did so before the call
	// started.
	Stop() bool
}

// systemClock is Clock on the time package.
type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
