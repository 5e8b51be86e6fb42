package kafka

import (
	"container/heap"
	"time"

	"github.com/squallstream/squall/internal/backoff"
)

// RetryPolicy says when a failed tuple is emitted again, as Storm's
// KafkaSpoutRetryExponentialBackoff does: after its first failure a tuple
// waits InitialDelay; after failure n > 1 it waits DelayPeriod·2^(n-1);
// never longer than MaxDelay. After MaxRetries failures the tuple is given
// up: its offset counts as processed so that commits go on.
type RetryPolicy struct {
	InitialDelay time.Duration
	DelayPeriod  time.Duration
	MaxDelay     time.Duration
	// MaxRetries < 0 means retry forever, Storm's default.
	MaxRetries int
}

// DefaultRetryPolicy is storm-kafka-client's default: at once, then 4 ms,
// 8 ms, ... up to 10 s, forever.
var DefaultRetryPolicy = RetryPolicy{InitialDelay: 0, DelayPeriod: 2 * time.Millisecond, MaxDelay: 10 * time.Second, MaxRetries: -1}

// Retries reports whether a tuple that failed `fails` times is retried.
func (p RetryPolicy) Retries(fails int) bool {
	return p.MaxRetries < 0 || fails <= p.MaxRetries
}

// Delay returns how long a tuple that failed `fails` times (from 1) waits
// before it is emitted again. Storm's schedule has no jitter, and neither
// has this one: the doubling is internal/backoff's.
func (p RetryPolicy) Delay(fails int) time.Duration {
	if fails <= 1 {
		return min(p.InitialDelay, p.MaxDelay)
	}
	b := backoff.New(backoff.Policy{Min: p.DelayPeriod, Max: p.MaxDelay, Jitter: -1})
	return b.Delay(fails)
}

// retryQueue holds the failed tuples waiting for their next emit, earliest
// first. It is pure: time comes in as arguments. Not safe for concurrent
// use.
type retryQueue struct{ h retryHeap }

type retryEntry struct {
	due time.Time
	m   *inflight
}

type retryHeap []retryEntry

func (h retryHeap) Len() int { return len(h) }
func (h retryHeap) Less(i, j int) bool {
	if !h[i].due.Equal(h[j].due) {
		return h[i].due.Before(h[j].due)
	}
	// Equal times: the lower offset first, so one partition's retries go
	// out in order.
	return h[i].m.offset < h[j].m.offset
}
func (h retryHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *retryHeap) Push(x any)   { *h = append(*h, x.(retryEntry)) }
func (h *retryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = retryEntry{}
	*h = old[:len(old)-1]
	return e
}

// schedule queues m to be emitted again at due.
func (q *retryQueue) schedule(m *inflight, due time.Time) {
	heap.Push(&q.h, retryEntry{due: due, m: m})
}

// next returns a tuple whose time has come, or nil.
func (q *retryQueue) next(now time.Time) *inflight {
	if len(q.h) == 0 || q.h[0].due.After(now) {
		return nil
	}
	return heap.Pop(&q.h).(retryEntry).m
}

// len returns the number of tuples waiting.
func (q *retryQueue) len() int { return len(q.h) }

// drop forgets the tuples of which keep says false.
func (q *retryQueue) drop(keep func(*inflight) bool) {
	kept := q.h[:0]
	for _, e := range q.h {
		if keep(e.m) {
			kept = append(kept, e)
		}
	}
	clear(q.h[len(kept):])
	q.h = kept
	heap.Init(&q.h)
}
