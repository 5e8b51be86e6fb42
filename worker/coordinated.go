package worker

import (
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/squallstream/squall/drpc/coord"
	"github.com/squallstream/squall/shell"
	"github.com/squallstream/squall/topology"
)

// Request coordination for the bolts of a `drpc:` chain (Storm's
// CoordinatedBolt): a wrapper between the executor and the bolt, Go or
// shell, that counts what each task sends of each request, reports the
// counts on topology.CoordStream once the request is complete, holds the
// reports' acks until then, and lets the bolt finish the request. The
// bookkeeping is package coord's; this is its I/O shell.

// coordinate wraps b, a task of comp, when comp is coordinated. deliver
// hands a tuple to the task through its executor's inbox.
func (w *Worker) coordinate(comp *topology.Component, b topology.Bolt, deliver func(topology.Tuple)) topology.Bolt {
	if comp.Coordination == nil {
		return b
	}
	src := &topology.Source{Component: topology.CoordinatorComponent, Task: topology.SystemTaskID,
		Stream: topology.FinishBatchStream, Fields: topology.NewFields("request"), StreamIndex: w.tickSource.StreamIndex}
	c := &coordinatedBolt{inner: b, spec: comp.Coordination, deliver: deliver, finishSrc: src}
	if h, ok := b.(healthReporter); ok {
		return coordinatedHosted{c, h}
	}
	return c
}

// coordinatedHosted is a coordinated shell bolt, which reports on its child.
type coordinatedHosted struct {
	*coordinatedBolt
	h healthReporter
}

func (c coordinatedHosted) Health() shell.Health { return c.h.Health() }

type coordinatedBolt struct {
	inner     topology.Bolt
	spec      *topology.Coordination
	deliver   func(topology.Tuple)
	finishSrc *topology.Source
	out       topology.BoltCollector
	// outTasks are the tasks every finished request's counts go to;
	// counted are the streams the next bolt of the chain reads, whose
	// emits are counted.
	outTasks []int
	counted  map[string]bool
	now      func() time.Time

	// mu guards tr and finishing, and orders the tracker's view of emits
	// with the collector's.
	mu sync.Mutex
	tr *coord.Tracker[topology.Tuple]
	// finishing is the request a Go bolt's FinishBatch is finishing, nil
	// otherwise: its unanchored emits are anchored to the request.
	finishing any
}

func (b *coordinatedBolt) Prepare(ctx *topology.TaskContext, out topology.BoltCollector) error {
	b.out, b.now = out, time.Now
	spec := coord.Spec{
		WaitID:  b.spec.IDFrom != "",
		Timeout: time.Duration(ctx.Config.Int(topology.KeyMessageTimeoutSecs, 30)) * time.Second,
	}
	switch b.spec.SourceReports {
	case topology.ReportsSingle:
		spec.Reports = 1
	case topology.ReportsAll:
		spec.Reports = len(ctx.Tasks.Tasks(b.spec.Source))
	}
	next := map[string]bool{}
	for _, s := range ctx.Topology.Subscribers(ctx.ComponentID, topology.CoordStream) {
		b.outTasks = append(b.outTasks, ctx.Tasks.Tasks(s.Component)...)
		next[s.Component] = true
	}
	// Only what goes to the next bolt is counted: a side stream (to a
	// bolt outside the chain) must not open entries that never finish.
	b.counted = map[string]bool{}
	for _, out := range ctx.Component().Outputs {
		for _, s := range ctx.Topology.Subscribers(ctx.ComponentID, out.ID) {
			if next[s.Component] && out.ID != topology.CoordStream {
				b.counted[out.ID] = true
			}
		}
	}
	b.tr = coord.New[topology.Tuple](spec)
	return b.inner.Prepare(ctx, &coordCollector{b: b})
}

// requestKey is a tuple's request id as a map key: strings as they are,
// anything else (a number a child sent back, say) printed.
func requestKey(t topology.Tuple) (any, bool) {
	if t.Len() == 0 {
		return nil, false
	}
	switch v := t.Value(0).(type) {
	case string:
		return v, true
	case nil:
		return nil, false
	default:
		return fmt.Sprint(v), true
	}
}

func (b *coordinatedBolt) Execute(t topology.Tuple) {
	if t.Source() == b.finishSrc {
		b.finish(t)
		return
	}
	id, ok := requestKey(t)
	kind := coord.Regular
	switch {
	case !ok || t.IsTick():
	case t.SourceStream() == topology.CoordStream && t.SourceComponent() == b.spec.Source:
		kind = coord.Report
	case b.spec.IDFrom != "" && t.SourceStream() == topology.IDStream && t.SourceComponent() == b.spec.IDFrom:
		kind = coord.ID
	}
	if kind == coord.Regular {
		b.expire()
		b.inner.Execute(t)
		return
	}
	var count int64
	if kind == coord.Report {
		if t.Len() < 2 {
			b.out.Fail(t)
			return
		}
		count = toInt64(t.Value(1))
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.apply(b.tr.Received(id, kind, count, t, b.now()))
}

func toInt64(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case int:
		return int64(n)
	case int32:
		return int64(n)
	case uint64:
		return int64(n)
	case float64:
		return int64(n)
	}
	return 0
}

// expire fails what requests that never finished held.
func (b *coordinatedBolt) expire() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, t := range b.tr.Expire(b.now()) {
		b.out.Fail(t)
	}
}

