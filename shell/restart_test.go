package shell

import (
	"testing"
	"time"
)

func TestRestartTracker(t *testing.T) {
	opts := Options{MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second, BackoffJitter: -1,
		StableAfter: time.Minute, CrashLoopRestarts: 3, CrashLoopWindow: time.Minute}.withDefaults()
	t0 := time.Unix(1000, 0)
	steps := []struct {
		started, now time.Duration // offsets from t0
		wantDelay    time.Duration
		wantLoop     bool
	}{
		{0, 1 * time.Second, 100 * time.Millisecond, false},
		{2 * time.Second, 3 * time.Second, 200 * time.Millisecond, false},
		{4 * time.Second, 5 * time.Second, 400 * time.Millisecond, true},
		{6 * time.Second, 7 * time.Second, 800 * time.Millisecond, true},
		{8 * time.Second, 9 * time.Second, time.Second, true},                // capped
		{10 * time.Second, 11 * time.Second, time.Second, true},              // stays capped
		{20 * time.Second, 200 * time.Second, 100 * time.Millisecond, false}, // ran stably: streak reset, window empty
	}
	r := newRestartTracker(opts)
	for i, s := range steps {
		delay, loop := r.failed(t0.Add(s.started), t0.Add(s.now))
		if delay != s.wantDelay || loop != s.wantLoop {
			t.Errorf("failure %d: failed() = %v, %v; want %v, %v", i, delay, loop, s.wantDelay, s.wantLoop)
		}
	}
}
