package checkpoint

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/squallstream/squall/state"
)

// Host is the executor a Bolt drives. The Bolt calls it from within its own
// methods, on the caller's goroutine.
type Host[T any] interface {
	// Execute hands a data tuple to the bolt. The bolt reports the tuple's
	// fate later (or from within Execute) with Bolt.Acked or Bolt.Failed.
	Execute(t T)
	// Ack and Fail tell the acker, for real.
	Ack(t T)
	Fail(t T)
	// Forward emits b on Stream to the bolt's subscribers, anchored to the
	// barrier tuple anchor.
	Forward(b Barrier, anchor T)
	// Before runs the bolt's hook ahead of the state's action (Storm's
	// prePrepare, preCommit, preRollback; initState for InitState, once).
	// A shell host invalidates the child's cached reads before Rollback.
	Before(a Action, txid int64)
	// RolledBack runs once ROLLBACK restored the state, before any tuple
	// held during the rollback runs: squall hands a bolt its restored
	// state again there (Storm buffers input until initState).
	RolledBack(txid int64)
	// ReportError reports an error of the component.
	ReportError(err error)
}

// Meta is what the Bolt needs of a data tuple.
type Meta struct {
	// Source is the task that emitted the tuple.
	Source int
	// ID identifies the tuple across replays, if HasID (exactly-once mode
	// only uses it).
	ID    ID
	HasID bool
}

// BoltConfig configures a Bolt.
type BoltConfig struct {
	// Inputs are the tasks the bolt receives barriers from: the checkpoint
	// spout's for input streams from spouts, and every task of a bolt it
	// subscribes to (Storm counts the same).
	Inputs []int
	// State is the bolt's state; nil makes a forwarder (Storm's
	// CheckpointTupleForwarder) of a bolt without state.
	State *state.State
	// ExactlyOnce turns on alignment, quiescing and duplicate dropping.
	ExactlyOnce bool
	// RetainTxids is how many committed transactions' tuple IDs an
	// exactly-once bolt remembers; MaxSeen caps how many IDs (0: no cap).
	RetainTxids int64
	MaxSeen     int
	// QuiesceRollback makes ROLLBACK wait until every tuple given to
	// Execute is acked or failed, holding input meanwhile, in Storm's mode
	// too (exactly-once mode always does): a shell bolt's child must have
	// nothing in flight when its cached reads are reset.
	QuiesceRollback bool
	// MaxBuffered caps the tuples a bolt holds back (before its state is
	// initialised, and in exactly-once mode while aligning or quiescing);
	// a tuple beyond it is failed, to be replayed. 0 means no cap.
	MaxBuffered int
}

// Stats counts what a Bolt did beyond passing tuples on.
type Stats struct {
	// Duplicates were replays dropped (acked unexecuted) in exactly-once mode.
	Duplicates int
	// Overflowed tuples were failed because MaxBuffered was reached.
	Overflowed int
	// Buffered is how many tuples are held back now.
	Buffered int
	// StaleBarriers were from an emission or transaction already over.
	StaleBarriers int
	// EvictedIDs were forgotten early because of MaxSeen.
	EvictedIDs int
	// Initialized reports whether the state was handed to the bolt.
	Initialized bool
}

