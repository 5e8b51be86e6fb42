package shell

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/squallstream/squall/multilang"
	"github.com/squallstream/squall/topology"
)

// Bolt runs a bolt as a child process. It implements topology.Bolt: the
// worker calls Execute from the task's executor goroutine; the child's
// emits, acks and fails reach the collector from the child's reader
// goroutine.
//
// As in Storm, topology.shellbolt.max.pending bounds the tuples waiting to
// be written to the child, and tuples the child holds unacked do not stop
// its input. They are bounded too (KeyShellBoltMaxHeld): past the bound,
// those of untracked or timed-out trees are released, and the input waits
// while none can be.
type Bolt struct {
	spec *topology.ShellSpec
	opts Options

	ctx     *topology.TaskContext
	out     topology.BoltCollector
	set     settings
	outputs map[string]topology.Stream
	sup     *supervisor
	// prepared is sup once Prepare made it, for Health and Backlog, which
	// other goroutines call from the moment the task exists (the
	// executor's own goroutine reads sup, without the atomic load).
	prepared atomic.Pointer[supervisor]

	mu   sync.Mutex
	cond *sync.Cond // signalled when tuples were written or moved on, or the bolt stops
	// cur, held, backlog, stopped and lastWarn are guarded by mu.
	// cur is the child accepting tuples, nil while none is ready.
	cur *child
	// held holds the tuples given to a child and not yet acked or
	// failed by it.
	held *heldSet
	// backlog holds the tuples Execute took while no child was ready or
	// the child held all it may, oldest first. When room appears, the
	// goroutine that made it sends them on.
	backlog []topology.Tuple
	stopped bool
	// lastWarn is when releasing held tuples was last logged, and
	// warnedReleased how many had been released then.
	lastWarn       time.Time
	warnedReleased int64
	// waiting counts the Execute calls blocked on a full queue.
	waiting atomic.Int32
	// state answers the child's state commands; nil unless the
	// component is stateful (state.go).
	state *stateHost
}

// releaseWarnEvery bounds how often releasing held tuples is logged.
const releaseWarnEvery = 10 * time.Second

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
	if comp := ctx.Component(); comp != nil && comp.Stateful {
		b.state = newStateHost()
	}
	b.held = newHeldSet(set.maxHeld, set.messageTimeout)
	b.outputs = map[string]topology.Stream{}
	for _, s := range ctx.Component().Outputs {
		b.outputs[s.ID] = s
	}
	b.sup, err = newSupervisor(b.spec, b.opts, ctx, set, out.ReportError, metricsRecorder(out, ctx), hooks{
		handle:      b.handle,
		unencodable: b.unencodable,
		heartbeats:  true,
		flush:       flusher(out),
		written:     b.written,
		tick:        b.tick,
		waiting:     func(*child) bool { return true }, // a heartbeat is always due
		up:          b.up,
		down:        b.down,
	})
	if err != nil {
		return fmt.Errorf("shell bolt %q: %w", ctx.ComponentID, err)
	}
	b.prepared.Store(b.sup)
	go b.sup.run()
	return nil
}

// Execute sends t to the child, or queues it while no child is ready or
// the child holds all it may. It blocks while
// topology.shellbolt.max.pending tuples wait to be written, which is how
// backpressure reaches upstream components.
func (b *Bolt) Execute(t topology.Tuple) {
	b.mu.Lock()
	for !b.stopped {
		// waiting goes up before the queue is looked at, and writers
		// look at waiting after the queue went down (written): one of
		// the two sees the other.
		b.waiting.Add(1)
		if !b.backedUp() {
			b.waiting.Add(-1)
			break
		}
		b.cond.Wait()
		b.waiting.Add(-1)
	}
	if b.stopped {
		b.mu.Unlock()
		return
	}
	now := time.Now()
	if b.cur == nil || len(b.backlog) > 0 || !b.makeRoom(now) {
		b.backlog = append(b.backlog, t)
		b.mu.Unlock()
		return
	}
	// A child that has read all its input may be waiting for this tuple:
	// write it at once, which spares it the wait for the writer goroutine
	// to wake (a child that waits for its task ids after every emit reads
	// ahead, so it is in this state most of the time). A child with input
	// still to read gets more from the writer goroutine, in batches that
	// cost one system call each. Tuples are queued under mu, so that they
	// reach the child in the order they were admitted.
	starving := b.held.len() == 0 || b.cur.readAll()
	c, id := b.cur, b.admit(t, now)
	item := outItem{kind: itemTuple, id: id, tuple: t}
	if !starving {
		c.queue(item, false)
		b.mu.Unlock()
		return
	}
	c.enqueue(item, false)
	b.mu.Unlock()
	c.kick(false)
}

