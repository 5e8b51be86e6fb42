package worker

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/squallstream/squall/topology"
)

// kind says what a message is.
type kind uint8

const (
	// kindTuple: a tuple for a bolt task.
	kindTuple kind = iota + 1
	// kindInit, kindAck, kindFail, kindReset: for an acker task about the
	// tuple tree of root. Init carries the spout task in from.
	kindInit
	kindAck
	kindFail
	kindReset
	// kindComplete, kindFailed, kindResetTimeout: for a spout task about
	// its tuple root.
	kindComplete
	kindFailed
	kindResetTimeout
	// kindRelief never leaves the worker: a peer's reader tells the peer's
	// writer that the other worker has room for task again.
	kindRelief
)

// control reports whether a message of kind k is control traffic (for an
// acker or a spout), which travels apart from tuples between workers.
func (k kind) control() bool { return k != kindTuple }

// forSpout reports whether a message of kind k is a note for a spout
// task, which is never held back: spouts always take their notes.
func (k kind) forSpout() bool { return k >= kindComplete }

// message is what queues carry: a tuple for a bolt, or a note about a
// tuple tree for an acker or a spout.
type message struct {
	kind kind
	// task is the target task.
	task int32
	// from is the spout task of an init.
	from  int32
	tuple topology.Tuple
	// root is a tuple tree's id; val an XOR of edge ids.
	root, val uint64
}

// queue is a bounded multi-producer, single-consumer queue of messages.
// Producers append under a mutex; the consumer takes everything queued at
// once, so it works in batches without producers having to batch. Its
// methods are safe for concurrent use.
//
// A queue holds memory for what it holds, not for its limit: its buffers
// grow as messages come, and are let go when they are much bigger than
// what the queue held lately, or when the consumer has been idle for a
// while (see parker). A producer
// that finds more than a batch waiting lets the other goroutines run
// before it adds more (see push), so that a long chain of executors
// sharing a few cores keeps a batch or two in each queue, not its limit.
type queue struct {
	// limit is the capacity; producers block beyond it.
	limit int
	// soft is how many messages may wait before a producer yields.
	soft int64
	// gate, if set, holds producers back from tasks another worker said
	// are congested (the queue is a lane to that worker).
	gate *gate

	mu sync.Mutex
	// The following fields are guarded by mu.
	items            []message
	closed           bool
	consumerWaiting  bool
	producersWaiting int
	space            *sync.Cond
	// taken, when a producer that does not block (a spout, a backlog)
	// waits for the consumer's next take, is closed by that take.
	taken chan struct{}
	// peak and prevPeak are the biggest batches taken in this epoch and
	// the last; an epoch ends after epochLeft more messages.
	peak, prevPeak, epochLeft int

	// size mirrors len(items) so an idle consumer can poll without the
	// lock, which it would otherwise take from producers.
	size atomic.Int64

	// ready holds a token when a waiting consumer should look again.
	ready chan struct{}
	// heldBack counts the messages held back because the queue is full:
	// those of producers waiting for room, and those spouts keep
	// (receive-queue-overflow).
	heldBack atomic.Int64
}

func newQueue(limit int) *queue {
	return newQueueReady(limit, make(chan struct{}, 1))
}

// newQueueReady returns a queue whose consumer is woken through ready,
// which several queues of one consumer may share.
func newQueueReady(limit int, ready chan struct{}) *queue {
	limit = max(limit, 1)
	q := &queue{limit: limit, soft: int64(max(limit/32, min(limit, softBatch))), ready: ready}
	q.space = sync.NewCond(&q.mu)
	return q
}

// softBatch is how many messages a queue holds, at least, before a
// producer lets other goroutines run (a 32nd of the limit if that is
// more): enough for its consumer to work in batches.
const softBatch = 512

// A queue or its consumer keeps a buffer of up to keepBuffer messages
// whatever happens; a bigger one goes when it is more than four times the
// biggest batch of this epoch and the last (an epoch is epochLimits times
// the queue's limit in messages), and one of more than keepIdleBytes once
// its consumer has been idle for idleRelease. (Letting buffers go at
// every small batch, or at every idle moment, would have a consumer that
// keeps up regrow them all the time.)
const (
	keepBuffer    = 256
	epochLimits   = 16
	keepIdleBytes = 256 << 10
	keepIdle      = keepIdleBytes / int(unsafe.Sizeof(message{}))
	idleRelease   = 5 * time.Second
)

