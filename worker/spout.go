package worker

import (
	"fmt"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/squallstream/squall/shell"
	"github.com/squallstream/squall/topology"
)

// spoutTask is one task of a spout executor.
type spoutTask struct {
	id    int
	spout topology.Spout
	out   *spoutCollector
	ctx   *topology.TaskContext
	// pending counts the task's tuples in the executor's pending table,
	// for topology.max.spout.pending; it is read without the table's lock.
	pending atomic.Int64
	// fullSince is when the task reached topology.max.spout.pending, 0
	// while below it (max-spout-pending-time; metrics_flow.go).
	fullSince int64
}

// spoutExecutor runs the tasks of one spout executor on one goroutine:
// it calls Next while the topology is active and the task has room under
// topology.max.spout.pending, delivers acks and fails, and times out
// tuples that took longer than topology.message.timeout.secs.
type spoutExecutor struct {
	w     *Worker
	comp  *topology.Component
	exec  topology.Executor
	tasks []*spoutTask
	inbox *queue
	// wait is how the executor idles when Next emits nothing,
	// backpressure how when a queue refused its tasks' emits.
	wait, backpressure waitStrategy

	maxPending int           // 0: unlimited
	timeout    time.Duration // 0: no timeouts
	// clock is a coarse monoNow reading, refreshed by the executor every
	// few rounds, for the start of pending tuples' timeouts: reading the
	// clock at every emit costs more than the rest of the emit on some
	// machines.
	clock atomic.Int64
	// outcomes is the executor's scratch space for a batch of notes.
	outcomes []outcome
	// outcomeStats tallies the acks and fails of the tasks' streams.
	outcomeStats tally

	stop chan struct{}
	done chan struct{}
}

func (w *Worker) newSpoutExecutor(comp *topology.Component, ex topology.Executor) (*spoutExecutor, error) {
	conf := w.componentConfig(comp)
	wait, err := newWaitStrategy(conf, topology.WaitSpout)
	if err != nil {
		return nil, fmt.Errorf("spout %q: %w", comp.ID, err)
	}
	bp, err := newWaitStrategy(conf, topology.WaitBackpressure)
	if err != nil {
		return nil, fmt.Errorf("spout %q: %w", comp.ID, err)
	}
	x := &spoutExecutor{
		w: w, comp: comp, exec: ex,
		wait: wait, backpressure: bp,
		inbox:      newQueue(conf.Int(topology.KeyExecutorReceiveBufferSize, 32768)),
		maxPending: max(conf.Int(topology.KeyMaxSpoutPending, 0), 0),
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
	}
	if conf.Bool(topology.KeyEnableMessageTimeouts, true) {
		x.timeout = conf.Seconds(topology.KeyMessageTimeoutSecs, 30*time.Second)
	}
	for _, id := range ex.Tasks() {
		ctx := w.taskContext(comp, id)
		routes, err := w.routesFor(ctx, comp, id)
		if err != nil {
			return nil, fmt.Errorf("spout %q task %d: %w", comp.ID, id, err)
		}
		var sp topology.Spout
		switch {
		case comp.Shell != nil:
			sp = shell.NewSpout(comp.Shell, w.cfg.Shell)
		case comp.IsCheckpointSpout():
			sp = &checkpointSpout{w: w, comp: comp, task: id}
		default:
			if sp, err = comp.Go.NewSpout(); err != nil {
				return nil, fmt.Errorf("spout %q task %d: %w", comp.ID, id, err)
			}
		}
		t := &spoutTask{id: id, spout: sp, ctx: ctx}
		t.out = &spoutCollector{emitter: emitter{w: w, task: id, comp: comp.ID, m: w.metrics.Task(comp.ID, id), routes: routes, batching: true, spout: true, backpressure: bp},
			x: x, t: t, sample: newSampler(conf.Float(topology.KeyStatsSampleRate, 0.05))}
		x.tasks = append(x.tasks, t)
		w.addLocal(id, x.inbox)
	}
	w.queueMetrics(comp.ID, ex, x.inbox)
	return x, nil
}

func (x *spoutExecutor) open() error {
	for _, t := range x.tasks {
		if err := t.spout.Open(t.ctx, t.out); err != nil {
			return fmt.Errorf("open spout %q task %d: %w", x.comp.ID, t.id, err)
		}
	}
	return nil
}

// clockRounds is how many rounds of the spout loop pass between reads of
// the clock while the spout is busy.
const clockRounds = 64

