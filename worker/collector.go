package worker

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/squallstream/squall/metrics"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/worker/acker"
)

// emitter is the emitting half of a task's collector. Its methods are safe
// for concurrent use.
type emitter struct {
	w    *Worker
	task int
	comp string
	// m holds the task's metrics.
	m      *metrics.Task
	routes map[string]*streamOut
	// emits counts emits, so that the spout executor knows whether Next
	// emitted anything.
	emits atomic.Int64
	// spout is set for a spout task's collector, whose pushes never block:
	// what a full queue (or a congested task of another worker) refuses
	// waits in out, and the executor stops calling Next until it went,
	// while it goes on taking acks, fails and timeouts.
	spout bool
	// stalled is set while messages a queue refused wait in out.
	stalled atomic.Bool
	// backpressure is how the task waits for a full queue.
	backpressure waitStrategy
	// debug is set while the task's emits are logged (events.go).
	debug atomic.Pointer[debugState]

	mu sync.Mutex
	// The following fields are guarded by mu.
	// ids holds the target tasks of the last emit, returned to the caller,
	// valid until the next call.
	ids []int
	// While batching is set (the executor is working through a batch of a
	// Go task), messages wait in out, one batch per target queue, and go
	// out with one lock per queue when the executor flushes.
	batching bool
	out      []outBatch
	// stuck is a queue that refused messages, while stalled, and
	// stuckTask the task of the first message it refused.
	stuck     *queue
	stuckTask int32
	// emitted tallies emits per output stream, inputs acks and fails per
	// input stream, while batching.
	emitted, inputs tally
	// stallStart is when a spout's queue last refused its messages, while
	// stalled.
	stallStart int64
	// idgen gives the tuples' edge ids.
	idgen idSource
}

type outBatch struct {
	q    *queue
	msgs []message
	// held is how many of msgs count in q's heldBack (spouts).
	held int
}

// maxOutBatch is how many messages wait for one queue before they are
// pushed without waiting for the executor's flush.
const maxOutBatch = 256

// put delivers m to its target task, or buffers it while batching. mu
// is held.
func (e *emitter) put(task int, m *message) {
	if e.comp == topology.CheckpointSpout && e.w.barrierLane(task, m) {
		return
	}
	q := e.w.route(task, m.kind)
	if !e.batching {
		q.push(m, &e.backpressure)
		return
	}
	for i := range e.out {
		if b := &e.out[i]; b.q == q {
			if m.kind == kindAck && foldAck(b.msgs, m) {
				return
			}
			b.msgs = append(b.msgs, *m)
			if len(b.msgs) >= maxOutBatch {
				e.pushOut(b)
			}
			return
		}
	}
	e.out = append(e.out, outBatch{q: q, msgs: append(make([]message, 0, 16), *m)})
}

// pushOut pushes what waits in b: all of it for a bolt, blocking while the
// queue is full; for a spout what fits now, keeping the rest. mu is held.
func (e *emitter) pushOut(b *outBatch) {
	if !e.spout {
		b.q.pushBatch(b.msgs, &e.backpressure)
		clear(b.msgs)
		b.msgs = b.msgs[:0]
		return
	}
	n := b.q.tryPushBatch(b.msgs)
	rest := copy(b.msgs, b.msgs[n:])
	clear(b.msgs[rest:])
	b.msgs = b.msgs[:rest]
	if rest > 0 {
		if !e.stalled.Load() && e.stallStart == 0 {
			e.stallStart = monoNow()
		}
		e.stalled.Store(true)
		e.stuck, e.stuckTask = b.q, b.msgs[0].task
	}
}

// foldLookBack is how far back foldAck looks in a batch.
const foldLookBack = 8

// foldAck merges the ack m into an ack of the same tree for the same
// acker among the last messages of batch, and reports whether it did. The
// acker only XORs what acks carry, in any order, so two acks of one tree
// are as good as one carrying both values; a bolt acking the several
// tuples of one tree that it got in a batch then sends one message.
func foldAck(batch []message, m *message) bool {
	for i := len(batch) - 1; i >= max(0, len(batch)-foldLookBack); i-- {
		if p := &batch[i]; p.kind == kindAck && p.task == m.task && p.root == m.root {
			p.val ^= m.val
			return true
		}
	}
	return false
}

// Flush pushes on whatever waits. A shell task's collector batches for
// good, and the child's reader calls Flush before it waits for the child:
// a burst of the child's emits and acks goes out with one lock per target
// queue.
func (e *emitter) Flush() { e.flush(false) }

// startBatch makes the collector buffer what it sends until flush.
func (e *emitter) startBatch() {
	e.mu.Lock()
	e.batching = true
	e.mu.Unlock()
}

