package worker

import (
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/squallstream/squall/metrics"
	"github.com/squallstream/squall/shell"
	"github.com/squallstream/squall/state"
	"github.com/squallstream/squall/state/checkpoint"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/topology/builtin"
)

// A bolt of a stateful topology (docs/windowing-and-state.md): every task
// is wrapped in a statefulBolt, which runs the checkpoint protocol's core
// (checkpoint.Bolt) on the executor's goroutine. Barriers arrive on the
// checkpoint stream, on the data path, in order with the data tuples of
// the same source task; the core collects them, prepares, commits or rolls
// back the task's state and forwards them. A stateful task's acks are held
// until the commit that includes their tuples; a bolt without state
// forwards barriers and acks at once.
//
// The bolt's acks and fails go through the core too. A shell child's come
// from its reader goroutine, and a Go bolt may ack from any goroutine,
// while the core is single-threaded: they are queued under a mutex and the
// executor drains the queue after every call into the bolt, and when woken
// by a message on its inbox.

// stateWakeSource marks the message that wakes a stateful task's executor
// to drain acks and fails that came from other goroutines.
var stateWakeSource = &topology.Source{Component: topology.SystemComponent, Task: topology.SystemTaskID,
	Stream: "__state_wake", Fields: topology.NewFields()}

// A stateful task's metrics (docs/windowing-and-state.md).
const (
	MetricCheckpointDuplicates    = "checkpoint-duplicates"
	MetricCheckpointBuffered      = "checkpoint-buffered"
	MetricCheckpointOverflowed    = "checkpoint-overflowed"
	MetricCheckpointStaleBarriers = "checkpoint-stale-barriers"
	MetricStateCommitMs           = "state-commit-ms"
	MetricStateEvictedIDs         = "state-evicted-ids"
)

// shellState is what a stateful shell bolt offers its host
// (shell/state.go): the task's state answers the child's state commands
// once INITSTATE reached the task; after a rollback the child's cache is
// reset; a child's death is reported so the task recovers.
type shellState interface {
	OpenState(s topology.KeyValueState)
	ResetState(txid int64) error
	OnChildLost(fn func())
}

// errNotStatefulBolt: a component is stateful but its Go bolt has no
// InitState.
var errNotStatefulBolt = errors.New("the component is stateful, but its Go bolt does not implement topology.StatefulBolt (InitState)")

// errShellStateMissing: a stateful shell bolt, but the shell host offers
// no state commands.
var errShellStateMissing = errors.New("the component is stateful, but this build's shell host has no state commands")

// errUnanchoredStateful: a stateful shell bolt emitted without anchors.
var errUnanchoredStateful = errors.New("a stateful bolt's emits must be anchored to its input (Storm's AnchoringOutputCollector); emit dropped")

type resolution struct {
	t      topology.Tuple
	failed bool
}

// statefulBolt runs one task of a bolt in a stateful topology.
type statefulBolt struct {
	inner topology.Bolt
	// goBolt is inner for a stateful Go bolt, shellSt for a stateful shell
	// bolt; both nil for a forwarder.
	goBolt  topology.StatefulBolt
	hooks   topology.CheckpointHooks
	shellSt shellState
	// stateful is set for a task with state (not a forwarder).
	stateful bool
	isShell  bool
	comp     string
	task     int
	out      *boltCollector
	wake     func()
	// open opens the task's state, at Prepare.
	open func() (*state.State, error)
	// win is inner for a stateful windowed bolt (statefulwindowed.go).
	win *windowedBolt

	cfg  checkpoint.BoltConfig
	core *checkpoint.Bolt[topology.Tuple]
	st   *state.State

	// Executor goroutine only: the tuple a Go bolt is executing (the
	// anchor of its unanchored emits), a rollback taken (by a barrier, or
	// by the drain of the acks it waited for), the stats already counted.
	current    *topology.Tuple
	rolledBack bool
	// lostAtRollback is lost when the rollback began: only a rollback
	// after the child's death restores the state without its writes.
	lostAtRollback bool
	lastStats      checkpoint.Stats
	commitMs       *metrics.Histogram
	// lost is set when a stateful shell bolt's child died: the task fails
	// barriers and holds input until the ROLLBACK that restores its state.
	lost atomic.Bool
	held []topology.Tuple
	// The task's metrics, set at Prepare.
	buffered *metrics.Gauge
	counters map[string]*metrics.Counter

	// calling is set while the executor is inside the core (and so maybe
	// inside the bolt): acks queued meanwhile are drained when it returns.
	calling atomic.Bool
	mu      sync.Mutex
	// queued are the bolt's acks and fails not yet given to the core;
	// guarded by mu.
	queued []resolution
	// spare is the drained queue's array, given back to queued; executor
	// goroutine only.
	spare []resolution
}