// Bolt is the checkpoint protocol at one bolt task, for T the executor's
// tuple handle. It is not safe for concurrent use.
//
// Storm's semantics, always: a barrier is handled once every input task
// sent it (earlier copies are acked at once); a stateful bolt's data tuples
// wait until InitState hands it its state; PREPARE before that fails the
// barrier (recovery follows); the bolt's acks are held, from PREPARE moved
// to the prepared transaction, and sent on its COMMIT; ROLLBACK fails them
// all; the bolt's fails pass at once; a failed state action fails the
// barrier and reports the error. Transactions older than the last handled
// one are ignored.
//
// In exactly-once mode, also: once PREPARE came from an input task, that
// task's data tuples wait until PREPARE came from all (alignment); PREPARE
// and ROLLBACK wait until every tuple the bolt was given is acked or
// failed, holding all input meanwhile (quiescing), so that a transaction
// has all of its tuples' effects and emits; and a stateful bolt acks,
// without executing it, a tuple whose ID a committed or current
// transaction already includes.
type Bolt[T any] struct {
	cfg    BoltConfig
	h      Host[T]
	st     *state.State
	inputs map[int]bool

	initialized bool
	lastTxid    int64

	// The emission being collected: its barrier, the inputs that sent it,
	// and whether it was handled (or abandoned).
	cur     Barrier
	curFrom map[int]bool
	curDone bool
	// waiting is a complete barrier held until inFlight drains.
	waiting *pendingBarrier[T]

	// inFlight counts tuples given to Execute and not yet acked or failed.
	inFlight int
	buffered []heldTuple[T]
	// acked are tuples the bolt acked since the last prepare, and replays
	// dropped meanwhile whose original is not committed; prepared those of
	// the prepared transaction.
	acked    []ackedTuple[T]
	prepared []T

	dedup *dedup
	// busy is set while the Bolt calls the host, so that Acked and Failed
	// called from within Execute only update counts.
	busy  bool
	stats Stats
}

type pendingBarrier[T any] struct {
	t T
	b Barrier
}

type heldTuple[T any] struct {
	t T
	m Meta
}

// ackedTuple is an ack held until a commit. A dropped replay (dup) keeps
// its ID: if its original fails instead of being acked, the effect it
// stands for was never made, and the replay fails too.
type ackedTuple[T any] struct {
	t   T
	id  ID
	dup bool
}

// ErrNoInputs: a bolt in a checkpointed topology must receive barriers.
var ErrNoInputs = errors.New("checkpoint: a bolt needs at least one barrier input")

// NewBolt returns the protocol of one bolt task.
func NewBolt[T any](cfg BoltConfig, h Host[T]) (*Bolt[T], error) {
	if len(cfg.Inputs) == 0 {
		return nil, ErrNoInputs
	}
	b := &Bolt[T]{
		cfg:      cfg,
		h:        h,
		st:       cfg.State,
		inputs:   make(map[int]bool, len(cfg.Inputs)),
		lastTxid: math.MinInt64,
		curFrom:  make(map[int]bool, len(cfg.Inputs)),
		curDone:  true,
	}
	for _, in := range cfg.Inputs {
		b.inputs[in] = true
	}
	if cfg.ExactlyOnce && b.st != nil {
		b.dedup = newDedup(cfg.RetainTxids, cfg.MaxSeen)
	}
	return b, nil
}

// Stats returns the bolt's counters.
func (b *Bolt[T]) Stats() Stats {
	s := b.stats
	s.Buffered = len(b.buffered)
	s.Initialized = b.initialized
	if b.dedup != nil {
		s.EvictedIDs = b.dedup.evicted
	}
	return s
}

// InFlight returns how many tuples given to Execute are not yet acked or
// failed.
func (b *Bolt[T]) InFlight() int { return b.inFlight }

// Tuple handles a data tuple: it is executed now or held back.
func (b *Bolt[T]) Tuple(t T, m Meta) {
	b.busy = true
	if b.holds(m.Source) {
		b.hold(t, m)
	} else {
		b.execute(t, m)
	}
	b.settle()
}

// holds reports whether a tuple from source must wait.
func (b *Bolt[T]) holds(source int) bool {
	switch {
	case b.st != nil && !b.initialized:
		return true
	case b.waiting != nil:
		return true
	case !b.cfg.ExactlyOnce:
		return false
	}
	return !b.curDone && b.cur.Action == Prepare && b.curFrom[source]
}

func (b *Bolt[T]) hold(t T, m Meta) {
	if b.cfg.MaxBuffered > 0 && len(b.buffered) >= b.cfg.MaxBuffered {
		b.stats.Overflowed++
		b.h.Fail(t)
		return
	}
	b.buffered = append(b.buffered, heldTuple[T]{t, m})
}