// flush pushes whatever waits and, if stop is set, ends batching. A
// spout's collector keeps batching: what its queues refuse at its stop
// is dropped (its reliable tuples time out, as in-flight tuples do).
func (e *emitter) flush(stop bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	// Control first: acks must not wait while tuples wait for room.
	stalled := false
	for _, control := range [2]bool{true, false} {
		for i := range e.out {
			b := &e.out[i]
			if len(b.msgs) > 0 && b.msgs[0].kind.control() == control {
				e.pushOut(b)
				stalled = stalled || len(b.msgs) > 0
			}
		}
	}
	if stalled && stop {
		dropped := 0
		for i := range e.out {
			dropped += len(e.out[i].msgs)
			clear(e.out[i].msgs)
			e.out[i].msgs = e.out[i].msgs[:0]
		}
		e.w.log.Info("spout stopped with messages its targets had no room for", "component", e.comp, "task", e.task, "dropped", dropped)
		stalled = false
	}
	if !stalled {
		e.stuck = nil
	}
	if e.spout {
		e.noteHeld(stalled)
	}
	// Counts before the acks they go with can complete anything.
	e.emitted.flush()
	e.inputs.flush()
	e.stalled.Store(stalled)
	if stop && !e.spout {
		e.batching = false
	}
}

// stuckQueue returns a queue that refused messages, nil if none, and
// the task of the first message it refused.
func (e *emitter) stuckQueue() (*queue, int32) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stuck, e.stuckTask
}

func (e *emitter) route(stream string, values []any, direct bool) *streamOut {
	so := e.routes[stream]
	switch {
	case so == nil:
		panic(&topology.EmitError{Component: e.comp, Stream: stream, Reason: "the stream is not declared"})
	case len(values) != len(so.stream.Fields):
		panic(&topology.EmitError{Component: e.comp, Stream: stream,
			Reason: fmt.Sprintf("%d values for the %d declared fields %v", len(values), len(so.stream.Fields), so.stream.Fields)})
	case direct && !so.stream.Direct:
		panic(&topology.EmitError{Component: e.comp, Stream: stream, Reason: "EmitDirect on a stream that is not direct"})
	case !direct && so.stream.Direct:
		panic(&topology.EmitError{Component: e.comp, Stream: stream, Reason: "Emit on a direct stream; use EmitDirect"})
	}
	return so
}

// targets chooses the target tasks of an emit into e.ids; mu is held.
func (e *emitter) targets(so *streamOut, values []any, directTask int, direct bool) []int {
	ids := e.ids[:0]
	if direct {
		if !so.direct[directTask] {
			e.droppedDirect(so.stream.ID, directTask) // as Storm does
		} else {
			ids = append(ids, directTask)
		}
	} else {
		for _, g := range so.groupers {
			ids = g.choose(values, ids)
		}
	}
	e.ids = ids
	return ids
}

// counted counts an emit to targets tasks; mu is held.
func (e *emitter) counted(so *streamOut, targets int) {
	if e.spout {
		e.emits.Add(1)
	}
	t := e.emitted.to(so.stats)
	t.emitted++
	t.transferred += int64(targets)
	if !e.batching {
		t.flush()
	}
}

// countInput counts an ack (or a fail) of a tuple of an input stream; mu
// is held.
func (e *emitter) countInput(in *counters, failed bool) {
	t := e.inputs.to(in)
	if failed {
		t.failed++
	} else {
		t.acked++
	}
	if !e.batching {
		t.flush()
	}
}

// randomID returns a random non-zero 64-bit id.
func randomID() uint64 {
	for {
		if id := rand.Uint64(); id != 0 {
			return id
		}
	}
}

// spoutCollector is a spout task's collector.
type spoutCollector struct {
	emitter
	x *spoutExecutor
	t *spoutTask
	// The following fields are guarded by mu.
	// sample picks the tuples whose complete latency is measured.
	sample sampler
	// pending holds the task's reliable tuples in flight.
	pending pendingTable
	// roots gives the tuple trees' roots: drawn from a source of their
	// own, they follow each other in seqOf, which pending relies on.
	roots idSource
}

func (c *spoutCollector) Emit(stream string, values []any, msgID any) []int {
	so := c.route(stream, values, false)
	c.mu.Lock()
	defer c.mu.Unlock()
	ids := c.targets(so, values, 0, false)
	c.send(so, values, msgID, ids)
	return ids
}

func (c *spoutCollector) EmitDirect(task int, stream string, values []any, msgID any) {
	so := c.route(stream, values, true)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.send(so, values, msgID, c.targets(so, values, task, true))
}