// apply carries out a decision; mu is held.
func (b *coordinatedBolt) apply(d coord.Decision[topology.Tuple]) {
	for _, t := range d.Ack {
		b.out.Ack(t)
	}
	for _, t := range d.Fail {
		b.out.Fail(t)
	}
	if d.Ready == nil {
		return
	}
	if !b.spec.FinishBatch {
		b.complete(d.Ready)
		return
	}
	// FinishBatch runs on the executor's goroutine, after what it has
	// queued; a shell bolt's child gets the tuple itself.
	b.deliver(topology.NewTuple(b.finishSrc, []any{d.Ready}, nil))
}

// complete reports a finished request's counts downstream and acks what
// it held; mu is held.
func (b *coordinatedBolt) complete(id any) {
	f := b.tr.Finished(id)
	for _, task := range b.outTasks {
		b.out.EmitDirect(task, topology.CoordStream, f.Held, []any{id, f.Counts[task]})
	}
	for _, t := range f.Held {
		b.out.Ack(t)
	}
	if fl, ok := b.out.(shell.Flusher); ok {
		fl.Flush()
	}
}

// abort fails a request whose finish failed; mu is held.
func (b *coordinatedBolt) abort(id any) {
	for _, t := range b.tr.Abort(id) {
		b.out.Fail(t)
	}
}

// finish runs on the executor's goroutine when a request of a bolt that
// finishes batches is complete.
func (b *coordinatedBolt) finish(t topology.Tuple) {
	id := t.Value(0)
	if f, ok := b.inner.(topology.BatchFinisher); ok {
		b.mu.Lock()
		b.finishing = id
		b.mu.Unlock()
		err := b.safeFinish(f, id)
		b.mu.Lock()
		defer b.mu.Unlock()
		b.finishing = nil
		if err != nil {
			b.out.ReportError(err)
			b.abort(id)
			return
		}
		b.complete(id)
		return
	}
	// A shell bolt: its child's ack of t completes the request (see
	// coordCollector.Ack), its fail aborts it.
	b.inner.Execute(t)
}

func (b *coordinatedBolt) safeFinish(f topology.BatchFinisher, id any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("FinishBatch(%v) panicked: %v\n%s", id, r, debug.Stack())
		}
	}()
	f.FinishBatch(id)
	return nil
}

func (b *coordinatedBolt) Cleanup() { b.inner.Cleanup() }

// Stop passes the engine's stop on to a shell bolt.
func (b *coordinatedBolt) Stop() {
	if s, ok := b.inner.(stopper); ok {
		s.Stop()
	}
}

// coordCollector is the collector a coordinated bolt sees: it counts
// emits per request and target task, and turns acks and fails into the
// tracker's events.
type coordCollector struct{ b *coordinatedBolt }

// anchors replaces a finish tuple among anchors (a shell child anchors
// its finish_batch emits to it) with the tuples its request holds, and
// anchors a Go bolt's unanchored FinishBatch emits the same way; mu is
// held.
func (c *coordCollector) anchors(anchors []topology.Tuple) []topology.Tuple {
	b := c.b
	for i, a := range anchors {
		if a.Source() == b.finishSrc {
			out := append(append([]topology.Tuple(nil), anchors[:i]...), anchors[i+1:]...)
			if id, ok := requestKey(a); ok {
				out = append(out, b.tr.Held(id)...)
			}
			return out
		}
	}
	if len(anchors) == 0 && b.finishing != nil {
		return b.tr.Held(b.finishing)
	}
	return anchors
}

func (c *coordCollector) Emit(stream string, anchors []topology.Tuple, values []any) []int {
	b := c.b
	b.mu.Lock()
	defer b.mu.Unlock()
	tasks := b.out.Emit(stream, c.anchors(anchors), values)
	if len(values) > 0 && b.counted[stream] {
		if id, ok := requestKey(topology.NewTuple(nil, values, nil)); ok {
			b.tr.Emitted(id, tasks, b.now())
		}
	}
	return tasks
}

func (c *coordCollector) EmitDirect(task int, stream string, anchors []topology.Tuple, values []any) {
	b := c.b
	b.mu.Lock()
	defer b.mu.Unlock()
	b.out.EmitDirect(task, stream, c.anchors(anchors), values)
	if len(values) > 0 && b.counted[stream] {
		if id, ok := requestKey(topology.NewTuple(nil, values, nil)); ok {
			b.tr.Emitted(id, []int{task}, b.now())
		}
	}
}

func (c *coordCollector) Ack(t topology.Tuple) {
	b := c.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if t.Source() == b.finishSrc {
		b.complete(t.Value(0))
		return
	}
	id, ok := requestKey(t)
	if !ok || t.IsTick() {
		b.out.Ack(t)
		return
	}
	b.apply(b.tr.Acked(id, t, b.now()))
}

func (c *coordCollector) Fail(t topology.Tuple) {
	b := c.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if t.Source() == b.finishSrc {
		b.abort(t.Value(0))
		return
	}
	id, ok := requestKey(t)
	if !ok || t.IsTick() {
		b.out.Fail(t)
		return
	}
	b.apply(b.tr.Failed(id, t, b.now()))
}

func (c *coordCollector) ResetTimeout(t topology.Tuple) {
	if t.Source() != c.b.finishSrc {
		c.b.out.ResetTimeout(t)
	}
}

func (c *coordCollector) ReportError(err error) { c.b.out.ReportError(err) }

// Flush and RecordMetric pass on what a shell bolt's host asks of the
// worker's collector.
func (c *coordCollector) Flush() {
	if f, ok := c.b.out.(shell.Flusher); ok {
		f.Flush()
	}
}

func (c *coordCollector) RecordMetric(name string, value any) {
	if r, ok := c.b.out.(shell.MetricsRecorder); ok {
		r.RecordMetric(name, value)
	}
}
