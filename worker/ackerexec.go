package worker

import (
	"time"

	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/worker/acker"
)

// ackerExecutor runs __acker tasks: it follows tuple trees and tells spout
// tasks when theirs complete or fail.
type ackerExecutor struct {
	w       *Worker
	exec    topology.Executor
	tracker *acker.Tracker
	inbox   *queue
	timeout time.Duration
	// out holds the messages for spout queues until the batch is done.
	out []outBatch
	// touched sums what touch read, so that the reads are kept.
	touched uint64
	stop    chan struct{}
	done    chan struct{}
}

func (w *Worker) newAckerExecutor(ex topology.Executor) *ackerExecutor {
	x := &ackerExecutor{
		w: w, exec: ex,
		tracker: acker.New(),
		inbox:   newQueue(w.conf.Int(topology.KeyExecutorReceiveBufferSize, 32768)),
		timeout: w.conf.Seconds(topology.KeyMessageTimeoutSecs, 30*time.Second),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	for _, id := range ex.Tasks() {
		w.addLocal(id, x.inbox)
	}
	return x
}

func (x *ackerExecutor) run() {
	defer close(x.done)
	var buf []message
	p := parker{bufs: []*[]message{&buf}}
	// Trees nobody finished are forgotten after two timeouts; their
	// spouts have failed them by then.
	expire := time.NewTicker(x.timeout)
	defer expire.Stop()
	for {
		select {
		case <-expire.C:
			x.tracker.Expire(monoNow(), 2*x.timeout)
		default:
		}
		batch := x.inbox.take(buf)
		if batch == nil {
			// An idle acker's trees can wait for their expiry until
			// messages come: nothing adds to them meanwhile.
			if !p.await(&x.w.boltWait, x.stop, x.inbox) {
				return
			}
			continue
		}
		now := monoNow()
		touch := x.tracker.Len() >= touchFrom
		for i := range batch {
			if touch && i%touchAhead == 0 {
				x.touch(batch[i:min(i+touchAhead, len(batch))])
			}
			x.handle(&batch[i], now)
		}
		x.flush()
		buf = batch
	}
}

// With touchFrom trees or more in flight, the acker fetches the trees of
// touchAhead messages at once. Fewer fit in the cache, where fetching
// ahead costs more than it saves.
const (
	touchFrom  = 8192
	touchAhead = 16
)

// touch has the processor fetch the trees of ms together: with tens of
// thousands of trees in flight each lookup would miss the cache, one
// after another.
func (x *ackerExecutor) touch(ms []message) {
	var sum uint64
	for i := range ms {
		sum += x.tracker.Touch(ms[i].root)
	}
	x.touched += sum
}

// flush sends the spouts what the batch decided, one push per spout queue.
func (x *ackerExecutor) flush() {
	for i := range x.out {
		b := &x.out[i]
		if len(b.msgs) > 0 {
			b.q.pushBatchNow(b.msgs)
			clear(b.msgs)
			b.msgs = b.msgs[:0]
		}
	}
}

func (x *ackerExecutor) handle(m *message, now int64) {
	var r acker.Result
	switch m.kind {
	case kindInit:
		r = x.tracker.Init(m.root, m.val, int(m.from), now)
	case kindAck:
		r = x.tracker.Ack(m.root, m.val, now)
	case kindFail:
		r = x.tracker.Fail(m.root, now)
	case kindReset:
		r = x.tracker.Reset(m.root, now)
	}
	var k kind
	switch r.Outcome {
	case acker.Completed:
		k = kindComplete
	case acker.Failed:
		k = kindFailed
	case acker.Reset:
		k = kindResetTimeout
	default:
		return
	}
	q := x.w.route(r.SpoutTask, k)
	note := message{kind: k, task: int32(r.SpoutTask), root: r.Root}
	for i := range x.out {
		if x.out[i].q == q {
			x.out[i].msgs = append(x.out[i].msgs, note)
			return
		}
	}
	x.out = append(x.out, outBatch{q: q, msgs: []message{note}})
}

// anchorOf returns the acker's record of a tuple and its edges, nil if the
// tuple is untracked.
func anchorOf(t topology.Tuple) (*acker.Anchor, []acker.Edge) { return acker.Of(t.Tracking()) }
