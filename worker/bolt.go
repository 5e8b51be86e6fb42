package worker

import (
	"fmt"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/squallstream/squall/shell"
	"github.com/squallstream/squall/topology"
)

type boltTask struct {
	id   int
	bolt topology.Bolt
	out  *boltCollector
	ctx  *topology.TaskContext
	// batched is set for Go bolts: what they send while the executor works
	// through a batch waits for its flush. A shell bolt's emits come from
	// its child's reader goroutine and go out at once.
	batched bool
}

// boltExecutor runs the tasks of one bolt executor on one goroutine,
// executing the tuples of its queue in batches.
type boltExecutor struct {
	w     *Worker
	comp  *topology.Component
	exec  topology.Executor
	tasks []*boltTask
	byID  map[int32]*boltTask
	inbox *queue
	// barriers is the lane of the checkpoint spout's barriers in a
	// stateful topology, taken ahead of the inbox (barrierlane.go); nil
	// otherwise.
	barriers *queue
	// wait is how the executor idles with an empty queue.
	wait   waitStrategy
	sample sampler
	tick   time.Duration // 0: no tick tuples
	// busy is the time spent executing (sampled executes scaled up).
	busy atomic.Int64
	// executed tallies the tuples executed per task and input stream;
	// only the executor's goroutine uses it.
	executed tally

	stop chan struct{}
	done chan struct{}
}

