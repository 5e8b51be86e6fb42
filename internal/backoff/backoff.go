// Package backoff computes retry delays: exponential growth from a minimum
// to a maximum, with random jitter so that many retrying parties (workers
// redialling one peer, supervisors restarting after one ZooKeeper outage)
// spread out instead of retrying in lockstep.
//
// A Backoff is pure apart from its random source: it never sleeps. Wait
// sleeps for a delay unless a context ends first.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// DefaultJitter is the fraction of each delay that is random when a
// Policy leaves Jitter at zero: a delay d becomes one in [0.8d, d].
const DefaultJitter = 0.2

// Policy describes a backoff.
type Policy struct {
	// Min is the first delay; Max bounds every delay.
	Min, Max time.Duration
	// Jitter is the fraction of a delay that is random, in [0, 1]: a
	// delay d becomes one in [(1-Jitter)d, d]. Zero means DefaultJitter;
	// a negative value means no jitter (for tests).
	Jitter float64
}

// Backoff hands out the delays of one sequence of retries. It is not safe
// for concurrent use: it belongs to the goroutine that retries.
type Backoff struct {
	policy   Policy
	attempts int
	// rand returns a float in [0, 1); tests replace it.
	rand func() float64
}

// New returns a Backoff following p.
func New(p Policy) *Backoff {
	if p.Max < p.Min {
		p.Max = p.Min
	}
	return &Backoff{policy: p, rand: rand.Float64}
}

// Next returns the delay before the next retry and counts the attempt.
func (b *Backoff) Next() time.Duration {
	b.attempts++
	return b.Delay(b.attempts)
}

// Delay returns the delay before retry number attempt (from 1), with
// jitter, without counting it.
func (b *Backoff) Delay(attempt int) time.Duration {
	d := b.policy.Min
	for i := 1; i < attempt && d < b.policy.Max; i++ {
		d *= 2
	}
	d = min(d, b.policy.Max)
	j := b.policy.Jitter
	switch {
	case j == 0:
		j = DefaultJitter
	case j < 0:
		return d
	case j > 1:
		j = 1
	}
	return d - time.Duration(j*b.rand()*float64(d))
}

// Attempts returns how many delays Next handed out since the last Reset.
func (b *Backoff) Attempts() int { return b.attempts }

// Reset starts the sequence again from Min, after a success.
func (b *Backoff) Reset() { b.attempts = 0 }

// Wait sleeps for the next delay. It returns false, at once, if ctx ends
// first.
func (b *Backoff) Wait(ctx context.Context) bool {
	return Sleep(ctx, b.Next())
}

// Sleep sleeps for d unless ctx ends first; it reports whether the whole
// delay passed.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