// flushRounds is how many rounds a busy spout executor lets its Go tasks'
// emits wait before pushing them on.
const flushRounds = 16

func (x *spoutExecutor) run() {
	defer close(x.done)
	defer x.flush(true)
	var (
		buf     []message
		active  bool
		idle    int // rounds in a row that did nothing
		expired []pendingTuple
		rounds  int
		timer   = time.NewTimer(time.Hour)
	)
	defer timer.Stop()
	x.clock.Store(monoNow())
	nextExpiry := x.clock.Load() + int64(x.expiryInterval())
	for {
		select {
		case <-x.stop:
			if active {
				x.setActive(false)
			}
			x.closeTasks()
			return
		default:
		}
		if want := x.w.active.Load(); want != active {
			active = want
			x.setActive(active)
		}
		// A busy spout comes here once per Next: it looks at the inbox's
		// size before taking its lock, which the acker needs to push.
		var batch []message
		if x.inbox.size.Load() > 0 {
			batch = x.inbox.take(buf)
		}
		if batch != nil {
			x.handle(batch)
			buf = batch
		}
		// The clock is read every so many rounds: reading it costs more
		// than a round of a fast spout.
		if rounds++; rounds%clockRounds == 0 || idle > 0 {
			now := monoNow()
			x.clock.Store(now)
			if now > nextExpiry {
				expired = x.expire(now, expired[:0])
				for _, p := range expired {
					x.fail(p, true)
				}
				x.outcomeStats.flush()
				clear(expired)
				nextExpiry = now + int64(x.expiryInterval())
			}
		}
		// A task whose emits a queue refused is not asked for more until
		// they went; the executor goes on with acks, fails and timeouts.
		emitted, stalled, asked := false, false, false
		if active {
			for _, t := range x.tasks {
				if t.out.stalled.Load() {
					stalled = true
					continue
				}
				if x.maxPending > 0 && t.pending.Load() >= int64(x.maxPending) {
					t.atMaxPending(x.clock.Load())
					continue
				}
				if t.fullSince != 0 {
					t.belowMaxPending(x.clock.Load())
				}
				asked = true
				before := t.out.emits.Load()
				x.next(t)
				emitted = emitted || t.out.emits.Load() != before
			}
		}
		if (emitted || batch != nil) && !stalled {
			idle = 0
			if rounds%flushRounds == 0 {
				x.flush(false)
			}
			continue
		}
		// Nothing to do, or no room: push what waits, then wait as the
		// situation's strategy says, waking early for acks and fails,
		// for room, for a change of activation and for the stop.
		x.flush(false)
		n := idle
		idle++
		var room <-chan struct{}
		sleep := time.Duration(-1) // none: until something happens
		switch {
		case !active:
			// Nothing to poll until the topology is activated.
		case stalled:
			if !x.backpressure.park(n) {
				x.backpressure.pause(n)
				continue
			}
			if room = x.waitRoom(); room == nil {
				continue // the flush made room
			}
		case !asked:
			// Every task is at topology.max.spout.pending: acks wake it.
		default:
			// Next emitted nothing: the spout wait strategy. (A shell
			// spout's child need not sleep itself.)
			if !x.wait.park(n) {
				x.wait.pause(n)
				continue
			}
			sleep = x.wait.sleep
		}
		if x.timeout > 0 && x.pendingCount() > 0 {
			// Pending tuples time out while nothing else happens.
			untilExpiry := max(time.Duration(nextExpiry-monoNow()), 0)
			if sleep < 0 || untilExpiry < sleep {
				sleep = untilExpiry
			}
		}
		activation := x.w.activationChange()
		if x.w.active.Load() != active {
			continue
		}
		var wake <-chan time.Time
		if sleep >= 0 {
			timer.Reset(sleep)
			wake = timer.C
		}
		select {
		case <-x.inbox.waitReady():
		case <-room:
		case <-activation:
		case <-wake:
		case <-x.stop:
		}
		timer.Stop()
	}
}

// waitRoom returns a channel that is closed when a queue that refused a
// task's emits may take them now; nil if none refused any.
func (x *spoutExecutor) waitRoom() <-chan struct{} {
	for _, t := range x.tasks {
		q, task := t.out.stuckQueue()
		switch {
		case q == nil:
		case q.gate != nil && q.len() < q.limit:
			// A lane to another worker with room: a congested task of
			// that worker held the emits back.
			return q.gate.waitRelease(task)
		default:
			return q.waitRoom()
		}
	}
	return nil
}