// backedUp reports whether topology.shellbolt.max.pending tuples wait to
// be written to the child. mu is held.
func (b *Bolt) backedUp() bool {
	n := len(b.backlog)
	if b.cur != nil {
		n += int(b.cur.queued.Load())
	}
	return n >= b.set.maxPending
}

// wake lets blocked Execute calls go on once the tuples waiting to be
// written are down to half of topology.shellbolt.max.pending: one wake-up
// then refills the queue by half. mu is held.
func (b *Bolt) wake() {
	if b.waiting.Load() == 0 {
		return
	}
	n := len(b.backlog)
	if b.cur != nil {
		n += int(b.cur.queued.Load())
	}
	if n <= b.set.maxPending/2 {
		b.cond.Broadcast()
	}
}

// written is called by c's writer goroutine after it wrote tuples.
func (b *Bolt) written(*child) {
	if b.waiting.Load() > 0 {
		b.mu.Lock()
		b.wake()
		b.mu.Unlock()
	}
}

// makeRoom reports whether the current child may hold one more tuple,
// releasing held ones if it must. mu is held.
func (b *Bolt) makeRoom(now time.Time) bool {
	room, released := b.held.makeRoom(now)
	if released > 0 {
		total := b.held.untracked + b.held.timedOut
		if now.Sub(b.lastWarn) >= releaseWarnEvery {
			b.sup.log.Warn("released tuples the child held without acking them: their trees are untracked or timed out",
				"released", total-b.warnedReleased, "total", total, "untracked", b.held.untracked, "timed_out", b.held.timedOut,
				"max_held", b.set.maxHeld, "key", KeyShellBoltMaxHeld)
			b.lastWarn, b.warnedReleased = now, total
		}
	}
	return room
}

// admit records t as held by the current child under a fresh id. mu is
// held.
func (b *Bolt) admit(t topology.Tuple, now time.Time) string {
	return b.held.add(heldTuple{tuple: t, by: b.cur, sent: now})
}

// refill queues backlog tuples for the current child while it may hold
// them, and returns the child if it queued any: the caller kicks it after
// unlocking. mu is held.
func (b *Bolt) refill(now time.Time) *child {
	if b.cur == nil {
		return nil
	}
	n := 0
	for n < len(b.backlog) && b.makeRoom(now) {
		t := b.backlog[n]
		b.cur.enqueue(outItem{kind: itemTuple, id: b.admit(t, now), tuple: t}, false)
		n++
	}
	if n == 0 {
		return nil
	}
	clear(b.backlog[:n])
	b.backlog = b.backlog[n:]
	b.wake()
	return b.cur
}

// Stop begins stopping the task without waiting: the child is stopped and
// Execute no longer blocks. Cleanup waits for the end.
func (b *Bolt) Stop() {
	b.mu.Lock()
	b.stopped = true
	b.cond.Broadcast()
	b.mu.Unlock()
	if b.sup != nil {
		b.sup.beginStop()
	}
}

// Cleanup stops the child and waits for it.
func (b *Bolt) Cleanup() {
	b.Stop()
	if b.sup != nil {
		b.sup.shutdown()
	}
}

// Backlog returns how many tuples the task holds: waiting to be written
// to the child, and written but not yet acked or failed by it. The
// worker's load-aware shuffles send fewer tuples to a task that holds
// more than its siblings. It is safe for concurrent use.
func (b *Bolt) Backlog() int {
	if b.prepared.Load() == nil {
		return 0 // not prepared: held is not made yet
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.backlog) + b.held.len()
}

// Health reports on the task's child.
func (b *Bolt) Health() Health {
	sup := b.prepared.Load()
	if sup == nil {
		return Health{}
	}
	h := sup.Health()
	b.mu.Lock()
	h.Released = b.held.untracked + b.held.timedOut
	b.mu.Unlock()
	return h
}

func (b *Bolt) up(c *child) {
	b.mu.Lock()
	b.cur = c
	if b.state != nil {
		if txid, ok := b.state.pendingReset(c); ok {
			c.enqueue(outItem{kind: itemStateReset, txid: txid}, true)
		}
	}
	b.refill(time.Now())
	b.mu.Unlock()
	c.kick(false)
}