func (b *Bolt[T]) execute(t T, m Meta) {
	if b.dedup != nil && m.HasID {
		if b.dedup.has(m.ID) {
			b.stats.Duplicates++
			if b.dedup.isCommitted(m.ID) {
				b.h.Ack(t)
			} else {
				// The original's effect is not committed yet: the replay's
				// ack waits for the same commit, and a rollback or the
				// original's failure fails it, so that the spout replays it
				// against the restored state.
				b.acked = append(b.acked, ackedTuple[T]{t: t, id: m.ID, dup: true})
			}
			return
		}
		b.dedup.add(m.ID)
	}
	b.inFlight++
	b.h.Execute(t)
}

// Acked records that the bolt acked t. A forwarder acks at once; a
// stateful bolt holds the ack until the commit that includes t.
func (b *Bolt[T]) Acked(t T) {
	b.resolved()
	if b.st == nil {
		b.h.Ack(t)
	} else {
		b.acked = append(b.acked, ackedTuple[T]{t: t})
	}
	if !b.busy {
		b.busy = true
		b.settle()
	}
}

// Failed records that the bolt failed t, and fails it at once.
func (b *Bolt[T]) Failed(t T, m Meta) {
	b.resolved()
	if b.dedup != nil && m.HasID {
		b.dedup.forget(m.ID)
		// A replay dropped while this tuple was in flight must not be
		// acked: the effect it stood for was never made.
		b.acked = slices.DeleteFunc(b.acked, func(a ackedTuple[T]) bool {
			if a.dup && a.id == m.ID {
				b.h.Fail(a.t)
				return true
			}
			return false
		})
	}
	b.h.Fail(t)
	if !b.busy {
		b.busy = true
		b.settle()
	}
}

func (b *Bolt[T]) resolved() {
	if b.inFlight > 0 {
		b.inFlight--
	}
}

// Barrier handles a checkpoint tuple t carrying bar from task from.
func (b *Bolt[T]) Barrier(t T, from int, bar Barrier) {
	b.busy = true
	defer b.settle()
	if !b.inputs[from] {
		b.h.ReportError(fmt.Errorf("checkpoint: barrier %v from task %d, which is not an input", bar, from))
		b.h.Ack(t)
		return
	}
	switch {
	case bar.Seq < b.cur.Seq:
		b.stats.StaleBarriers++
		b.h.Ack(t)
		return
	case bar.Seq > b.cur.Seq:
		// A newer emission: the one being collected or waiting is dead.
		if b.waiting != nil {
			b.stats.StaleBarriers++
			b.h.Ack(b.waiting.t)
			b.waiting = nil
		}
		b.cur, b.curDone = bar, false
		clear(b.curFrom)
	case b.curDone:
		b.stats.StaleBarriers++ // a copy after the emission was handled
		b.h.Ack(t)
		return
	}
	b.curFrom[from] = true
	if len(b.curFrom) < len(b.inputs) {
		b.h.Ack(t)
		return
	}
	b.curDone = true
	if bar.Txid < b.lastTxid {
		b.stats.StaleBarriers++
		b.h.Ack(t)
		return
	}
	quiesce := b.cfg.ExactlyOnce && (bar.Action == Prepare || bar.Action == Rollback) ||
		b.cfg.QuiesceRollback && bar.Action == Rollback
	if quiesce && b.inFlight > 0 {
		b.waiting = &pendingBarrier[T]{t, bar}
		return
	}
	b.handle(t, bar)
}

// AbortPrepare fails a PREPARE waiting for the tuples in flight to be
// resolved, if one waits: the host learnt that some of them will be
// failed after their effects were written (a shell child died), so the
// transaction must not be prepared; the checkpoint spout rolls back. It
// reports whether one waited.
func (b *Bolt[T]) AbortPrepare() bool {
	if b.waiting == nil || b.waiting.b.Action != Prepare {
		return false
	}
	w := b.waiting
	b.waiting = nil
	b.h.Fail(w.t)
	return true
}

// settle runs what became possible: a waiting barrier once nothing is in
// flight, then the tuples held back that may now run. It ends the busy
// section.
func (b *Bolt[T]) settle() {
	for {
		if b.waiting != nil && b.inFlight == 0 {
			w := b.waiting
			b.waiting = nil
			b.handle(w.t, w.b)
		}
		if len(b.buffered) == 0 || !b.release() {
			break
		}
	}
	b.busy = false
}

