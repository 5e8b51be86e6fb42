package worker

import (
	"container/heap"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/squallstream/squall/state"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/window"
)

// A stateful windowed bolt (Storm's IStatefulWindowedBolt,
// docs/windowing-and-state.md): a component with both window: and state:.
// The windowed wrapper sits inside the stateful one: barriers reach the
// checkpoint core, data tuples go through the core into the windows, and
// the windows' acks and fails go back to the core instead of the acker. So
// a window tuple is acked once it left every window and then a checkpoint
// committed (the one that holds the effects of every window it was in);
// a rollback fails every tuple in the windows too, and the windows start
// again from what the spouts replay. Windows are not checkpointed: they
// are rebuilt from replays, as in Storm.
//
// In Storm's mode this is at least once: a window evaluated before a
// commit may be evaluated again after a crash (its tuples were still in a
// later window, so they are replayed), unless the component names a
// message id field (the recovery below), as in Storm. Exactly-once mode is
// refused: its quiescing waits until every tuple given to the bolt is
// acked, which a window's tuples are not until they leave it; it needs the
// windows' contents in the checkpoint (docs/windowing-and-state.md,
// "Exactly-once for windows").

// errExactlyOnceWindowed: exactly-once state on a windowed bolt.
var errExactlyOnceWindowed = errors.New("exactly-once state (topology.state.exactly.once) does not support a windowed bolt: " +
	"its windows hold tuples unacked across checkpoints; use Storm's mode (at least once) for this topology, " +
	"with a message id field (topology.bolts.message.id.field.name) so that a restart evaluates no window twice")

// unwindowed is the bolt a windowed wrapper runs, which has the state
// hooks; other bolts are returned as they are.
func unwindowed(b topology.Bolt) topology.Bolt {
	if wb := windowedOf(b); wb != nil {
		return wb.inner
	}
	return b
}

func windowedOf(b topology.Bolt) *windowedBolt {
	switch w := b.(type) {
	case *windowedBolt:
		return w
	case windowedShellBolt:
		return w.windowedBolt
	}
	return nil
}

// attachWindow routes the acks and fails of a stateful task's windows
// through the checkpoint core; a task without windows is left alone.
func (b *statefulBolt) attachWindow(inner topology.Bolt, exactlyOnce bool) error {
	wb := windowedOf(inner)
	if wb == nil {
		return nil
	}
	if exactlyOnce {
		return errExactlyOnceWindowed
	}
	wb.settled = b.resolve
	b.win = wb
	if wb.spec.MessageIDField != "" {
		wb.rec = &recovery{field: wb.spec.MessageIDField, state: func() *state.State { return b.st }}
	}
	// A rollback must not wait for the windows to empty; a window in
	// flight to a shell child when its cache is reset is failed below.
	b.cfg.QuiesceRollback = false
	return nil
}

// beforePrepare waits, in a shell bolt recovering by message id, until
// the child finished every window in flight: the transaction then holds
// all of a window's writes or none, as the marks say, and a window is
// neither evaluated again after a crash (its writes committed) nor left
// half counted. A child that dies fails its windows, which ends the wait;
// one that hangs is waited for the message timeout, then the transaction
// goes on without it (at least once). A Go bolt's windows run on the
// executor's goroutine: none is in flight at a barrier. Executor
// goroutine, from the PREPARE hook of the stateful wrapper.
func (b *windowedBolt) beforePrepare() {
	if b.rec == nil || b.goBolt != nil {
		return
	}
	b.mu.Lock()
	if !b.windowsInFlight() {
		b.mu.Unlock()
		return
	}
	if b.drained == nil {
		b.drained = make(chan struct{})
	}
	drained := b.drained
	b.mu.Unlock()
	timer := time.NewTimer(b.timeout)
	defer timer.Stop()
	select {
	case <-drained:
	case <-timer.C:
		b.out.ReportError(fmt.Errorf("windowed bolt %q task %d: the child did not finish its windows in %v (%s) before a checkpoint: "+
			"the checkpoint may hold part of a window, evaluated again after a crash", b.comp, b.task, b.timeout, topology.KeyMessageTimeoutSecs))
	}
}

