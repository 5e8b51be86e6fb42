package shell

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"

	"github.com/squallstream/squall/multilang"
	"github.com/squallstream/squall/topology"
)

// Bolt runs a bolt as a child process. It implements topology.Bolt: the
// worker calls Execute from the task's executor goroutine; the child's
// emits, acks and fails reach the collector from the child's reader
// goroutine.
type Bolt struct {
	spec *topology.ShellSpec
	opts Options

	ctx     *topology.TaskContext
	out     topology.BoltCollector
	set     settings
	outputs map[string]topology.Stream
	sup     *supervisor

	mu   sync.Mutex
	cond *sync.Cond // signalled when the backlog has room, or the bolt stops
	// cur, pending, backlog and stopped are guarded by mu.
	// cur is the child accepting tuples, nil while none is ready.
	cur *child
	// pending holds the tuples delivered to a child and not yet acked or
	// failed by it, by the id they were sent with: at most maxPending.
	pending map[string]held
	// backlog holds the tuples Execute took while the window was full or
	// no child was ready, oldest first: at most maxPending too. When an ack
	// frees a slot, the child's reader sends the next one itself, so the
	// window refills without waiting for the executor.
	backlog []topology.Tuple
	// waiting counts the Execute calls blocked on a full backlog.
	waiting int
	stopped bool
}

type held struct {
	tuple topology.Tuple
	by    *child
}

// NewBolt returns a bolt that runs spec's command for each task.
func NewBolt(spec *topology.ShellSpec, opts Options) *Bolt {
	return &Bolt{spec: spec, opts: opts}
}

// Prepare starts the child. Launch and handshake failures are not returned:
// they are reported to the collector and the child restarted with backoff,
// while Execute waits for a child to be ready.
func (b *Bolt) Prepare(ctx *topology.TaskContext, out topology.BoltCollector) error {
	set, err := readSettings(ctx)
	if err != nil {
		return fmt.Errorf("shell bolt %q: %w", ctx.ComponentID, err)
	}
	b.ctx, b.out, b.set = ctx, out, set
	b.cond = sync.NewCond(&b.mu)
	b.pending = map[string]held{}
	b.outputs = map[string]topology.Stream{}
	for _, s := range ctx.Component().Outputs {
		b.outputs[s.ID] = s
	}
	b.sup, err = newSupervisor(b.spec, b.opts, ctx, set, out.ReportError, hooks{
		handle:      b.handle,
		unencodable: b.unencodable,
		heartbeats:  true,
		flush:       flusher(out),
		waiting:     func(*child) bool { return true }, // a heartbeat is always due
		up:          b.up,
		down:        b.down,
	})
	if err != nil {
		return fmt.Errorf("shell bolt %q: %w", ctx.ComponentID, err)
	}
	go b.sup.run()
	return nil
}

// Execute sends t to the child, or queues it while the child holds
// topology.shellbolt.max.pending tuples or no child is ready. It blocks
// while that many tuples are queued too, which is how backpressure
// reaches upstream components.
func (b *Bolt) Execute(t topology.Tuple) {
	b.mu.Lock()
	for !b.stopped && len(b.backlog) >= b.set.maxPending {
		b.waiting++
		b.cond.Wait()
		b.waiting--
	}
	if b.stopped {
		b.mu.Unlock()
		return
	}
	if b.cur == nil || len(b.pending) >= b.set.maxPending || len(b.backlog) > 0 {
		b.backlog = append(b.backlog, t)
		b.mu.Unlock()
		return
	}
	c, id := b.cur, b.admit(t)
	inFlight := len(b.pending)
	b.mu.Unlock()
	c.send(outItem{kind: itemTuple, id: id, tuple: t}, false, inFlight, false)
}

// admit records t as held by the current child under a fresh id. mu is
// held.
func (b *Bolt) admit(t topology.Tuple) string {
	id := newTupleID()
	for _, taken := b.pending[id]; taken; _, taken = b.pending[id] {
		id = newTupleID()
	}
	b.pending[id] = held{tuple: t, by: b.cur}
	return id
}