// release executes the held tuples that may now run, in arrival order,
// and reports whether it executed any.
func (b *Bolt[T]) release() bool {
	// Nothing may run yet: the buffer stays as it is. settle runs after
	// every ack and fail, and copying what is held each time (in
	// exactly-once mode, the input held while a PREPARE waits for the
	// acks of the tuples in flight) was quadratic in the tuples held.
	if b.holds(b.buffered[0].m.Source) { // holds covers a waiting reply too
		return false
	}
	held := b.buffered
	b.buffered = nil
	ran := false
	for i, h := range held {
		if b.holds(h.m.Source) {
			// Keep the order: this one and the rest wait again.
			b.buffered = append(b.buffered, held[i:]...)
			break
		}
		b.execute(h.t, h.m)
		ran = true
	}
	return ran && b.waiting == nil
}

// handle takes the action of a barrier every input sent.
func (b *Bolt[T]) handle(t T, bar Barrier) {
	if b.st != nil {
		if err := b.apply(bar); err != nil {
			b.h.Fail(t)
			b.h.ReportError(err)
			return
		}
		if bar.Action == Prepare && !b.initialized {
			// Storm: the task restarted and was not given its state;
			// failing the barrier makes the spout recover.
			b.h.Fail(t)
			return
		}
	}
	b.h.Forward(bar, t)
	b.h.Ack(t)
	b.lastTxid = bar.Txid
	if bar.Action == Rollback {
		b.lastTxid = bar.Txid - 1
	}
}

// apply takes a barrier's action on the state.
func (b *Bolt[T]) apply(bar Barrier) error {
	switch bar.Action {
	case Prepare:
		if !b.initialized {
			return nil
		}
		b.h.Before(Prepare, bar.Txid)
		if b.dedup != nil {
			for k, v := range b.dedup.prepare(bar.Txid) {
				var err error
				if v == nil {
					err = b.st.Delete(k)
				} else {
					err = b.st.Put(k, v)
				}
				if err != nil {
					return fmt.Errorf("checkpoint: record the tuples of transaction %d: %w", bar.Txid, err)
				}
			}
		}
		if err := b.st.PrepareCommit(bar.Txid); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
		for _, a := range b.acked {
			b.prepared = append(b.prepared, a.t)
		}
		// Reused: a busy task holds a cycle's worth of acks, and
		// growing the slices again every cycle was a tenth of its time.
		clear(b.acked)
		b.acked = b.acked[:0]
	case Commit:
		b.h.Before(Commit, bar.Txid)
		if err := b.st.Commit(bar.Txid); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
		if b.dedup != nil {
			b.dedup.commit(bar.Txid)
		}
		for _, t := range b.prepared {
			b.h.Ack(t)
		}
		clear(b.prepared)
		b.prepared = b.prepared[:0]
	case Rollback:
		b.h.Before(Rollback, bar.Txid)
		if err := b.st.Rollback(); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
		if b.dedup != nil {
			b.dedup.rollback()
		}
		for _, t := range b.prepared {
			b.h.Fail(t)
		}
		for _, a := range b.acked {
			b.h.Fail(a.t)
		}
		b.prepared, b.acked = nil, nil
		b.h.RolledBack(bar.Txid)
	case InitState:
		if b.initialized {
			return nil // a restarted task elsewhere needed it; Storm ignores it
		}
		if b.dedup != nil {
			committed := b.st.Committed()
			var loadErr error
			err := b.st.Range(func(k string, v []byte) bool {
				if strings.HasPrefix(k, SeenKeyPrefix) {
					loadErr = b.dedup.load(committed, k, v)
				}
				return loadErr == nil
			})
			if err = errors.Join(err, loadErr); err != nil {
				return fmt.Errorf("checkpoint: load the tuples of committed transactions: %w", err)
			}
		}
		b.h.Before(InitState, bar.Txid)
		b.initialized = true
	default:
		return fmt.Errorf("%w %q", ErrBadAction, bar.Action)
	}
	return nil
}
