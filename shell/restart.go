package shell

import (
	"time"

	"github.com/squallstream/squall/internal/backoff"
)

// restartTracker decides how long to wait before restarting a child and
// whether the task is crash-looping. Apart from the backoff's jitter it is
// pure: time comes in as arguments.
type restartTracker struct {
	opts Options
	// delays grows with consecutive failures; reset when a child ran for
	// StableAfter.
	delays *backoff.Backoff
	// recent holds the times of failures within CrashLoopWindow.
	recent []time.Time
}

func newRestartTracker(opts Options) *restartTracker {
	return &restartTracker{opts: opts, delays: backoff.New(backoff.Policy{
		Min: opts.MinBackoff, Max: opts.MaxBackoff, Jitter: opts.BackoffJitter})}
}

// failed records a failure at now of a child started at started, and
// returns the delay before the next start and whether the task is
// crash-looping.
func (r *restartTracker) failed(started, now time.Time) (time.Duration, bool) {
	if !started.IsZero() && now.Sub(started) >= r.opts.StableAfter {
		r.delays.Reset()
	}
	keep := r.recent[:0]
	for _, t := range r.recent {
		if now.Sub(t) < r.opts.CrashLoopWindow {
			keep = append(keep, t)
		}
	}
	r.recent = append(keep, now)
	return r.delays.Next(), len(r.recent) >= r.opts.CrashLoopRestarts
}

// streak is the number of consecutive failures.
func (r *restartTracker) streak() int { return r.delays.Attempts() }