// push appends m, waiting as bp says while the queue is full, and while
// m's task is held back. It returns false if the queue is closed.
func (q *queue) push(m *message, bp *waitStrategy) bool {
	if q.gate != nil && !q.gate.wait(m.task) {
		return false
	}
	q.yieldIfBacklogged()
	q.mu.Lock()
	q.waitSpaceLocked(bp, 1)
	return q.appendLocked(m)
}

// yieldIfBacklogged lets the other goroutines run when more than a batch
// waits in the queue: its consumer, and whatever is between. On a machine
// with a core to spare it costs a yield; on a busy one it keeps a long
// chain of executors from filling every queue to its limit (and holding
// that memory) before the consumers run.
func (q *queue) yieldIfBacklogged() {
	if q.size.Load() >= q.soft {
		runtime.Gosched()
	}
}

// waitSpaceLocked waits, as bp says, until the queue has room or is
// closed, holding back held messages meanwhile; the time waited goes to
// bp's backpressure time. mu is held.
func (q *queue) waitSpaceLocked(bp *waitStrategy, held int) {
	if len(q.items) < q.limit || q.closed {
		return
	}
	start := monoNow()
	q.heldBack.Add(int64(held))
	defer func() {
		q.heldBack.Add(-int64(held))
		bp.waited(monoNow() - start)
	}()
	for n := 0; len(q.items) >= q.limit && !q.closed; n++ {
		if !bp.park(n) {
			q.mu.Unlock()
			bp.pause(n)
			q.mu.Lock()
			continue
		}
		q.producersWaiting++
		q.space.Wait()
		q.producersWaiting--
	}
}

// pushBatch appends ms, as much as fits at a time, waiting as bp says
// while the queue is full, and while the next message's task is held
// back. It returns false if the queue is closed.
func (q *queue) pushBatch(ms []message, bp *waitStrategy) bool {
	q.yieldIfBacklogged()
	for len(ms) > 0 {
		n := len(ms)
		if q.gate != nil {
			if n = q.gate.openPrefix(ms); n == 0 {
				if !q.gate.wait(ms[0].task) {
					return false
				}
				continue
			}
		}
		q.mu.Lock()
		q.waitSpaceLocked(bp, n)
		if !q.closed {
			n = min(n, q.limit-len(q.items))
		}
		if !q.appendBatchLocked(ms[:n]) {
			return false
		}
		ms = ms[n:]
	}
	return true
}

// tryPushBatch appends what of ms fits now, in order, without blocking:
// it stops at the limit or at a message whose task is held back. It
// returns how many messages it took; all of them if the queue is closed
// (they are dropped, as push drops them).
func (q *queue) tryPushBatch(ms []message) int {
	n := len(ms)
	if q.gate != nil {
		if n = q.gate.openPrefix(ms); n == 0 {
			return 0
		}
	}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return len(ms)
	}
	n = min(n, q.limit-len(q.items))
	if n <= 0 {
		q.mu.Unlock()
		return 0
	}
	q.appendBatchLocked(ms[:n])
	return n
}

// waitRoom returns a channel that is closed when a producer that found the
// queue full should try again: at once if there is room now, else at the
// consumer's next take. (Tasks held back by a gate wait on the gate.)
func (q *queue) waitRoom() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) < q.limit || q.closed {
		return closedChan
	}
	return q.waitTakenLocked()
}

// waitTaken returns a channel that is closed at the consumer's next take,
// or when the queue closes.
func (q *queue) waitTaken() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return closedChan
	}
	return q.waitTakenLocked()
}

func (q *queue) waitTakenLocked() <-chan struct{} {
	if q.taken == nil {
		q.taken = make(chan struct{})
	}
	return q.taken
}

func (q *queue) pushBatchNow(ms []message) bool {
	q.mu.Lock()
	return q.appendBatchLocked(ms)
}

func (q *queue) appendBatchLocked(ms []message) bool {
	if q.closed {
		q.mu.Unlock()
		return false
	}
	q.items = append(q.items, ms...)
	q.size.Store(int64(len(q.items)))
	wake := q.consumerWaiting
	q.consumerWaiting = false
	q.mu.Unlock()
	if wake {
		select {
		case q.ready <- struct{}{}:
		default:
		}
	}
	return true
}

// pushNow appends m even beyond the limit. It is for messages that must
// never block their producer: acks and fails to spouts, tick tuples.
func (q *queue) pushNow(m *message) bool {
	q.mu.Lock()
	return q.appendLocked(m)
}

