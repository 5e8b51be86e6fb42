package shell

import "time"

// restartTracker decides how long to wait before restarting a child and
// whether the task is crash-looping. It is pure: time comes in as
// arguments.
type restartTracker struct {
	opts Options
	// streak counts consecutive failures; reset when a child ran for
	// StableAfter.
	streak int
	// recent holds the times of failures within CrashLoopWindow.
	recent []time.Time
}

// failed records a failure at now of a child started at started, and
// returns the delay before the next start and whether the task is
// crash-looping.
func (r *restartTracker) failed(started, now time.Time) (time.Duration, bool) {
	if !started.IsZero() && now.Sub(started) >= r.opts.StableAfter {
		r.streak = 0
	}
	r.streak++
	keep := r.recent[:0]
	for _, t := range r.recent {
		if now.Sub(t) < r.opts.CrashLoopWindow {
			keep = append(keep, t)
		}
	}
	r.recent = append(keep, now)
	delay := r.opts.MinBackoff
	for i := 1; i < r.streak && delay < r.opts.MaxBackoff; i++ {
		delay *= 2
	}
	return min(delay, r.opts.MaxBackoff), len(r.recent) >= r.opts.CrashLoopRestarts
}