func (w *Worker) newBoltExecutor(comp *topology.Component, ex topology.Executor) (*boltExecutor, error) {
	conf := w.componentConfig(comp)
	wait, err := newWaitStrategy(conf, topology.WaitBolt)
	if err != nil {
		return nil, fmt.Errorf("bolt %q: %w", comp.ID, err)
	}
	bp, err := newWaitStrategy(conf, topology.WaitBackpressure)
	if err != nil {
		return nil, fmt.Errorf("bolt %q: %w", comp.ID, err)
	}
	x := &boltExecutor{
		wait: wait,
		w:    w, comp: comp, exec: ex,
		byID:   map[int32]*boltTask{},
		inbox:  newQueue(conf.Int(topology.KeyExecutorReceiveBufferSize, 32768)),
		sample: newSampler(conf.Float(topology.KeyStatsSampleRate, 0.05)),
		tick:   conf.Seconds(topology.KeyTickTupleFreqSecs, 0),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	for _, id := range ex.Tasks() {
		ctx := w.taskContext(comp, id)
		routes, err := w.routesFor(ctx, comp, id)
		if err != nil {
			return nil, fmt.Errorf("bolt %q task %d: %w", comp.ID, id, err)
		}
		var b topology.Bolt
		switch {
		case comp.Shell != nil:
			b = shell.NewBolt(comp.Shell, w.cfg.Shell)
		default:
			if b, err = comp.Go.NewBolt(); err != nil {
				return nil, fmt.Errorf("bolt %q task %d: %w", comp.ID, id, err)
			}
		}
		inbox, task := x.inbox, int32(id)
		b = w.coordinate(comp, b, func(t topology.Tuple) {
			inbox.pushNow(&message{kind: kindTuple, task: task, tuple: t})
		})
		t := &boltTask{id: id, bolt: b, ctx: ctx, batched: comp.Shell == nil,
			out: &boltCollector{emitter: emitter{w: w, task: id, comp: comp.ID, m: w.metrics.Task(comp.ID, id), routes: routes, batching: comp.Shell != nil, backpressure: bp},
				inputs: make([]atomic.Pointer[counters], w.numStreams)}}
		if t.bolt, err = x.windowed(t); err != nil {
			return nil, fmt.Errorf("bolt %q task %d: %w", comp.ID, id, err)
		}
		if t.bolt, err = x.stateful(t); err != nil {
			return nil, fmt.Errorf("bolt %q task %d: %w", comp.ID, id, err)
		}
		x.tasks = append(x.tasks, t)
		x.byID[int32(id)] = t
		w.addLocal(id, x.inbox)
		w.addBarrierLane(x, id)
	}
	w.queueMetrics(comp.ID, ex, x.inbox)
	return x, nil
}

func (x *boltExecutor) prepare() error {
	for _, t := range x.tasks {
		if err := t.bolt.Prepare(t.ctx, t.out); err != nil {
			return fmt.Errorf("prepare bolt %q task %d: %w", x.comp.ID, t.id, err)
		}
	}
	return nil
}

func (x *boltExecutor) run() {
	defer close(x.done)
	defer x.cleanup()
	var buf []message
	p := parker{bufs: []*[]message{&buf}}
	lanes := x.lanes()
	for {
		x.runBarriers()
		batch := x.inbox.take(buf)
		if batch == nil {
			if !p.await(&x.wait, x.stop, lanes...) {
				return
			}
			continue
		}
		x.startBatch()
		for i := range batch {
			x.runBarriers()
			if i%flushEvery == flushEvery-1 {
				select {
				case <-x.stop:
					x.flush(true)
					return
				default:
				}
				x.flush(false)
			}
			m := &batch[i]
			x.execute(x.byID[m.task], m.tuple)
		}
		x.flush(true)
		buf = batch
	}
}

// flushEvery is how many tuples a bolt executor executes between pushes of
// what its Go tasks sent.
const flushEvery = 64

func (x *boltExecutor) startBatch() {
	for _, t := range x.tasks {
		if t.batched {
			t.out.startBatch()
		}
	}
}

func (x *boltExecutor) flush(stop bool) {
	x.executed.flush()
	for _, t := range x.tasks {
		if t.batched {
			t.out.flush(stop)
		}
	}
}

// execute runs one tuple, measuring every n-th. A panic fails the tuple
// and is reported; the task goes on.
func (x *boltExecutor) execute(t *boltTask, tup topology.Tuple) {
	if tup.Source() == stateWakeSource {
		t.bolt.Execute(tup) // no input: the stateful task drains its acks
		return
	}
	in := t.out.input(tup)
	x.executed.to(in).executed++
	if !x.sample.sample() {
		x.safeExecute(t, tup)
		return
	}
	start := time.Now()
	an, _ := anchorOf(tup)
	if an != nil {
		t.out.beginSample(an, start.UnixNano())
	}
	x.safeExecute(t, tup)
	if an != nil {
		t.out.endSample()
	}
	d := time.Since(start)
	in.execute.ObserveDuration(d)
	x.busy.Add(int64(d) * int64(x.sample.every))
}

func (x *boltExecutor) safeExecute(t *boltTask, tup topology.Tuple) {
	defer func() {
		if r := recover(); r != nil {
			t.out.ReportError(fmt.Errorf("bolt %q task %d panicked executing %s: %v\n%s",
				x.comp.ID, t.id, describe(tup), r, debug.Stack()))
			t.out.Fail(tup)
		}
	}()
	t.bolt.Execute(tup)
}

func describe(t topology.Tuple) string {
	return fmt.Sprintf("a tuple from %s:%d on %q", t.SourceComponent(), t.SourceTask(), t.SourceStream())
}

// interrupt begins stopping the executor's shell tasks, all at once: a
// shell bolt's Execute waiting for its child returns, so the executor sees
// the stop. Go bolts are left to return on their own.
func (x *boltExecutor) interrupt() {
	for _, t := range x.tasks {
		if s, ok := t.bolt.(stopper); ok {
			s.Stop()
		}
	}
}

func (x *boltExecutor) cleanup() {
	for _, t := range x.tasks {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.out.ReportError(fmt.Errorf("bolt %q task %d panicked in Cleanup: %v", x.comp.ID, t.id, r))
				}
			}()
			t.bolt.Cleanup()
		}()
	}
}

// sendTicks delivers a tick tuple to every task of the executor every
// x.tick until the executor stops.
func (x *boltExecutor) sendTicks(src *topology.Source) {
	secs := x.tick.Seconds()
	var value any = secs
	if secs == float64(int64(secs)) {
		value = int64(secs)
	}
	tick := time.NewTicker(x.tick)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			for _, t := range x.tasks {
				x.inbox.pushNow(&message{kind: kindTuple, task: int32(t.id), tuple: topology.NewTuple(src, []any{value}, nil)})
			}
		case <-x.stop:
			return
		}
	}
}