// stateful wraps task t's bolt for a stateful topology; other bolts are
// returned as they are.
func (x *boltExecutor) stateful(t *boltTask) (topology.Bolt, error) {
	w := x.w
	if !w.topo.Stateful() {
		return t.bolt, nil
	}
	var inputs []int
	for _, from := range x.comp.CheckpointInputs() {
		inputs = append(inputs, w.tasks.Tasks(from)...)
	}
	cc := w.checkpoints
	id := int32(t.id)
	b := &statefulBolt{
		inner: t.bolt, stateful: x.comp.Stateful, isShell: x.comp.Shell != nil,
		comp: x.comp.ID, task: t.id, out: t.out,
		wake: func() {
			x.inbox.pushNow(&message{kind: kindTuple, task: id, tuple: topology.NewTuple(stateWakeSource, nil, nil)})
		},
		cfg: checkpoint.BoltConfig{Inputs: inputs, ExactlyOnce: cc.ExactlyOnce, RetainTxids: cc.RetainTxids(),
			MaxSeen: cc.DedupMaxIDs, MaxBuffered: cc.MaxBuffered},
	}
	if b.stateful {
		comp := x.comp
		b.open = func() (*state.State, error) { return w.openState(comp, t.id) }
		if b.isShell {
			s, ok := unwindowed(t.bolt).(shellState)
			if !ok {
				return nil, errShellStateMissing
			}
			b.shellSt = s
			b.cfg.QuiesceRollback = true
		} else {
			g, ok := unwindowed(t.bolt).(topology.StatefulBolt)
			if !ok {
				return nil, errNotStatefulBolt
			}
			b.goBolt = g
			b.hooks, _ = unwindowed(t.bolt).(topology.CheckpointHooks)
		}
		if err := b.attachWindow(t.bolt, cc.ExactlyOnce); err != nil { // statefulwindowed.go
			return nil, err
		}
	}
	if b.isShell {
		return statefulShellBolt{b}, nil
	}
	return b, nil
}

func (b *statefulBolt) Prepare(ctx *topology.TaskContext, _ topology.BoltCollector) error {
	// User metrics of the task (built-in ones are the metrics package's
	// fixed list); a refused one stays nil and is skipped.
	m := b.out.m
	b.commitMs, _ = m.UserHistogram(MetricStateCommitMs)
	b.buffered, _ = m.UserGauge(MetricCheckpointBuffered)
	b.counters = map[string]*metrics.Counter{}
	for _, name := range []string{MetricCheckpointDuplicates, MetricCheckpointOverflowed, MetricCheckpointStaleBarriers, MetricStateEvictedIDs} {
		if c, err := m.UserCounter(name); err == nil {
			b.counters[name] = c
		}
	}
	if b.open != nil {
		st, err := b.open()
		if err != nil {
			return fmt.Errorf("stateful bolt %q task %d: %w", b.comp, b.task, err)
		}
		b.st = st
		b.cfg.State = st
	}
	core, err := checkpoint.NewBolt[topology.Tuple](b.cfg, host{b})
	if err != nil {
		return fmt.Errorf("stateful bolt %q task %d: %w", b.comp, b.task, err)
	}
	b.core = core
	if err := b.inner.Prepare(ctx, &statefulCollector{boltCollector: b.out, b: b}); err != nil {
		return err
	}
	if b.shellSt != nil {
		// After the shell bolt's Prepare, which creates what holds the
		// callback (registered before, it was dropped and a child's death
		// went unnoticed). No child can have written state before: its
		// state commands wait for INITSTATE, which comes through Execute.
		b.shellSt.OnChildLost(func() {
			b.lost.Store(true)
			b.wake()
		})
	}
	return nil
}

