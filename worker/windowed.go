package worker

import (
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/squallstream/squall/shell"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/window"
)

// A windowed bolt (docs/windowing-and-state.md): the host does the
// windowing. The task's bolt is wrapped in a windowedBolt, which feeds
// every input tuple to a window.Manager on the executor's goroutine and
// hands each window that fires to the bolt: a Go bolt through
// ExecuteWindow, a shell bolt as one tuple on topology.WindowStream whose
// value holds the window's changes. Window tuples are acked when they
// leave every window, once every window they were in is done; what the
// bolt emits for a window is anchored to all of its tuples.

// windowSource is the source of the tuples that carry windows to a shell
// bolt's child.
var windowSource = &topology.Source{Component: topology.SystemComponent, Task: topology.SystemTaskID,
	Stream: topology.WindowStream, Fields: topology.NewFields("window")}

// windowed is one tuple held by the manager, with the id a shell child
// knows it by.
type windowed struct {
	t topology.Tuple
	// failed is set, under windowedBolt.mu, when a window holding the
	// tuple failed: it was failed, and must not be acked when it expires.
	failed bool
	id     string
	// gen is the child generation (windowedBolt.gen) in which the tuple
	// was streamed to a shell child ahead of its window, 0 if never;
	// shown, that a window message carried it. Executor goroutine.
	gen   uint64
	shown bool
	// With recovery by message id (statefulwindowed.go): the tuple's
	// stream's marks, its message id, and restored, that it was put back
	// as evaluated before and no window message carried it yet.
	marks    *streamMarks
	mid      int64
	restored bool
	// back: the replay of a tuple the bolt failed (streamMarks.failed).
	back bool
}

// addBatch is the tracking of a tuple streaming window tuples to a shell
// child ahead of their window: the child acks it once it holds them.
type addBatch struct{}

var theAddBatch = &addBatch{}

// streamBatch is how many window tuples a shell child is sent per
// streaming message: enough to make the message's own cost small, few
// enough that the child decodes while the window fills.
const streamBatch = 512

// flight is a window handed to the bolt and not yet done, or a batch of
// expired tuples waiting for the windows before it. It is the tracking of
// the tuple carrying the window to a shell child, which is how the
// child's ack, fail or anchor finds it.
type flight struct {
	// entries are the window's contents (the anchors of its emits) as the
	// manager holds them; nil for a batch. They never change.
	entries []*windowed
	// tuples are the same for a Go bolt's TupleWindow; nil for a shell
	// bolt, which needs no copy of a window per window.
	tuples []topology.Tuple
	// expired are a batch's tuples, to ack.
	expired []*windowed
	done    bool
	// evaluated raises the recovery marks when the window is done; void,
	// set under windowedBolt.mu by a rollback, that its effects were
	// undone (statefulwindowed.go).
	evaluated []markUpdate
	back      []*windowed
	void      bool
}

// windowedBolt runs one task of a windowed component. Execute, and so the
// manager, run on the executor's goroutine; a shell child's acks and
// fails of windows come from its reader goroutine (windowDone).
type windowedBolt struct {
	inner topology.Bolt
	// goBolt is inner for a Go bolt; nil for a shell bolt.
	goBolt topology.WindowedBolt
	spec   window.Spec
	mgr    *window.Manager[*windowed]
	out    *boltCollector
	task   int
	comp   string
	// wake asks the executor to call Execute with a tick tuple soon.
	wake func()

	timer *time.Timer
	armed time.Time
	ids   uint64
	// current is the window a Go bolt is executing, for unanchored emits.
	current *flight

	mu sync.Mutex
	// The following are guarded by mu.
	// inflight holds windows in flight and batches of expired tuples, in
	// the order they were made: a batch is acked once every window
	// before it is done.
	inflight []*flight
	// failed are windows the bolt failed, whose tuples the executor
	// removes from the manager.
	failed []*flight
	// reset is set when the child may not hold the window's contents (it
	// failed a window, or restarted): the next window is sent whole. lost,
	// when it may also have lost the tuples streamed to it: they are sent
	// again, inside the windows that show them.
	reset, lost bool
	// unshownRestored counts the tuples with restored set: while it is 0,
	// no window needs looking through for one. (A tuple that leaves the
	// windows unshown keeps it above 0, which costs only that look.)
	// Executor goroutine.
	unshownRestored int

	warnedAck atomic.Bool
	// sources are the component, stream and task of each input source as
	// interfaces, boxed once rather than once per tuple. Executor
	// goroutine.
	sources map[*topology.Source][3]any

	// Streaming to a shell child (docs/multilang.md): each tuple taken into
	// the windows is sent ahead of its window, in batches, so the child
	// decodes while the window fills and a window message names ids. gen
	// counts reset windows: a tuple streamed in an older generation is no
	// longer held by the child. stream holds tuples not yet sent; forget
	// the ids of streamed tuples dropped before any window showed them.
	// Executor goroutine.
	gen    uint64
	stream []*windowed
	forget []any

	// settled, if set, takes the bolt's acks and fails of its input
	// tuples instead of the collector: a stateful windowed bolt's go to
	// the checkpoint core, which holds acks until a commit
	// (statefulwindowed.go).
	settled func(t topology.Tuple, failed bool)
	// rec is the recovery by message id of a stateful windowed bolt that
	// names a message id field; nil otherwise (statefulwindowed.go).
	rec *recovery
	// drained, if set, is closed by windowDone once no window is in
	// flight to a shell child (beforePrepare); guarded by mu.
	drained chan struct{}
	// timeout is the topology's message timeout.
	timeout time.Duration
}