func (c *spoutCollector) send(so *streamOut, values []any, msgID any, targets []int) {
	defer c.counted(so, len(targets))
	if d := c.debug.Load(); d != nil {
		c.logEmit(d, so.stream.ID, values, msgID)
	}
	if msgID == nil {
		for _, t := range targets {
			c.put(t, &message{kind: kindTuple, task: int32(t), tuple: topology.NewTuple(so.src, values, nil)})
		}
		return
	}
	// The tuple is pending before anything can complete it.
	drawn := c.roots.next()
	root := c.w.newRoot(drawn)
	var emitted int64
	if c.sample.sample() {
		emitted = monoNow()
	}
	c.pending.add(drawn, root, pendingTuple{task: c.t, msgID: msgID, stream: so, emitted: emitted, started: c.x.clock.Load()})
	if c.w.ackers == 0 {
		// Acking is disabled: the tuple is acked right after the current
		// call into the spout returns.
		for _, t := range targets {
			c.put(t, &message{kind: kindTuple, task: int32(t), tuple: topology.NewTuple(so.src, values, nil)})
		}
		c.x.inbox.pushNow(&message{kind: kindComplete, task: int32(c.task), root: root})
		return
	}
	var xor uint64
	var lin *acker.Lineage
	if c.w.exactlyOnce {
		l := spoutLineage(c.comp, msgID)
		lin = &l
	}
	for _, t := range targets {
		edge := c.idgen.next()
		xor ^= edge
		var anchor any = acker.NewAnchor(acker.Edge{Root: root, ID: edge})
		if lin != nil {
			anchor = acker.NewLineageAnchor([]acker.Edge{{Root: root, ID: edge}}, *lin)
		}
		c.put(t, &message{kind: kindTuple, task: int32(t), tuple: topology.NewTuple(so.src, values, anchor)})
	}
	at := c.w.ackerFor(root)
	c.put(at, &message{kind: kindInit, task: int32(at), from: int32(c.task), root: root, val: xor})
}

func (c *spoutCollector) ReportError(err error) { c.w.reportError(c.comp, c.task, err) }

// boltCollector is a bolt task's collector.
type boltCollector struct {
	emitter
	// inputs holds the task's statistics per input stream, by
	// Source.StreamIndex, made at the stream's first tuple: a bolt gets
	// tuples from a few of the topology's streams.
	inputs []atomic.Pointer[counters]

	// The following fields are guarded by mu.
	// sampling is the anchor of the tuple being executed if its process
	// latency is sampled, samplingAt when its execution began (unix ns);
	// held keeps the starts of sampled tuples left unacked when their
	// Execute returned, up to maxHeldSamples.
	sampling   *acker.Anchor
	samplingAt int64
	held       map[*acker.Anchor]int64
}

// maxHeldSamples bounds the sampled tuples a bolt task remembers past
// their Execute. A bolt that drops tuples unacked fills it; it is then
// emptied, and the acks of the tuples it held go unmeasured.
const maxHeldSamples = 4096

// beginSample notes that the execution of the tracked tuple of an, whose
// process latency is sampled, began at unixNanos.
func (c *boltCollector) beginSample(an *acker.Anchor, unixNanos int64) {
	c.mu.Lock()
	c.sampling, c.samplingAt = an, unixNanos
	c.mu.Unlock()
}

// endSample notes that the sampled execution returned: a tuple it did not
// ack is remembered until it is.
func (c *boltCollector) endSample() {
	c.mu.Lock()
	if c.sampling != nil {
		if len(c.held) >= maxHeldSamples {
			clear(c.held)
		}
		if c.held == nil {
			c.held = make(map[*acker.Anchor]int64)
		}
		c.held[c.sampling] = c.samplingAt
		c.sampling = nil
	}
	c.mu.Unlock()
}

// sampledAt returns when the execution of the tuple of an began if its
// process latency is sampled, and forgets it; 0 otherwise. mu is held.
func (c *boltCollector) sampledAt(an *acker.Anchor) int64 {
	if an == c.sampling {
		c.sampling = nil
		return c.samplingAt
	}
	if len(c.held) == 0 {
		return 0
	}
	at, ok := c.held[an]
	if ok {
		delete(c.held, an)
	}
	return at
}

func (c *boltCollector) Emit(stream string, anchors []topology.Tuple, values []any) []int {
	so := c.route(stream, values, false)
	c.mu.Lock()
	defer c.mu.Unlock()
	ids := c.targets(so, values, 0, false)
	c.send(so, anchors, values, ids)
	return ids
}

func (c *boltCollector) EmitDirect(task int, stream string, anchors []topology.Tuple, values []any) {
	so := c.route(stream, values, true)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.send(so, anchors, values, c.targets(so, values, task, true))
}