// windowsInFlight reports whether a window handed to the bolt is not done
// yet. mu is held.
func (b *windowedBolt) windowsInFlight() bool {
	for _, g := range b.inflight {
		if g.entries != nil && !g.done {
			return true
		}
	}
	return false
}

// rollback fails every tuple the windows hold, so that the spouts replay
// them against the restored state, and empties the windows: a window
// evaluated since the last commit had effects the rollback undid. A shell
// child is sent its next window whole. Executor goroutine.
func (b *windowedBolt) rollback() {
	b.removeFailed()
	removed := b.mgr.Remove(func(*windowed) bool { return true })
	b.mu.Lock()
	b.reset = true
	var fail []topology.Tuple
	for _, e := range removed {
		if !e.failed {
			e.failed = true
			fail = append(fail, e.t)
		}
		if b.goBolt == nil && e.gen != 0 && !e.shown {
			b.forget = append(b.forget, e.id)
		}
	}
	// Tuples expired and waiting for windows in flight: failed too (their
	// windows' effects were undone), not acked when those windows end.
	for _, g := range b.inflight {
		for _, e := range g.expired {
			if !e.failed {
				e.failed = true
				fail = append(fail, e.t)
			}
		}
		for _, e := range g.entries {
			e.failed = true
		}
		g.void = true
	}
	if b.rec != nil {
		// The marks go back to the last commit's with the state: read
		// again before each stream's next tuple.
		for _, m := range b.rec.streams {
			m.load = true
		}
	}
	b.mu.Unlock()
	for _, t := range fail {
		b.settle(true, t)
	}
}

// Recovery by message id (Storm's StatefulWindowedBoltExecutor, with
// topology.bolts.message.id.field.name set on a stateful windowed bolt).
// For each source task and stream the bolt keeps two marks in its own
// state, written in the same transactions as the bolt's writes: the
// largest message id that left every window (its ack handed to the
// checkpoint core) and the largest that was new in a window the bolt
// finished. After a restart or a rollback the marks are those of the last
// commit, and a replayed tuple at or below the first is acked without
// entering a window (every window it was in is in the committed state),
// one at or below the second is put back into the windows without being
// new in any (window.Manager.Restore), as in Storm; unlike Storm, the
// first tuple above them does not end the recovery, so replays out of id
// order are recognised too. Message ids must be unique and increase on
// each source task's stream, as Storm requires.

// A stateful windowed task's recovery metrics: replays acked at once,
// replays put back into the windows without being evaluated again.
const (
	MetricWindowReplaysAcked    = "window-replays-acked"
	MetricWindowReplaysRestored = "window-replays-restored"
)

// markKeyPrefix starts the state keys of the marks (keys starting with a
// 0 byte are squall's; a shell child's state_items does not list them).
const markKeyPrefix = "\x00squall/window/"

// noMark is a mark not set: Storm's Long.MIN_VALUE.
const noMark = math.MinInt64

// errBadMessageID: a stateful windowed bolt's input tuple has no integer
// message id in the field its component names.
var errBadMessageID = errors.New("bad message id")

// streamKey is a source task's stream.
type streamKey struct {
	task         int
	comp, stream string
}

// streamMarks are the marks of one source task's stream.
type streamMarks struct {
	key string // in the state
	// expired and evaluated are the marks as the bolt's writes stand;
	// guarded by windowedBolt.mu.
	expired, evaluated int64
	// failed are the ids of the stream's tuples the bolt failed (their
	// window failed, or the cap dropped them) whose replay has not come
	// back: maybe never evaluated, so the marks written stay below them.
	// Past maxFailedIDs, floor keeps the lowest for the rest of the run
	// (math.MaxInt64: none). Guarded by windowedBolt.mu.
	failed map[int64]struct{}
	floor  int64
	// failedOrder is a min-heap of failed's ids, and of ids evaluated
	// since, dropped when they reach its top: the marks are written
	// after each window, and finding the lowest failed id must not cost
	// a scan of failed. Guarded by windowedBolt.mu.
	failedOrder idHeap
	// Executor goroutine: load asks for the marks to be read from the
	// state before the stream's next tuple; while recovering, the tuples
	// at or below the committed marks rec* were seen before.
	load, recovering bool
	recExpired       int64
	recEvaluated     int64
}