// settle acks or fails an input tuple.
func (b *windowedBolt) settle(failed bool, t topology.Tuple) {
	switch {
	case b.settled != nil:
		b.settled(t, failed)
	case failed:
		b.out.Fail(t)
	default:
		b.out.Ack(t)
	}
}

// A windowed task's metrics: tuples failed because the window was full,
// and tuples behind the watermark.
const (
	MetricWindowDropped = "window-dropped"
	MetricWindowLate    = "window-late"
)

// errNotWindowed: a component declares window: but its Go bolt has no
// ExecuteWindow.
var errNotWindowed = errors.New("the component declares a window, but its Go bolt does not implement topology.WindowedBolt (ExecuteWindow)")

func newWindowedBolt(comp *topology.Component, spec window.Spec, b topology.Bolt, out *boltCollector, task int, wake func()) (*windowedBolt, error) {
	wb := &windowedBolt{inner: b, spec: spec, out: out, task: task, comp: comp.ID, wake: wake, reset: true, gen: 1}
	if comp.Shell == nil {
		g, ok := b.(topology.WindowedBolt)
		if !ok {
			return nil, errNotWindowed
		}
		wb.goBolt = g
	}
	var streams []string
	for _, in := range comp.Inputs {
		if in.Stream != topology.CheckpointStream { // barriers never reach the window
			streams = append(streams, in.From+":"+in.Stream)
		}
	}
	spec.Streams = streams
	wb.mgr = window.New[*windowed](spec)
	return wb, nil
}

func (b *windowedBolt) Prepare(ctx *topology.TaskContext, _ topology.BoltCollector) error {
	return b.inner.Prepare(ctx, &windowCollector{boltCollector: b.out, b: b})
}

func (b *windowedBolt) Cleanup() {
	if b.timer != nil {
		b.timer.Stop()
	}
	b.inner.Cleanup()
}