func (b *statefulBolt) Cleanup() {
	b.inner.Cleanup()
	if b.st != nil {
		b.st.Close()
	}
}

// Execute hands a barrier or a data tuple to the core, or drains what the
// bolt acked and failed meanwhile.
func (b *statefulBolt) Execute(t topology.Tuple) {
	switch {
	case t.Source() == stateWakeSource:
	case b.win != nil && t.IsTick():
		b.call(func() { b.inner.Execute(t) }) // time passing for the windows: no tuple of the core
	case t.SourceStream() == topology.CheckpointStream:
		b.barrier(t)
	case b.lost.Load():
		b.held = append(b.held, t) // until the rollback that restores the state
	default:
		b.call(func() { b.core.Tuple(t, b.meta(t)) })
	}
	b.drain()
	b.resume()
	b.settled()
}

func (b *statefulBolt) barrier(t topology.Tuple) {
	bar, err := builtin.ParseBarrier(t)
	if err != nil {
		b.out.ReportError(fmt.Errorf("stateful bolt %q task %d: %s: %w", b.comp, b.task, describe(t), err))
		b.out.Fail(t)
		return
	}
	if b.lost.Load() && bar.Action == checkpoint.Prepare {
		// The dead child's writes for tuples it never acked are in the
		// transaction: it must not be prepared. Failing the barrier makes
		// the checkpoint spout roll back (a commit in progress, of what
		// was prepared before, still goes through).
		b.out.Fail(t)
		return
	}
	start := time.Now()
	b.call(func() { b.core.Barrier(t, t.SourceTask(), bar) })
	if (bar.Action == checkpoint.Commit || bar.Action == checkpoint.Prepare) && b.commitMs != nil {
		b.commitMs.Observe(float64(time.Since(start)) / float64(time.Millisecond))
	}
}

// resume runs, once a rollback was taken, the input a task whose child
// died held: the state is back at the last commit, the held acks were
// failed, the child's cache was reset.
func (b *statefulBolt) resume() {
	if !b.rolledBack {
		return
	}
	b.rolledBack = false
	if b.lostAtRollback && b.lost.CompareAndSwap(true, false) {
		held := b.held
		b.held = nil
		for _, t := range held {
			b.call(func() { b.core.Tuple(t, b.meta(t)) })
		}
	}
}

// call runs f, a call into the core, with calling set.
func (b *statefulBolt) call(f func()) {
	b.calling.Store(true)
	f()
	b.calling.Store(false)
}

// drain gives the core the acks and fails queued since the last drain,
// until none is left.
func (b *statefulBolt) drain() {
	for {
		b.mu.Lock()
		q := b.queued
		b.queued = b.spare[:0]
		b.mu.Unlock()
		if len(q) == 0 {
			b.spare = q
			return
		}
		b.call(func() {
			if b.lost.Load() {
				// Among q are the dead child's tuples, failed after it
				// wrote their effects (the shell host sets lost before it
				// fails them): a PREPARE waiting for them must fail, not
				// prepare those writes once they are resolved.
				b.core.AbortPrepare()
			}
			for _, r := range q {
				if r.failed {
					b.core.Failed(r.t, b.meta(r.t))
				} else {
					b.core.Acked(r.t)
				}
			}
		})
		clear(q)
		b.spare = q
	}
}