// recovery is a windowed bolt's recovery by message id.
type recovery struct {
	field string
	// state is the task's state, once the stateful wrapper opened it.
	state func() *state.State
	// streams are guarded by windowedBolt.mu (the executor adds to it,
	// windowDone reads entries through their pointers).
	streams map[streamKey]*streamMarks
}

// maxFailedIDs bounds streamMarks.failed.
const maxFailedIDs = 10000

// failedTuple notes that the bolt failed e: until its replay comes back,
// its stream's marks are written below it. mu is held.
func (m *streamMarks) failedTuple(id int64) {
	if _, ok := m.failed[id]; ok {
		return
	}
	if m.failed == nil {
		m.failed = make(map[int64]struct{})
	}
	m.failed[id] = struct{}{}
	heap.Push(&m.failedOrder, id)
	if len(m.failed) > maxFailedIDs {
		m.floor = min(m.floor, m.lowestFailed())
		m.failed, m.failedOrder = nil, nil // a burst's memory goes
	}
}

// evaluatedTuple notes that the replay of failed tuple id was evaluated.
// mu is held.
func (m *streamMarks) evaluatedTuple(id int64) {
	delete(m.failed, id)
	if len(m.failed) == 0 {
		m.failed, m.failedOrder = nil, nil // a Go map never shrinks
		return
	}
	if len(m.failedOrder) > 2*len(m.failed)+64 { // mostly ids evaluated
		m.failedOrder = make(idHeap, 0, len(m.failed)) // not the burst's capacity
		for id := range m.failed {
			m.failedOrder = append(m.failedOrder, id)
		}
		heap.Init(&m.failedOrder)
	}
}

// lowestFailed returns the lowest id in failed, math.MaxInt64 if none.
// mu is held.
func (m *streamMarks) lowestFailed() int64 {
	for len(m.failedOrder) > 0 {
		if _, ok := m.failed[m.failedOrder[0]]; ok {
			return m.failedOrder[0]
		}
		heap.Pop(&m.failedOrder)
	}
	return math.MaxInt64
}

// written returns the marks as written into the state: below every
// failed tuple not back yet. mu is held.
func (m *streamMarks) written() (expired, evaluated int64) {
	lowest := min(m.floor, m.lowestFailed())
	if lowest == math.MaxInt64 {
		return m.expired, m.evaluated
	}
	return min(m.expired, lowest-1), min(m.evaluated, lowest-1)
}

// idHeap is a min-heap of message ids, for container/heap.
type idHeap []int64