// Execute takes an input tuple into the windows, or a tick (from the
// timer, or a wake-up after a failed window) as the time passing.
func (b *windowedBolt) Execute(t topology.Tuple) {
	now := time.Now()
	b.removeFailed()
	var res window.Result[*windowed]
	if t.IsTick() {
		res = b.mgr.Tick(now)
	} else {
		var ts int64
		if b.spec.EventTime() {
			v, _ := t.ValueByField(b.spec.TimestampField)
			var err error
			if ts, err = window.Timestamp(v); err != nil {
				b.out.ReportError(fmt.Errorf("windowed bolt %q task %d: field %q of %s: %w", b.comp, b.task, b.spec.TimestampField, describe(t), err))
				b.settle(true, t)
				return
			}
		}
		e := &windowed{t: t}
		restore := false
		if b.rec != nil {
			var drop bool
			var err error
			e.marks, e.mid, e.back, restore, drop, err = b.admit(t)
			switch {
			case err != nil:
				b.out.ReportError(fmt.Errorf("windowed bolt %q task %d: %s: %w", b.comp, b.task, describe(t), err))
				b.settle(true, t)
				return
			case drop:
				// Every window it was in is in the committed state.
				b.out.addUserCount(MetricWindowReplaysAcked, 1)
				b.settle(false, t)
				return
			}
		}
		b.ids++
		e.id = strconv.FormatUint(b.ids, 10)
		if restore {
			b.out.addUserCount(MetricWindowReplaysRestored, 1)
			e.restored = true // until a whole window shows it to a shell child (fire)
			b.unshownRestored++
			res = b.mgr.Restore(now, e, ts, t.SourceComponent()+":"+t.SourceStream())
		} else {
			res = b.mgr.Add(now, e, ts, t.SourceComponent()+":"+t.SourceStream())
		}
		if b.goBolt == nil && !(len(res.Late) > 0 && res.Late[len(res.Late)-1] == e) {
			// Queued before act: a window it fires flushes the queue
			// first, so that the window may name the tuple by id.
			e.gen = b.gen
			b.stream = append(b.stream, e)
		}
	}
	sent := !res.Empty()
	b.act(res)
	if len(b.stream) >= streamBatch {
		b.flushStream()
		sent = true
	}
	b.arm()
	if sent && b.goBolt == nil {
		b.out.Flush() // a shell task's collector holds what is sent until flushed
	}
}

func (b *windowedBolt) act(res window.Result[*windowed]) {
	if len(res.Dropped) > 0 {
		b.out.addUserCount(MetricWindowDropped, int64(len(res.Dropped)))
		if b.rec != nil {
			b.mu.Lock()
			for _, e := range res.Dropped {
				if e.marks != nil {
					e.marks.failedTuple(e.mid)
				}
			}
			b.mu.Unlock()
		}
		for _, e := range res.Dropped {
			if e.gen != 0 && !e.shown {
				// The child holds it for no window (a child that lost it
				// ignores the id).
				b.forget = append(b.forget, e.id)
			}
			b.settle(true, e.t)
		}
		b.out.ReportError(fmt.Errorf("windowed bolt %q task %d: %d tuples failed: the window holds at most %d (%s)",
			b.comp, b.task, len(res.Dropped), b.spec.MaxTuples, window.KeyMaxTuples))
	}
	if len(res.Late) > 0 {
		b.out.addUserCount(MetricWindowLate, int64(len(res.Late)))
	}
	for _, e := range res.Late {
		if b.spec.LateStream != "" {
			b.out.Emit(b.spec.LateStream, []topology.Tuple{e.t}, []any{lateValue(e.t)})
		}
		b.settle(false, e.t)
	}
	for i := range res.Windows {
		b.fire(&res.Windows[i])
	}
	if len(res.Expired) > 0 {
		batch := &flight{expired: res.Expired}
		b.mu.Lock()
		b.inflight = append(b.inflight, batch)
		b.mu.Unlock()
		b.windowDone(nil, false)
	}
}

// maxSources bounds windowedBolt.sources.
const maxSources = 1024

// source returns the component, stream and task of src as interfaces.
func (b *windowedBolt) source(src *topology.Source) [3]any {
	v, ok := b.sources[src]
	if !ok {
		if b.sources == nil || len(b.sources) >= maxSources {
			// Sources of tuples from other workers are made per
			// connection: a worker that reconnects often must not grow
			// this without bound.
			b.sources = make(map[*topology.Source][3]any)
		}
		v = [3]any{src.Component, src.Stream, src.Task}
		b.sources[src] = v
	}
	return v
}

// lateValue is a late tuple as the late-tuple stream carries it.
func lateValue(t topology.Tuple) map[string]any {
	return map[string]any{"component": t.SourceComponent(), "stream": t.SourceStream(), "task": t.SourceTask(),
		"fields": t.Fields().Names(), "values": t.Values()}
}