func (c *boltCollector) send(so *streamOut, anchors []topology.Tuple, values []any, targets []int) {
	if d := c.debug.Load(); d != nil {
		c.logEmit(d, so.stream.ID, values, nil)
	}
	if c.w.exactlyOnce {
		c.sendWithLineage(so, anchors, values, targets)
		return
	}
	for _, t := range targets {
		c.put(t, &message{kind: kindTuple, task: int32(t), tuple: topology.NewTuple(so.src, values, c.anchorFor(anchors))})
	}
	c.counted(so, len(targets))
}

// anchorFor returns the anchor of a new tuple anchored to anchors: a fresh
// id per anchor, folded into that anchor's children and into the new
// tuple's edge for each of the anchor's trees. nil when nothing is
// tracked. A tuple in one tree, the usual case, costs one small
// allocation.
func (c *boltCollector) anchorFor(anchors []topology.Tuple) any {
	s := anchoring{ids: &c.idgen}
	for _, a := range anchors {
		s.add(a)
	}
	return s.anchor()
}

// anchoring accumulates the anchor of a new tuple, one anchor at a time.
type anchoring struct {
	one   acker.Edge // the edge while there is one
	edges []acker.Edge
	// ids, if set, gives the new ids (randomID otherwise).
	ids *idSource
}

// add anchors the new tuple to a.
func (s *anchoring) add(a topology.Tuple) {
	an, aEdges := anchorOf(a)
	if an == nil {
		return
	}
	var id uint64
	if s.ids != nil {
		id = s.ids.next()
	} else {
		id = randomID()
	}
	an.AddChild(id)
	for _, e := range aEdges {
		switch {
		case s.edges != nil:
			s.edges = xorEdge(s.edges, e.Root, id)
		case s.one.Root == 0:
			s.one = acker.Edge{Root: e.Root, ID: id}
		case s.one.Root == e.Root:
			s.one.ID ^= id
		default:
			s.edges = append(make([]acker.Edge, 0, 4), s.one, acker.Edge{Root: e.Root, ID: id})
		}
	}
}

// anchor returns the new tuple's anchor, nil when nothing is tracked.
func (s *anchoring) anchor() any {
	switch {
	case s.edges != nil:
		return acker.NewMultiAnchor(s.edges)
	case s.one.Root != 0:
		return acker.NewAnchor(s.one)
	}
	return nil
}

// xorEdge folds id into the edge of root in edges.
func xorEdge(edges []acker.Edge, root, id uint64) []acker.Edge {
	for i := range edges {
		if edges[i].Root == root {
			edges[i].ID ^= id
			return edges
		}
	}
	return append(edges, acker.Edge{Root: root, ID: id})
}

func (c *boltCollector) Ack(t topology.Tuple) {
	in := c.input(t)
	an, edges := anchorOf(t)
	var sampled int64
	c.mu.Lock()
	if an != nil {
		children := an.Children()
		for _, e := range edges {
			at := c.w.ackerFor(e.Root)
			c.put(at, &message{kind: kindAck, task: int32(at), root: e.Root, val: e.ID ^ children})
		}
		sampled = c.sampledAt(an)
	}
	c.countInput(in, false)
	c.mu.Unlock()
	if sampled != 0 {
		in.process.ObserveDuration(time.Duration(time.Now().UnixNano() - sampled))
	}
}

func (c *boltCollector) Fail(t topology.Tuple) {
	in := c.input(t)
	c.mu.Lock()
	if an, _ := anchorOf(t); an != nil {
		c.sampledAt(an) // a failed tuple's process latency is not measured
	}
	c.notify(t, kindFail)
	c.countInput(in, true)
	c.mu.Unlock()
}

func (c *boltCollector) ResetTimeout(t topology.Tuple) {
	c.mu.Lock()
	c.notify(t, kindReset)
	c.mu.Unlock()
}

// notify tells the ackers of t's trees about it; mu is held.
func (c *boltCollector) notify(t topology.Tuple, k kind) {
	_, edges := anchorOf(t)
	for _, e := range edges {
		at := c.w.ackerFor(e.Root)
		c.put(at, &message{kind: k, task: int32(at), root: e.Root})
	}
}

func (c *boltCollector) ReportError(err error) { c.w.reportError(c.comp, c.task, err) }

func (c *boltCollector) input(t topology.Tuple) *counters {
	p := &c.inputs[t.Source().StreamIndex]
	if in := p.Load(); in != nil {
		return in
	}
	s := c.w.streams[t.Source().StreamIndex]
	p.CompareAndSwap(nil, inputCounters(c.m, s.component+":"+s.stream))
	return p.Load()
}