// expiryInterval is how often pending tuples are checked for timeouts: a
// tuple fails between one and one and a quarter timeouts after it started.
// The pending table shrinks then too, after a burst.
func (x *spoutExecutor) expiryInterval() time.Duration {
	if x.timeout == 0 {
		return 10 * time.Second
	}
	return max(x.timeout/4, time.Millisecond)
}

func (x *spoutExecutor) flush(stop bool) {
	for _, t := range x.tasks {
		t.out.flush(stop)
	}
}

// expire removes the tuples of every task that timed out, and returns
// them; each task's table shrinks then if a burst left it mostly empty.
func (x *spoutExecutor) expire(now int64, expired []pendingTuple) []pendingTuple {
	for _, t := range x.tasks {
		t.out.mu.Lock()
		if x.timeout > 0 {
			expired = t.out.pending.expire(now, x.timeout, expired)
		} else {
			t.out.pending.shrink()
		}
		t.out.mu.Unlock()
	}
	return expired
}

func (x *spoutExecutor) pendingCount() int64 {
	var n int64
	for _, t := range x.tasks {
		n += t.pending.Load()
	}
	return n
}

// outcome is a pending tuple that completed or failed.
type outcome struct {
	p      pendingTuple
	failed bool
}

// handle delivers a batch of notes to the tasks, locking each task's
// pending table once for a run of notes for it.
func (x *spoutExecutor) handle(batch []message) {
	done := x.outcomes[:0]
	var locked *spoutTask
	for i := range batch {
		m := &batch[i]
		if locked == nil || int32(locked.id) != m.task {
			if locked != nil {
				locked.out.mu.Unlock()
			}
			if locked = x.task(m.task); locked == nil {
				continue
			}
			locked.out.mu.Lock()
		}
		switch m.kind {
		case kindComplete, kindFailed:
			if p, ok := locked.out.pending.take(m.root); ok {
				done = append(done, outcome{p, m.kind == kindFailed})
			}
		case kindResetTimeout:
			locked.out.pending.reset(m.root, monoNow())
		}
	}
	if locked != nil {
		locked.out.mu.Unlock()
	}
	for i := range done {
		if p := &done[i].p; done[i].failed {
			x.fail(*p, false)
		} else {
			x.call(p.task, "Ack", func() { p.task.spout.Ack(p.msgID) })
			x.outcomeStats.to(p.stream.stats).acked++
			if p.emitted != 0 {
				p.stream.stats.complete.ObserveDuration(time.Duration(monoNow() - p.emitted))
			}
		}
	}
	x.outcomeStats.flush()
	clear(done)
	x.outcomes = done
}

// task returns the executor's task id, nil if it has none of that id.
func (x *spoutExecutor) task(id int32) *spoutTask {
	for _, t := range x.tasks {
		if int32(t.id) == id {
			return t
		}
	}
	return nil
}

// fail tells a task that its tuple failed; the caller flushes
// outcomeStats.
func (x *spoutExecutor) fail(p pendingTuple, timedOut bool) {
	t := p.task
	x.call(t, "Fail", func() { t.spout.Fail(p.msgID) })
	x.outcomeStats.to(p.stream.stats).failed++
	if timedOut {
		x.w.timedOut.Add(1)
	}
}

func (x *spoutExecutor) next(t *spoutTask) { x.call(t, "Next", t.spout.Next) }

// call runs a method of a task's spout; a panic is reported as an error
// of the component and the task goes on, as a Go bolt's does.
func (x *spoutExecutor) call(t *spoutTask, method string, f func()) {
	defer func() {
		if r := recover(); r != nil {
			t.out.ReportError(fmt.Errorf("spout %s panicked: %v\n%s", method, r, debug.Stack()))
		}
	}()
	f()
}

func (x *spoutExecutor) setActive(active bool) {
	for _, t := range x.tasks {
		if a, ok := t.spout.(topology.Activator); ok {
			if active {
				x.call(t, "Activate", a.Activate)
			} else {
				x.call(t, "Deactivate", a.Deactivate)
			}
		}
	}
}

// interrupt begins stopping the executor's shell spouts, all at once: one
// blocked in a round trip with its child returns.
func (x *spoutExecutor) interrupt() {
	for _, t := range x.tasks {
		if s, ok := t.spout.(stopper); ok {
			s.Stop()
		}
	}
}

func (x *spoutExecutor) closeTasks() {
	for _, t := range x.tasks {
		x.call(t, "Close", t.spout.Close)
	}
}