// resolve queues the bolt's ack or fail of t; from another goroutine than
// the executor's, it wakes the executor. One wake-up drains the whole
// queue, so only the resolution that finds it empty wakes: a shell child
// acks in bursts, and a wake-up per ack cost an inbox message per tuple.
func (b *statefulBolt) resolve(t topology.Tuple, failed bool) {
	b.mu.Lock()
	first := len(b.queued) == 0
	b.queued = append(b.queued, resolution{t, failed})
	b.mu.Unlock()
	if first && !b.calling.Load() {
		b.wake()
	}
}

// settled counts what the core did, and pushes what a shell task sent.
func (b *statefulBolt) settled() {
	s := b.core.Stats()
	add := func(name string, now, before int) {
		if c := b.counters[name]; c != nil && now > before {
			c.Add(int64(now - before))
		}
	}
	add(MetricCheckpointDuplicates, s.Duplicates, b.lastStats.Duplicates)
	add(MetricCheckpointOverflowed, s.Overflowed, b.lastStats.Overflowed)
	add(MetricCheckpointStaleBarriers, s.StaleBarriers, b.lastStats.StaleBarriers)
	add(MetricStateEvictedIDs, s.EvictedIDs, b.lastStats.EvictedIDs)
	b.lastStats = s
	if b.buffered != nil {
		b.buffered.Set(float64(s.Buffered + len(b.held)))
	}
	if b.isShell {
		b.out.Flush()
	}
}

// meta is what the core needs of a data tuple.
func (b *statefulBolt) meta(t topology.Tuple) checkpoint.Meta {
	m := checkpoint.Meta{Source: t.SourceTask()}
	if b.cfg.ExactlyOnce {
		m.ID, m.HasID = lineageOf(t)
	}
	return m
}

// host is the checkpoint.Host the core drives, on the executor's
// goroutine.
type host struct{ *statefulBolt }

// Execute hands a data tuple to the bolt. A panic fails the tuple and is
// reported; the task goes on.
func (h host) Execute(t topology.Tuple) {
	b := h.statefulBolt
	b.current = &t
	defer func() {
		b.current = nil
		if r := recover(); r != nil {
			b.out.ReportError(fmt.Errorf("bolt %q task %d panicked executing %s: %v\n%s", b.comp, b.task, describe(t), r, debug.Stack()))
			b.resolve(t, true)
		}
	}()
	b.inner.Execute(t)
}

// ReportError reports an error of the component.
func (h host) ReportError(err error) {
	h.out.ReportError(fmt.Errorf("stateful bolt %q task %d: %w", h.comp, h.task, err))
}

// Ack and Fail tell the acker.
func (h host) Ack(t topology.Tuple)  { h.out.Ack(t) }
func (h host) Fail(t topology.Tuple) { h.out.Fail(t) }

// Forward emits the barrier downstream, anchored to the barrier tuple.
func (h host) Forward(bar checkpoint.Barrier, anchor topology.Tuple) {
	h.out.emitQuiet(topology.CheckpointStream, []topology.Tuple{anchor}, []any{bar.Txid, string(bar.Action), bar.Seq})
}

// emitQuiet is Emit without returning the target tasks: it leaves alone
// the ids buffer that Emit returns, which a shell task's reader may be
// reading while the executor forwards a barrier on the same collector.
func (c *boltCollector) emitQuiet(stream string, anchors []topology.Tuple, values []any) {
	so := c.route(stream, values, false)
	c.mu.Lock()
	defer c.mu.Unlock()
	saved := c.ids
	c.ids = nil
	c.send(so, anchors, values, c.targets(so, values, 0, false))
	c.ids = saved
}