// refill sends queued tuples to the current child while its window has
// room. mu is held; the items are put in the child's outbox by the caller,
// after unlocking.
func (b *Bolt) refill(items []outItem) (*child, []outItem, int) {
	if b.cur == nil {
		return nil, items, len(b.pending)
	}
	n := 0
	for n < len(b.backlog) && len(b.pending) < b.set.maxPending {
		t := b.backlog[n]
		items = append(items, outItem{kind: itemTuple, id: b.admit(t), tuple: t})
		n++
	}
	if n > 0 {
		clear(b.backlog[:n])
		b.backlog = b.backlog[n:]
		// Wake a blocked Execute once the backlog is half empty, not at
		// every slot: one wake-up refills it by half a window.
		if b.waiting > 0 && len(b.backlog) <= b.set.maxPending/2 {
			b.cond.Broadcast()
		}
	}
	return b.cur, items, len(b.pending)
}

// Cleanup stops the child and waits for it.
func (b *Bolt) Cleanup() {
	b.mu.Lock()
	b.stopped = true
	b.cond.Broadcast()
	b.mu.Unlock()
	if b.sup != nil {
		b.sup.shutdown()
	}
}

// Health reports on the task's child.
func (b *Bolt) Health() Health { return b.sup.Health() }

// newTupleID returns a fresh tuple id: a random signed 64-bit number in
// decimal, as Storm sends them.
func newTupleID() string { return strconv.FormatInt(int64(rand.Uint64()), 10) }

func (b *Bolt) up(c *child) {
	b.mu.Lock()
	b.cur = c
	_, items, _ := b.refill(nil)
	b.mu.Unlock()
	for _, item := range items {
		c.out.put(item, false)
	}
}

// down fails every tuple c held: it is gone, and the spouts should replay
// them now rather than after the message timeout.
func (b *Bolt) down(c *child, cerr *ChildError, _ bool) {
	b.mu.Lock()
	if b.cur == c {
		b.cur = nil
	}
	var lost []topology.Tuple
	for id, h := range b.pending {
		if h.by == c {
			lost = append(lost, h.tuple)
			delete(b.pending, id)
		}
	}
	b.cond.Broadcast()
	b.mu.Unlock()
	if cerr == nil {
		return // a clean stop: the topology is going away
	}
	for _, t := range lost {
		b.out.Fail(t)
	}
	b.sup.hooks.flush()
}

// release takes the tuple with the given id out of c's window and sends
// the next queued tuple in its place.
func (b *Bolt) release(c *child, id string) (topology.Tuple, bool) {
	b.mu.Lock()
	h, ok := b.pending[id]
	if !ok || h.by != c {
		b.mu.Unlock()
		return topology.Tuple{}, false
	}
	delete(b.pending, id)
	var items [1]outItem
	cur, next, inFlight := b.refill(items[:0])
	b.mu.Unlock()
	for _, item := range next {
		cur.send(item, false, inFlight, true)
	}
	return h.tuple, true
}

func (b *Bolt) current(c *child) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cur == c
}

// unencodable fails a tuple the child cannot be sent, with the reason.
func (b *Bolt) unencodable(c *child, item outItem, err error) {
	if item.kind != itemTuple {
		b.sup.log.Error("cannot encode message for child", "err", err)
		return
	}
	if t, ok := b.release(c, item.id); ok {
		b.out.ReportError(fmt.Errorf("shell bolt %q task %d: tuple from %s cannot be sent to the child: %w",
			b.ctx.ComponentID, b.ctx.TaskID, t.SourceComponent(), err))
		b.out.Fail(t)
		b.sup.hooks.flush()
	}
}