func (h idHeap) Len() int           { return len(h) }
func (h idHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h idHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *idHeap) Push(x any)        { *h = append(*h, x.(int64)) }
func (h *idHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// markUpdate raises one stream's evaluated mark once a window is done.
type markUpdate struct {
	m  *streamMarks
	id int64
}

// messageID returns t's message id.
func (r *recovery) messageID(t topology.Tuple) (int64, error) {
	v, ok := t.ValueByField(r.field)
	if !ok {
		return 0, fmt.Errorf("%w: the tuple has no field %q (%s)", errBadMessageID, r.field, window.KeyMessageIDField)
	}
	id, err := window.Timestamp(v) // the same integers: Storm reads a long
	if err != nil {
		return 0, fmt.Errorf("%w: field %q (%s): %v is not an integer", errBadMessageID, r.field, window.KeyMessageIDField, v)
	}
	return id, nil
}

// admit decides what a data tuple of a recovering bolt is: seen before and
// expired (drop: ack it), seen before and evaluated (restore), or new. It
// returns its stream's marks and message id, and back, whether it is the
// replay of a tuple the bolt failed. Executor goroutine.
func (b *windowedBolt) admit(t topology.Tuple) (m *streamMarks, id int64, back, restore, drop bool, err error) {
	r := b.rec
	if id, err = r.messageID(t); err != nil {
		return nil, 0, false, false, false, err
	}
	k := streamKey{t.SourceTask(), t.SourceComponent(), t.SourceStream()}
	b.mu.Lock()
	m = r.streams[k]
	if m == nil {
		m = &streamMarks{key: markKeyPrefix + strconv.Itoa(k.task) + "/" + k.comp + ":" + k.stream, load: true, floor: math.MaxInt64}
		if r.streams == nil {
			r.streams = make(map[streamKey]*streamMarks)
		}
		r.streams[k] = m
	}
	_, back = m.failed[id] // a failed tuple's replay: out of failed once evaluated
	b.mu.Unlock()
	if m.load {
		if err = b.loadMarks(m); err != nil {
			return nil, 0, false, false, false, err
		}
	}
	if !m.recovering {
		return m, id, back, false, false, nil
	}
	// Until the next reload, not only until the first tuple beyond the
	// marks (Storm's end of recovery): ids being unique and increasing, a
	// tuple at or below them was seen before, whenever its replay comes;
	// replays after a rollback come out of id order.
	switch {
	case id <= m.recExpired:
		return m, id, false, false, true, nil
	case id <= m.recEvaluated:
		return m, id, false, true, false, nil
	}
	return m, id, back, false, false, nil
}

// loadMarks reads m's committed marks: the state is the last commit's
// (the first tuple after INITSTATE, or after a rollback).
func (b *windowedBolt) loadMarks(m *streamMarks) error {
	st := b.rec.state()
	if st == nil {
		return errors.New("the task's state is not open")
	}
	v, ok, err := st.Get(m.key)
	if err != nil {
		return fmt.Errorf("read the window marks: %w", err)
	}
	exp, eval := int64(noMark), int64(noMark)
	if ok {
		if _, err := fmt.Sscanf(string(v), "%d %d", &exp, &eval); err != nil {
			return fmt.Errorf("read the window marks %q: %w", v, err)
		}
	}
	b.mu.Lock()
	m.expired, m.evaluated = exp, eval
	// The tuples failed before the rollback: those at or below the
	// committed marks were evaluated in a committed window.
	m.failed, m.failedOrder, m.floor = nil, nil, math.MaxInt64
	b.mu.Unlock()
	m.load = false
	m.recovering = ok
	m.recExpired, m.recEvaluated = exp, eval
	return nil
}

// raiseMarks raises the marks of the windows and expired tuples just done
// and writes those that changed into the state, in order with the bolt's
// own writes for those windows. mu is held.
func (b *windowedBolt) raiseMarks(evaluated []markUpdate, back, expired []*windowed) {
	for _, e := range back {
		e.marks.evaluatedTuple(e.mid) // at last
	}
	var changed []*streamMarks
	for _, u := range evaluated {
		if u.id > u.m.evaluated {
			u.m.evaluated = u.id
			changed = append(changed, u.m)
		}
	}
	for _, e := range expired {
		if e.marks != nil && !e.failed && e.mid > e.marks.expired {
			e.marks.expired = e.mid
			changed = append(changed, e.marks)
		}
	}
	if len(changed) == 0 {
		return
	}
	st := b.rec.state()
	for i, m := range changed {
		if slices.Contains(changed[:i], m) {
			continue
		}
		exp, eval := m.written()
		if err := st.Put(m.key, []byte(strconv.FormatInt(exp, 10)+" "+strconv.FormatInt(eval, 10))); err != nil {
			b.out.ReportError(fmt.Errorf("windowed bolt %q task %d: write the window marks: %w", b.comp, b.task, err))
		}
	}
}

// evaluatedMarks returns, for window w's new tuples, the largest message
// id per stream, and those that are replays of tuples the bolt failed.
func evaluatedMarks(news []*windowed) (us []markUpdate, back []*windowed) {
	for _, e := range news {
		if e.marks == nil {
			continue
		}
		if e.back {
			back = append(back, e)
		}
		i := slices.IndexFunc(us, func(u markUpdate) bool { return u.m == e.marks })
		switch {
		case i < 0:
			us = append(us, markUpdate{e.marks, e.mid})
		case e.mid > us[i].id:
			us[i].id = e.mid
		}
	}
	return us, back
}
