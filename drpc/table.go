package drpc

import (
	"container/list"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync"

	"github.com/squallstream/squall/api/drpcpb"
)

// requestOverhead is what a queued request counts against
// drpc.max_buffer_size besides its function name and arguments, so that a
// flood of empty requests is bounded too.
const requestOverhead = 64

// table holds a server's requests: queued under their function until a
// topology fetches them, and outstanding by id until they are settled
// (result, failure, timeout, the client leaving, shutdown). Its methods
// are safe for concurrent use.
type table struct {
	maxBytes, maxOutstanding int
	// prefix starts every id, so that ids are unique across runs of the
	// server: a result from a topology that fetched a request from an
	// earlier run never settles a request of this one.
	prefix string

	mu sync.Mutex
	// The following fields are guarded by mu.
	byID        map[string]*request
	fns         map[string]*fnQueue
	queuedBytes int
	seq         uint64
	closed      bool
	stats       Stats
}

// fnQueue is one function's queue and its fetchers.
type fnQueue struct {
	// queue holds the function's requests not yet fetched, oldest first.
	queue list.List
	// fetchers counts the fetchers subscribed to the function; the
	// fnQueue is dropped when it has none and its queue is empty.
	fetchers int
	// ready, when not nil, is closed when a request is queued: fetchers
	// that found the queue empty wait on it.
	ready chan struct{}
}

type request struct {
	id, function string
	// args is cleared once fetched: the topology has it.
	args string
	size int
	// elem is the request's place in its queue; nil once fetched.
	elem *list.Element
	// fetcher is the topology whose worker token fetched the request, ""
	// when not fetched or fetched with other credentials.
	fetcher string
	// done receives the request's outcome, exactly once.
	done chan outcome
}

type outcome struct {
	result string
	err    error
}

// fetched is a request as handed to a fetcher.
type fetched struct{ id, args string }

// Stats are a server's counters and gauges, after Storm's DRPC meters.
type Stats struct {
	// Queued and QueuedBytes are the requests waiting to be fetched and
	// what they count against drpc.max_buffer_size.
	Queued, QueuedBytes int
	// Outstanding are the requests waiting for a result, queued or not.
	Outstanding int
	// Executed, Fetched, Returned, Failed, TimedOut and Refused count
	// requests: accepted, handed to a topology, given a result, failed by
	// a topology, timed out, refused as busy.
	Executed, Fetched, Returned, Failed, TimedOut, Refused int64
}

func newTable(maxBytes, maxOutstanding int) *table {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return &table{
		maxBytes:       maxBytes,
		maxOutstanding: maxOutstanding,
		prefix:         hex.EncodeToString(b[:]) + "-",
		byID:           make(map[string]*request),
		fns:            make(map[string]*fnQueue),
	}
}

// add queues a request.
func (t *table) add(function, args string) (*request, error) {
	size := len(function) + len(args) + requestOverhead
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.closed:
		return nil, executionError(drpcpb.ErrorType_SERVER_SHUTDOWN, msgShutdown)
	case size > t.maxBytes:
		return nil, fmt.Errorf("%w: arguments of %d bytes exceed %s (%d bytes)", ErrTooLarge, len(args), KeyMaxBufferSize, t.maxBytes)
	case t.queuedBytes+size > t.maxBytes:
		t.stats.Refused++
		return nil, fmt.Errorf("%w: %s (%d bytes) of queued requests is full; retry later", ErrBusy, KeyMaxBufferSize, t.maxBytes)
	case len(t.byID) >= t.maxOutstanding:
		t.stats.Refused++
		return nil, fmt.Errorf("%w: %s (%d) requests are waiting for results; retry later", ErrBusy, KeyMaxOutstanding, t.maxOutstanding)
	}
	t.seq++
	r := &request{
		id:       t.prefix + strconv.FormatUint(t.seq, 10),
		function: function,
		args:     args,
		size:     size,
		done:     make(chan outcome, 1),
	}
	q := t.fn(function)
	r.elem = q.queue.PushBack(r)
	t.queuedBytes += size
	t.byID[r.id] = r
	t.stats.Executed++
	q.wake()
	return r, nil
}

// fn returns a function's queue, making it if need be. t.mu is held.
func (t *table) fn(function string) *fnQueue {
	q := t.fns[function]
	if q == nil {
		q = &fnQueue{}
		t.fns[function] = q
	}
	return q
}