// down fails every tuple c held: it is gone, and the spouts should replay
// them now rather than after the message timeout. A stateful bolt's
// queued tuples are failed too (the task rolls back, see OnChildLost),
// after the OnChildLost callback ran: the task must know of the death
// before it sees those fails, or a PREPARE waiting for them would prepare
// the dead child's writes.
func (b *Bolt) down(c *child, cerr *ChildError, _ bool) {
	b.mu.Lock()
	if b.cur == c {
		b.cur = nil
	}
	lost := b.held.dropChild(c)
	if b.state != nil && cerr != nil {
		lost = append(lost, b.backlog...)
		clear(b.backlog)
		b.backlog = b.backlog[:0]
	}
	b.cond.Broadcast()
	b.mu.Unlock()
	if cerr == nil {
		if b.state != nil {
			b.state.forget(c)
		}
		return // a clean stop: the topology is going away
	}
	if b.state != nil {
		b.state.childLost(c)
	}
	for _, t := range lost {
		b.out.Fail(t)
	}
	b.sup.hooks.flush()
}

// tick gives tuples waiting for room to the child once held ones could be
// released (their trees timed out): the supervisor calls it every
// heartbeat interval.
func (b *Bolt) tick(c *child, now time.Time) {
	b.mu.Lock()
	if b.cur != c || len(b.backlog) == 0 {
		b.mu.Unlock()
		return
	}
	cur := b.refill(now)
	b.mu.Unlock()
	if cur != nil {
		cur.kick(false)
	}
}

// release takes the tuple with the given id out of what c holds and sends
// the next queued tuple in its place. late reports an id released earlier
// because c held too many.
func (b *Bolt) release(c *child, id string) (t topology.Tuple, ok, late bool) {
	b.mu.Lock()
	h, ok := b.held.takeFrom(id, c)
	if !ok {
		late = b.held.released.has(id)
		b.mu.Unlock()
		return topology.Tuple{}, false, late
	}
	var cur *child
	if len(b.backlog) > 0 {
		cur = b.refill(time.Now())
	}
	b.mu.Unlock()
	if cur != nil {
		cur.kick(true)
	}
	return h.tuple, true, false
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
	if t, ok, _ := b.release(c, item.id); ok {
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
		t, ok, late := b.release(c, id)
		if !ok {
			if late || !b.current(c) {
				// Released because the child held too many, or the child
				// is being replaced and its tuples were failed.
				return nil
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
	case multilang.CmdStateGet, multilang.CmdStatePut, multilang.CmdStateDelete, multilang.CmdStateItems:
		return b.stateCommand(c, m)
	case "":
		return protocolError("message without a command")
	default:
		if !b.sup.common(c, m) {
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
			h, ok := b.held.get(id)
			if !ok || h.by != c {
				if b.held.released.has(id) {
					continue // its tree is untracked or timed out
				}
				cur := b.cur == c
				b.mu.Unlock()
				if !cur {
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
		// Coalesced with the replies to the rest of the burst being read,
		// and written before the reader waits for the child: a child that
		// waits for each reply gets it at once, one that does not (Storm's
		// storm.js) gets several per write, as the bare loop sends them.
		c.send(outItem{kind: itemTaskIDs, taskIDs: append([]int{}, ids...)}, true, true)
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

// Flusher is implemented by a collector that holds back what a task sends
// until Flush, so that a burst of a child's emits and acks goes downstream
// together (the worker's collectors do). The child's reader calls Flush
// before it waits for the child.
type Flusher interface{ Flush() }

// MetricsRecorder is implemented by a collector that records the metrics
// a child reports with the metrics command (the worker's collectors do).
type MetricsRecorder interface {
	RecordMetric(name string, value any)
}

// flusher returns out's Flush if it has one, else a no-op.
func flusher(out any) func() {
	if f, ok := out.(Flusher); ok {
		return f.Flush
	}
	return func() {}
}

// metricsRecorder returns out's RecordMetric if it has one, else the
// task context's, else nil: the metrics are dropped.
func metricsRecorder(out any, ctx *topology.TaskContext) func(string, any) {
	if r, ok := out.(MetricsRecorder); ok {
		return r.RecordMetric
	}
	return ctx.RecordMetric
}
