// Package coord is the bookkeeping of request coordination, Storm's
// CoordinatedBolt, as a pure core: events about one task's tuples go in,
// what to do comes out. It starts no goroutines and reads no clock; the
// worker feeds it and carries out its decisions.
//
// Every tuple of a coordinated bolt carries a request id as its first
// value. A task of the bolt learns that it has seen every tuple of a
// request when it has received the expected number of reports from the
// tasks before it, each saying how many tuples of the request it sent
// this task, has acked that many tuples, and (for the last bolt of a
// chain that finishes batches) has received the request's id. The
// request is then ready: the bolt finishes it (FinishBatch), the task
// reports its own counts to the tasks after it, and the tuples it held
// back (reports, the id, the tuple whose ack completed the request) are
// acked, or all failed if any tuple of the request failed.
package coord

import (
	"time"
)

// Spec describes one task's coordination.
type Spec struct {
	// Reports is how many reports a request waits for; 0 for the first
	// bolt of a chain, whose requests are complete when their tuple is
	// acked.
	Reports int
	// WaitID is set when a request also waits for its id tuple.
	WaitID bool
	// Timeout is how long a request's entry lives without finishing
	// (topology.message.timeout.secs, as Storm's TimeCacheMap).
	Timeout time.Duration
	// MaxRequests bounds the requests tracked at once; beyond it, new
	// requests' tuples are failed. 0 means 100,000.
	MaxRequests int
}

// Kind is the kind of a tuple a task receives.
type Kind int

const (
	Regular Kind = iota // a data tuple, counted when acked
	Report              // [request, count] on the coordination stream
	ID                  // [request] from the request's id stream
)

// Decision is what the caller must do after an event, in this order:
// ack and fail the tuples listed, then, if Ready is set, finish the
// request and later call Finished or Abort.
type Decision[T any] struct {
	Ack, Fail []T
	// Ready is the request that became complete, nil if none.
	Ready any
}

// Finish is what to do once a request is finished: emit Counts (target
// task → tuples sent it) on the coordination stream anchored to Held,
// then ack Held.
type Finish[T any] struct {
	Counts map[int]int64
	Held   []T
}

type entry[T any] struct {
	reports  int
	expected int64
	received int64
	gotID    bool
	failed   bool
	// finishing: Ready was returned; waiting for Finished or Abort.
	finishing bool
	held      []T
	sent      map[int]int64
	expires   time.Time
}

// Tracker tracks the requests of one task. It is not safe for concurrent
// use.
type Tracker[T any] struct {
	spec    Spec
	entries map[any]*entry[T]
	// nextSweep is when expired entries are looked for next.
	nextSweep time.Time
}

// New returns a tracker.
func New[T any](spec Spec) *Tracker[T] {
	if spec.MaxRequests <= 0 {
		spec.MaxRequests = 100_000
	}
	if spec.Timeout <= 0 {
		spec.Timeout = 30 * time.Second
	}
	return &Tracker[T]{spec: spec, entries: map[any]*entry[T]{}}
}

// Len returns the number of requests tracked.
func (t *Tracker[T]) Len() int { return len(t.entries) }

func (t *Tracker[T]) get(id any, now time.Time) *entry[T] {
	e := t.entries[id]
	if e == nil {
		if len(t.entries) >= t.spec.MaxRequests {
			return nil
		}
		e = &entry[T]{gotID: !t.spec.WaitID, expires: now.Add(t.spec.Timeout)}
		t.entries[id] = e
	}
	return e
}

// Received records a report or id tuple (a regular tuple is recorded
// when it is acked or failed). Reports and ids are held until the request
// finishes, and failed if it fails.
func (t *Tracker[T]) Received(id any, kind Kind, count int64, tup T, now time.Time) Decision[T] {
	e := t.get(id, now)
	if e == nil || e.failed {
		return Decision[T]{Fail: []T{tup}}
	}
	switch kind {
	case Report:
		e.reports++
		e.expected += count
	case ID:
		e.gotID = true
	}
	e.held = append(e.held, tup)
	return t.check(id, e)
}

// Acked records that the task acked a regular tuple of the request. The
// tuple's ack is held back if it completes the request.
func (t *Tracker[T]) Acked(id any, tup T, now time.Time) Decision[T] {
	e := t.get(id, now)
	if e == nil {
		return Decision[T]{Ack: []T{tup}}
	}
	if e.failed {
		return Decision[T]{Fail: []T{tup}}
	}
	e.received++
	d := t.check(id, e)
	if d.Ready != nil {
		e.held = append(e.held, tup)
	} else {
		d.Ack = append(d.Ack, tup)
	}
	return d
}

// Failed records that the task failed a regular tuple of the request: the
// request fails, and so does everything it held. The entry stays, failed,
// until it expires, so that the request's later tuples fail at once.
func (t *Tracker[T]) Failed(id any, tup T, now time.Time) Decision[T] {
	e := t.get(id, now)
	d := Decision[T]{Fail: []T{tup}}
	if e == nil || e.failed {
		return d
	}
	if e.finishing {
		// Too late to fail what the finish holds; the finish decides.
		return d
	}
	d.Fail = append(d.Fail, e.held...)
	e.held, e.failed = nil, true
	return d
}

// Emitted records that the task sent a tuple of the request to tasks.
func (t *Tracker[T]) Emitted(id any, tasks []int, now time.Time) {
	e := t.get(id, now)
	if e == nil || len(tasks) == 0 {
		return
	}
	if e.sent == nil {
		e.sent = map[int]int64{}
	}
	for _, task := range tasks {
		e.sent[task]++
	}
}

func (t *Tracker[T]) check(id any, e *entry[T]) Decision[T] {
	if e.finishing || !e.gotID {
		return Decision[T]{}
	}
	switch {
	case t.spec.Reports > 0 && (e.reports < t.spec.Reports || e.received < e.expected):
		return Decision[T]{}
	case t.spec.Reports == 0 && !t.spec.WaitID && e.received == 0:
		// The first bolt: complete when its one tuple is acked.
		return Decision[T]{}
	}
	e.finishing = true
	return Decision[T]{Ready: id}
}

// Held returns the tuples a request holds, to anchor what finishing it
// emits to. The caller must not keep the slice.
func (t *Tracker[T]) Held(id any) []T {
	if e := t.entries[id]; e != nil {
		return e.held
	}
	return nil
}

// Finished ends a request that was Ready: it returns the counts to send
// and the tuples to ack, and forgets the request.
func (t *Tracker[T]) Finished(id any) Finish[T] {
	e := t.entries[id]
	if e == nil || !e.finishing {
		return Finish[T]{}
	}
	delete(t.entries, id)
	return Finish[T]{Counts: e.sent, Held: e.held}
}

// Abort fails a request that was Ready but could not be finished (its
// finish tuple failed): it returns the tuples to fail.
func (t *Tracker[T]) Abort(id any) []T {
	e := t.entries[id]
	if e == nil || !e.finishing {
		return nil
	}
	held := e.held
	e.held, e.failed, e.finishing = nil, true, false
	return held
}

// Expire forgets requests older than the timeout that are not finishing,
// returning the tuples they held, to fail (Storm's TimeCacheMap expiry).
// It looks at most once per tenth of the timeout.
func (t *Tracker[T]) Expire(now time.Time) []T {
	if now.Before(t.nextSweep) {
		return nil
	}
	t.nextSweep = now.Add(t.spec.Timeout / 10)
	var fail []T
	for id, e := range t.entries {
		if e.finishing || now.Before(e.expires) {
			continue
		}
		fail = append(fail, e.held...)
		delete(t.entries, id)
	}
	return fail
}