// wake wakes the fetchers waiting for a request.
func (q *fnQueue) wake() {
	if q.ready != nil {
		close(q.ready)
		q.ready = nil
	}
}

// dropIfIdle forgets a function nobody fetches and nobody called. t.mu is
// held.
func (t *table) dropIfIdle(function string, q *fnQueue) {
	if q.fetchers == 0 && q.queue.Len() == 0 {
		q.wake()
		delete(t.fns, function)
	}
}

// subscribe registers a fetcher of function; unsubscribe ends it.
func (t *table) subscribe(function string) {
	t.mu.Lock()
	t.fn(function).fetchers++
	t.mu.Unlock()
}

func (t *table) unsubscribe(function string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if q := t.fns[function]; q != nil {
		q.fetchers--
		t.dropIfIdle(function, q)
	}
}

// take hands out up to max queued requests of a subscribed function,
// oldest first, to fetcher (Config.Topology's). When there are none it
// returns a channel that is closed when one may have come (or the table
// closes); closed reports that the table is closed.
func (t *table) take(function, fetcher string, max int, buf []fetched) (reqs []fetched, ready <-chan struct{}, closed bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return buf, nil, true
	}
	q := t.fn(function)
	for q.queue.Len() > 0 && len(buf) < max {
		r := q.queue.Remove(q.queue.Front()).(*request)
		r.elem, r.fetcher = nil, fetcher
		t.queuedBytes -= r.size
		buf = append(buf, fetched{id: r.id, args: r.args})
		r.args = ""
		t.stats.Fetched++
	}
	if len(buf) > 0 {
		return buf, nil, false
	}
	if q.ready == nil {
		q.ready = make(chan struct{})
	}
	return buf, q.ready, false
}

// requeue puts back, at the front of their queue and in order, fetched
// requests that never reached their fetcher. Requests settled meanwhile
// stay settled.
func (t *table) requeue(function string, reqs []fetched) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	q := t.fn(function)
	for i := len(reqs) - 1; i >= 0; i-- {
		r := t.byID[reqs[i].id]
		if r == nil || r.elem != nil {
			continue
		}
		r.args = reqs[i].args
		r.elem = q.queue.PushFront(r)
		t.queuedBytes += r.size
		t.stats.Fetched--
	}
	q.wake()
	t.dropIfIdle(function, q)
}

// fetchedBy returns the function of an outstanding request and the
// topology that fetched it (see take).
func (t *table) fetchedBy(id string) (function, fetcher string, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.byID[id]
	if !ok {
		return "", "", false
	}
	return r.function, r.fetcher, true
}

// settle gives an outstanding request its outcome and forgets it. It
// reports false for a request it does not know.
func (t *table) settle(id string, o outcome) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.byID[id]
	if !ok {
		return false
	}
	t.remove(r)
	if o.err == nil {
		t.stats.Returned++
	} else {
		t.stats.Failed++
	}
	r.done <- o
	return true
}

// abandon forgets a request its client stopped waiting for, and reports
// whether it was still outstanding; if not, its outcome is in r.done.
func (t *table) abandon(r *request, timedOut bool) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byID[r.id] != r {
		return false
	}
	t.remove(r)
	if timedOut {
		t.stats.TimedOut++
	}
	return true
}

// remove takes r out of the table. t.mu is held.
func (t *table) remove(r *request) {
	delete(t.byID, r.id)
	if r.elem != nil {
		q := t.fns[r.function]
		q.queue.Remove(r.elem)
		r.elem = nil
		t.queuedBytes -= r.size
		t.dropIfIdle(r.function, q)
	}
}

// close fails every outstanding request with SERVER_SHUTDOWN, wakes every
// fetcher and refuses new requests.
func (t *table) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	t.closed = true
	for _, r := range t.byID {
		r.done <- outcome{err: executionError(drpcpb.ErrorType_SERVER_SHUTDOWN, msgShutdown)}
	}
	clear(t.byID)
	for _, q := range t.fns {
		q.wake()
	}
	clear(t.fns)
	t.queuedBytes = 0
}

// snapshot returns the table's stats.
func (t *table) snapshot() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.stats
	s.Outstanding = len(t.byID)
	s.QueuedBytes = t.queuedBytes
	for _, q := range t.fns {
		s.Queued += q.queue.Len()
	}
	return s
}