// handle processes one message of child c, on c's reader goroutine.
func (b *Bolt) handle(c *child, m *multilang.Message) error {
	switch m.Command {
	case multilang.CmdEmit:
		return b.emit(c, m)
	case multilang.CmdAck, multilang.CmdFail:
		id, ok := multilang.IDString(m.ID)
		if !ok {
			return protocolError("%s needs the id of a tuple the host sent, got %v", m.Command, m.ID)
		}
		t, ok := b.release(c, id)
		if !ok {
			if !b.current(c) {
				return nil // the child is being replaced and its tuples were failed
			}
			return protocolError("%s of unknown or already acked/failed tuple id %q", m.Command, id)
		}
		if m.Command == multilang.CmdAck {
			b.out.Ack(t)
		} else {
			b.out.Fail(t)
		}
	case multilang.CmdSync:
		c.hbPending.Store(false)
	case "":
		return protocolError("message without a command")
	default:
		if !b.sup.common(m) {
			b.sup.unknownCommand(m.Command)
		}
	}
	return nil
}

func (b *Bolt) emit(c *child, m *multilang.Message) error {
	stream, err := checkEmit(b.outputs, m)
	if err != nil {
		return err
	}
	var anchors []topology.Tuple
	if len(m.Anchors) > 0 {
		// Collectors use anchors only during the call, so the child's
		// reader reuses one slice.
		anchors = c.anchors[:0]
		defer func() { c.anchors = anchors[:0] }()
		b.mu.Lock()
		for _, id := range m.Anchors {
			h, ok := b.pending[id]
			if !ok || h.by != c {
				b.mu.Unlock()
				if !b.current(c) {
					return nil
				}
				return protocolError("emit anchored to unknown or already acked/failed tuple id %q", id)
			}
			anchors = append(anchors, h.tuple)
		}
		b.mu.Unlock()
	}
	c.busy.Store(true)
	ids, err := b.collect(m, stream, anchors)
	c.busy.Store(false)
	if err != nil {
		return err
	}
	if !m.Direct && m.NeedTaskIDs {
		b.mu.Lock()
		inFlight := len(b.pending)
		b.mu.Unlock()
		c.send(outItem{kind: itemTaskIDs, taskIDs: append([]int{}, ids...)}, true, inFlight, false)
	}
	return nil
}

// checkEmit checks an emit against the component's declared streams and
// returns its stream.
func checkEmit(outputs map[string]topology.Stream, m *multilang.Message) (string, error) {
	if m.Tuple == nil {
		return "", protocolError("emit without a tuple")
	}
	stream := m.Stream
	if stream == "" {
		stream = topology.DefaultStream
	}
	s, ok := outputs[stream]
	switch {
	case !ok:
		return "", protocolError("emit on undeclared stream %q", stream)
	case len(m.Tuple) != len(s.Fields):
		return "", protocolError("emit of %d values on stream %q, which declares %d fields %v", len(m.Tuple), stream, len(s.Fields), s.Fields)
	case m.Direct && !s.Direct:
		return "", protocolError("direct emit on stream %q, which is not direct", stream)
	case !m.Direct && s.Direct:
		return "", protocolError("emit without a task on direct stream %q", stream)
	}
	return stream, nil
}

// collect hands a child's emit to the collector.
func (b *Bolt) collect(m *multilang.Message, stream string, anchors []topology.Tuple) (ids []int, err error) {
	defer recoverEmit(&err)
	if m.Direct {
		b.out.EmitDirect(m.Task, stream, anchors, m.Tuple)
		return nil, nil
	}
	return b.out.Emit(stream, anchors, m.Tuple), nil
}

// recoverEmit, deferred, turns a collector's *topology.EmitError panic
// into a protocol error of the child.
func recoverEmit(err *error) {
	if r := recover(); r != nil {
		ee, ok := r.(*topology.EmitError)
		if !ok {
			panic(r)
		}
		*err = protocolError("%v", ee)
	}
}

// flusher returns the collector's Flush, for collectors that hold back
// what a child sends until the child's reader is about to wait (the
// worker's do), or a no-op.
func flusher(out any) func() {
	if f, ok := out.(interface{ Flush() }); ok {
		return f.Flush
	}
	return func() {}
}