// fire hands window w to the bolt.
func (b *windowedBolt) fire(w *window.Window[*windowed]) {
	f := &flight{entries: w.Tuples}
	if b.rec != nil {
		f.evaluated, f.back = evaluatedMarks(w.New)
	}
	if b.goBolt != nil {
		f.tuples = tuplesOf(w.Tuples)
	}
	b.mu.Lock()
	b.inflight = append(b.inflight, f)
	reset, lost := b.reset, b.lost
	b.reset, b.lost = false, false
	b.mu.Unlock()
	// A tuple put back by a recovery is never new in a window, so a shell
	// child learns of it only from a whole window: the first that holds
	// it, which need not be the next to fire.
	if b.goBolt == nil && !reset && b.unshownRestored > 0 {
		reset = slices.ContainsFunc(w.Tuples, func(e *windowed) bool { return e.restored })
	}
	if b.goBolt == nil {
		if lost {
			// What the child was streamed is sent again inside the
			// windows that show it.
			b.gen++
			clear(b.stream)
			b.stream = b.stream[:0]
		}
		b.flushStream()
	}
	if b.goBolt != nil {
		b.current = f
		failed := b.executeWindow(f, w)
		b.current = nil
		b.windowDone(f, failed)
		return
	}
	b.inner.Execute(topology.NewTuple(windowSource, []any{b.message(w, reset)}, f))
}

func (b *windowedBolt) executeWindow(f *flight, w *window.Window[*windowed]) (failed bool) {
	defer func() {
		if r := recover(); r != nil {
			b.out.ReportError(fmt.Errorf("windowed bolt %q task %d panicked executing a window of %d tuples: %v\n%s",
				b.comp, b.task, len(f.entries), r, debug.Stack()))
			failed = true
		}
	}()
	tw := topology.TupleWindow{Tuples: f.tuples, New: tuplesOf(w.New), Expired: tuplesOf(w.Expired), Start: w.Start, End: w.End}
	b.goBolt.ExecuteWindow(tw)
	return false
}

func tuplesOf(es []*windowed) []topology.Tuple {
	ts := make([]topology.Tuple, len(es))
	for i, e := range es {
		ts[i] = e.t
	}
	return ts
}

// message is the value of the tuple carrying window w to a shell child
// (docs/multilang.md): the window's changes, or all of it after a reset.
func (b *windowedBolt) message(w *window.Window[*windowed], reset bool) map[string]any {
	added, expired := w.New, w.Expired
	if reset {
		added, expired = w.Tuples, nil
	}
	// Each tuple by its id if the child was streamed it, else as [id,
	// comp, stream, task, values]: an array costs the host and the child
	// far less than an object per tuple. old are the ids of tuples put
	// back by a recovery, in the window but not new.
	news := make([]any, len(added))
	var old []any
	for i, e := range added {
		if e.restored {
			e.restored = false
			b.unshownRestored--
			if reset {
				old = append(old, e.id)
			}
		}
		if e.gen == b.gen && !e.shown {
			news[i] = e.id
		} else {
			src := b.source(e.t.Source())
			news[i] = []any{e.id, src[0], src[1], src[2], e.t.Values()}
		}
		e.shown = true
	}
	gone := make([]any, len(expired))
	for i, e := range expired {
		gone[i] = e.id
	}
	var start any = w.Start
	if b.spec.LengthCount > 0 {
		start = nil // count windows have no start
	}
	m := map[string]any{"start": start, "end": w.End, "new": news, "expired": gone}
	if reset {
		m["reset"] = true
		if len(old) > 0 {
			m["old"] = old
		}
	}
	if len(b.forget) > 0 {
		m["forget"] = b.forget
		b.forget = nil
	}
	return m
}

// flushStream sends a shell child the window tuples queued for it, with
// the ids it may forget. Executor goroutine.
func (b *windowedBolt) flushStream() {
	if len(b.stream) == 0 && len(b.forget) == 0 {
		return
	}
	// Grouped by source, [comp, stream, task, ids, values]: the child
	// builds its tuples without a loop of its own, and they share their
	// source's strings.
	type run struct{ ids, values []any }
	var runs []any
	var byRun []*run
	idx := make(map[*topology.Source]*run, 1)
	for _, e := range b.stream {
		r := idx[e.t.Source()]
		if r == nil {
			r = &run{}
			idx[e.t.Source()] = r
			src := b.source(e.t.Source())
			runs = append(runs, []any{src[0], src[1], src[2], nil, nil})
			byRun = append(byRun, r)
		}
		r.ids = append(r.ids, e.id)
		r.values = append(r.values, e.t.Values())
	}
	for i, r := range byRun {
		h := runs[i].([]any)
		h[3], h[4] = r.ids, r.values
	}
	m := map[string]any{"add": runs}
	if len(b.forget) > 0 {
		m["forget"] = b.forget
	}
	clear(b.stream)
	b.stream, b.forget = b.stream[:0], nil
	b.inner.Execute(topology.NewTuple(windowSource, []any{m}, theAddBatch))
}