func (q *queue) appendLocked(m *message) bool {
	if q.closed {
		q.mu.Unlock()
		return false
	}
	q.items = append(q.items, *m)
	q.size.Store(int64(len(q.items)))
	wake := q.consumerWaiting
	q.consumerWaiting = false
	q.mu.Unlock()
	if wake {
		select {
		case q.ready <- struct{}{}:
		default:
		}
	}
	return true
}

// take returns every queued message, giving buf (emptied) back to the
// queue to fill next. When the queue is empty it returns nil at once;
// wait then blocks until there is something.
func (q *queue) take(buf []message) []message {
	q.mu.Lock()
	if len(q.items) == 0 {
		q.mu.Unlock()
		return nil
	}
	out := q.items
	// buf, the consumer's previous batch, is what producers fill next,
	// unless it is much bigger than the batches of late: then it goes,
	// and append grows a new one as needed.
	q.peak = max(q.peak, len(out))
	if q.epochLeft -= len(out); q.epochLeft <= 0 {
		q.prevPeak, q.peak, q.epochLeft = q.peak, 0, epochLimits*q.limit
	}
	if cap(buf) > keepBuffer && cap(buf) > 4*max(q.peak, q.prevPeak) {
		buf = nil
	}
	clear(buf)
	q.items = buf[:0]
	q.size.Store(0)
	if q.producersWaiting > 0 {
		q.space.Broadcast()
	}
	if q.taken != nil {
		close(q.taken)
		q.taken = nil
	}
	q.mu.Unlock()
	return out
}

// waitReady returns a channel that receives when messages may have been
// queued since the consumer found the queue empty. The consumer calls it
// after take returned nil, then selects on it (and on anything else it
// waits for), then calls take again.
func (q *queue) waitReady() <-chan struct{} {
	ready, _ := waitReadyAny(q)
	return ready
}

// waitReadyAny is waitReady for a consumer of several queues that share
// one ready channel: it returns when any of them may have messages, and
// whether any holds a buffer of more than keepIdle messages.
func waitReadyAny(qs ...*queue) (_ <-chan struct{}, big bool) {
	for _, q := range qs {
		q.mu.Lock()
		if len(q.items) > 0 || q.closed {
			q.mu.Unlock()
			return closedChan, false
		}
		q.consumerWaiting = true
		big = big || cap(q.items) > keepIdle
		q.mu.Unlock()
	}
	return qs[0].ready, big
}

// parker waits for a consumer's queues. A consumer that parks holding
// big buffers (its queues' or its own) lets them go once it has been idle
// for idleRelease. Only the consumer uses it.
type parker struct {
	// bufs are the consumer's own buffers, which it keeps between batches.
	bufs  []*[]message
	timer *time.Timer
}

// await waits, as s says, until one of qs may hold messages; it returns
// false if stop closed first. qs share one ready channel.
func (p *parker) await(s *waitStrategy, stop <-chan struct{}, qs ...*queue) bool {
	for n := 0; ; n++ {
		for _, q := range qs {
			if q.size.Load() > 0 {
				return true
			}
		}
		if s.park(n) {
			return p.park(stop, qs)
		}
		s.pause(n)
		select {
		case <-stop:
			return false
		default:
		}
	}
}

func (p *parker) park(stop <-chan struct{}, qs []*queue) bool {
	ready, big := waitReadyAny(qs...)
	for _, b := range p.bufs {
		big = big || cap(*b) > keepIdle
	}
	if !big {
		select {
		case <-stop:
			return false
		case <-ready:
			return true
		}
	}
	if p.timer == nil {
		p.timer = time.NewTimer(idleRelease)
	} else {
		p.timer.Reset(idleRelease)
	}
	defer p.timer.Stop()
	select {
	case <-stop:
		return false
	case <-ready:
		return true
	case <-p.timer.C:
	}
	for _, b := range p.bufs {
		*b = nil
	}
	for _, q := range qs {
		q.releaseIdle()
	}
	select {
	case <-stop:
		return false
	case <-ready:
		return true
	}
}

// releaseIdle lets an empty queue's buffer go.
func (q *queue) releaseIdle() {
	q.mu.Lock()
	if len(q.items) == 0 {
		q.items, q.peak, q.prevPeak = nil, 0, 0
	}
	q.mu.Unlock()
}

// closedChan is always ready.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// len returns the number of queued messages.
func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// close makes every current and later push return false and wakes the
// consumer. Messages already queued can still be taken.
func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.space.Broadcast()
	if q.taken != nil {
		close(q.taken)
		q.taken = nil
	}
	q.mu.Unlock()
	if q.gate != nil {
		q.gate.shut()
	}
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

func (q *queue) isClosed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed
}