// Before runs the bolt's hooks.
func (h host) Before(a checkpoint.Action, txid int64) {
	b := h.statefulBolt
	switch a {
	case checkpoint.InitState:
		if b.goBolt != nil {
			b.safely("InitState", func() { b.goBolt.InitState(b.st) })
		}
		if b.shellSt != nil {
			b.shellSt.OpenState(b.st)
		}
	case checkpoint.Prepare:
		if b.win != nil {
			b.win.beforePrepare() // statefulwindowed.go
		}
		if b.hooks != nil {
			b.safely("PrePrepare", func() { b.hooks.PrePrepare(txid) })
		}
	case checkpoint.Commit:
		if b.hooks != nil {
			b.safely("PreCommit", func() { b.hooks.PreCommit(txid) })
		}
	case checkpoint.Rollback:
		if b.hooks != nil {
			b.safely("PreRollback", b.hooks.PreRollback)
		}
		if b.shellSt != nil {
			// Now, with nothing in flight: once the rollback is taken, the
			// core releases the input it held, and a child reading its
			// stale cache would write back the rolled-back counts.
			if err := b.shellSt.ResetState(txid); err != nil {
				b.out.ReportError(fmt.Errorf("stateful bolt %q task %d: reset the child's state: %w", b.comp, b.task, err))
			}
		}
		if b.win != nil {
			b.win.rollback()
		}
		b.lostAtRollback = b.lost.Load()
	}
}

// RolledBack hands a Go bolt its restored state again, before the input
// held during the rollback runs: a bolt keeping its state in memory loads
// it at InitState. (Storm calls initState once; a rolled-back Java bolt
// reads its KeyValueState.)
func (h host) RolledBack(int64) {
	b := h.statefulBolt
	if b.goBolt != nil {
		b.safely("InitState", func() { b.goBolt.InitState(b.st) })
	}
	b.rolledBack = true
}

func (b *statefulBolt) safely(what string, f func()) {
	defer func() {
		if r := recover(); r != nil {
			b.out.ReportError(fmt.Errorf("stateful bolt %q task %d panicked in %s: %v\n%s", b.comp, b.task, what, r, debug.Stack()))
		}
	}()
	f()
}

// statefulCollector is the collector the bolt sees: its acks and fails go
// to the core; a stateful Go bolt's unanchored emits are anchored to the
// tuple it executes.
type statefulCollector struct {
	*boltCollector
	b *statefulBolt
}

func (c *statefulCollector) anchors(anchors []topology.Tuple) ([]topology.Tuple, bool) {
	if len(anchors) > 0 || !c.b.stateful {
		return anchors, true
	}
	if c.b.isShell {
		c.b.out.ReportError(fmt.Errorf("stateful bolt %q task %d: %w", c.b.comp, c.b.task, errUnanchoredStateful))
		return nil, false
	}
	if cur := c.b.current; cur != nil && c.b.calling.Load() {
		return []topology.Tuple{*cur}, true
	}
	return nil, true
}

func (c *statefulCollector) Emit(stream string, anchors []topology.Tuple, values []any) []int {
	a, ok := c.anchors(anchors)
	if !ok {
		return nil
	}
	return c.boltCollector.Emit(stream, a, values)
}

func (c *statefulCollector) EmitDirect(task int, stream string, anchors []topology.Tuple, values []any) {
	if a, ok := c.anchors(anchors); ok {
		c.boltCollector.EmitDirect(task, stream, a, values)
	}
}

func (c *statefulCollector) Ack(t topology.Tuple)  { c.b.resolve(t, false) }
func (c *statefulCollector) Fail(t topology.Tuple) { c.b.resolve(t, true) }

// statefulShellBolt is a stateful shell bolt: it also offers what the
// engine asks of a task hosted in a child process.
type statefulShellBolt struct{ *statefulBolt }

func (b statefulShellBolt) Stop() {
	if s, ok := b.inner.(stopper); ok {
		s.Stop()
	}
}

func (b statefulShellBolt) Health() shell.Health {
	if h, ok := b.inner.(healthReporter); ok {
		return h.Health()
	}
	return shell.Health{}
}