// windowDone marks f done (nil: nothing new is done) and acks the expired
// tuples no window in flight still needs. A failed window fails its
// tuples, which the executor then takes out of the manager.
func (b *windowedBolt) windowDone(f *flight, failed bool) {
	b.mu.Lock()
	// fails are the window's tuples not failed before (by an overlapping
	// window, or a rollback).
	var fails []topology.Tuple
	if f != nil {
		f.done = true
		if failed {
			b.failed = append(b.failed, f)
			b.reset, b.lost = true, true
			for _, e := range f.entries {
				if !e.failed {
					e.failed = true
					fails = append(fails, e.t)
					if e.marks != nil && !f.void {
						e.marks.failedTuple(e.mid)
					}
				}
			}
		}
	}
	var acks []topology.Tuple
	var acked []*windowed // with recovery marks
	n := 0
	for _, g := range b.inflight {
		if g.entries == nil {
			for _, e := range g.expired {
				if !e.failed {
					acks = append(acks, e.t)
					if e.marks != nil {
						acked = append(acked, e)
					}
				}
			}
		} else if !g.done {
			break
		}
		n++
	}
	if b.rec != nil {
		var evaluated []markUpdate
		var back []*windowed
		if f != nil && !failed && !f.void {
			evaluated, back = f.evaluated, f.back
		}
		b.raiseMarks(evaluated, back, acked)
	}
	clear(b.inflight[:n])
	b.inflight = b.inflight[n:]
	if b.drained != nil && !b.windowsInFlight() {
		close(b.drained)
		b.drained = nil
	}
	b.mu.Unlock()
	for _, t := range acks {
		b.settle(false, t)
	}
	for _, t := range fails {
		b.settle(true, t)
	}
	if failed && f != nil {
		if b.goBolt == nil {
			b.wake() // a shell child's fail: let the executor remove them
		}
	}
}

// removeFailed takes the tuples of failed windows out of the manager, so
// that they are neither shown again nor acked. Executor goroutine.
func (b *windowedBolt) removeFailed() {
	b.mu.Lock()
	failed := b.failed
	b.failed = nil
	b.mu.Unlock()
	if len(failed) == 0 {
		return
	}
	gone := make(map[*windowed]bool)
	for _, f := range failed {
		for _, e := range f.entries {
			gone[e] = true
		}
	}
	b.mgr.Remove(func(e *windowed) bool { return gone[e] })
}

// arm sets the timer for the manager's next tick.
func (b *windowedBolt) arm() {
	next, ok := b.mgr.NextTick()
	if !ok || (b.timer != nil && next.Equal(b.armed)) {
		return
	}
	if b.timer != nil {
		b.timer.Stop()
	}
	b.armed = next
	b.timer = time.AfterFunc(max(time.Until(next), 0), b.wake)
}

// resolve returns the anchors of an emit of the bolt: the window f stands
// for all of its tuples, besides the anchors in rest. With no anchors it is
// the window being executed (Go) or the oldest in flight (shell). An emit
// anchored to several windows gets them all in rest, and f nil.
func (b *windowedBolt) resolve(anchors []topology.Tuple) (f *flight, rest []topology.Tuple) {
	if len(anchors) == 0 {
		if b.current != nil || b.goBolt != nil {
			return b.current, nil
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, g := range b.inflight {
			if g.entries != nil && !g.done {
				return g, nil
			}
		}
		return nil, nil
	}
	if len(anchors) == 1 {
		if g, ok := anchors[0].Tracking().(*flight); ok {
			return g, nil
		}
		return nil, anchors
	}
	windows := 0
	for _, a := range anchors {
		if _, ok := a.Tracking().(*flight); ok {
			windows++
		}
	}
	if windows == 0 {
		return nil, anchors
	}
	for _, a := range anchors {
		g, ok := a.Tracking().(*flight)
		switch {
		case !ok:
			rest = append(rest, a)
		case windows == 1:
			f = g
		default:
			rest = append(rest, tuplesOf(g.entries)...)
		}
	}
	return f, rest
}

// windowCollector is the collector a windowed bolt sees.
type windowCollector struct {
	*boltCollector
	b *windowedBolt
}

func (c *windowCollector) Emit(stream string, anchors []topology.Tuple, values []any) []int {
	f, rest := c.b.resolve(anchors)
	if f == nil {
		return c.boltCollector.Emit(stream, rest, values)
	}
	so := c.route(stream, values, false)
	c.mu.Lock()
	defer c.mu.Unlock()
	ids := c.targets(so, values, 0, false)
	c.send(so, f, rest, values, ids)
	return ids
}

func (c *windowCollector) EmitDirect(task int, stream string, anchors []topology.Tuple, values []any) {
	f, rest := c.b.resolve(anchors)
	if f == nil {
		c.boltCollector.EmitDirect(task, stream, rest, values)
		return
	}
	so := c.route(stream, values, true)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.send(so, f, rest, values, c.targets(so, values, task, true))
}

// send is boltCollector.send for an emit anchored to window f's tuples
// and rest, without a copy of the window: a window can hold millions of
// tuples. mu is held.
func (c *windowCollector) send(so *streamOut, f *flight, rest []topology.Tuple, values []any, targets []int) {
	if d := c.debug.Load(); d != nil {
		c.logEmit(d, so.stream.ID, values, nil)
	}
	for _, t := range targets {
		var s anchoring
		for _, e := range f.entries {
			s.add(e.t)
		}
		for _, a := range rest {
			s.add(a)
		}
		c.put(t, &message{kind: kindTuple, task: int32(t), tuple: topology.NewTuple(so.src, values, s.anchor())})
	}
	c.counted(so, len(targets))
}

// Ack and Fail of a window finish it; of a window tuple they are ignored:
// the host acks window tuples as they expire.
func (c *windowCollector) Ack(t topology.Tuple) {
	switch f := t.Tracking().(type) {
	case *flight:
		c.b.windowDone(f, false)
	case *addBatch:
	default:
		c.ignored(t)
	}
}

func (c *windowCollector) Fail(t topology.Tuple) {
	switch f := t.Tracking().(type) {
	case *flight:
		c.b.windowDone(f, true)
	case *addBatch:
		// The child lost what it was streamed (it restarted): the next
		// window goes whole.
		c.b.mu.Lock()
		c.b.reset, c.b.lost = true, true
		c.b.mu.Unlock()
	default:
		c.ignored(t)
	}
}

func (c *windowCollector) ignored(t topology.Tuple) {
	if c.b.warnedAck.CompareAndSwap(false, true) {
		c.b.out.w.log.Warn("windowed bolt acked or failed a window tuple; ignored: the host acks window tuples as they leave every window",
			"component", c.b.comp, "task", c.b.task, "tuple", describe(t))
	}
}

func (c *windowCollector) ResetTimeout(t topology.Tuple) {
	f, ok := t.Tracking().(*flight)
	if !ok {
		c.boltCollector.ResetTimeout(t)
		return
	}
	for _, e := range f.entries {
		c.boltCollector.ResetTimeout(e.t)
	}
}

// windowedShellBolt is a windowed shell bolt: it also offers what the
// engine asks of a task hosted in a child process.
type windowedShellBolt struct{ *windowedBolt }

func (b windowedShellBolt) Stop() {
	if s, ok := b.inner.(stopper); ok {
		s.Stop()
	}
}

func (b windowedShellBolt) Health() shell.Health {
	if h, ok := b.inner.(healthReporter); ok {
		return h.Health()
	}
	return shell.Health{}
}

// windowed wraps task t's bolt for a windowed component; other bolts are
// returned as they are.
func (x *boltExecutor) windowed(t *boltTask) (topology.Bolt, error) {
	if !x.comp.Windowed() {
		return t.bolt, nil
	}
	spec, err := window.ParseSpec(t.ctx.Config)
	if err != nil {
		return nil, err
	}
	id := int32(t.id)
	wake := func() {
		x.inbox.pushNow(&message{kind: kindTuple, task: id, tuple: topology.NewTuple(topology.TickSource, []any{int64(0)}, nil)})
	}
	wb, err := newWindowedBolt(x.comp, spec, t.bolt, t.out, t.id, wake)
	if err != nil {
		return nil, err
	}
	wb.timeout = t.ctx.Config.Seconds(topology.KeyMessageTimeoutSecs, 30*time.Second)
	if x.comp.Shell != nil {
		return windowedShellBolt{wb}, nil
	}
	return wb, nil
}
