package checkpoint

import (
	"fmt"
	"time"
)

// Barrier is one checkpoint tuple: the action for transaction Txid.
//
// Seq tells apart the emissions of the checkpoint spout: the high 32 bits
// are the spout's epoch (one more at every start, saved in its state), the
// low 32 bits count its emissions in that epoch, so a later emission always
// has a larger Seq. The spout has one barrier in flight at a time and moves
// on only once it is acked (every bolt handled it) or failed, so a bolt that
// sees a larger Seq knows that the emission it was collecting is dead. The
// spout uses Seq as the barrier's message id.
type Barrier struct {
	Txid   int64
	Action Action
	Seq    uint64
}

func (b Barrier) String() string { return fmt.Sprintf("%s(%d)#%x", b.Action, b.Txid, b.Seq) }

// Step is what the checkpoint spout asks of its executor, in this order:
// save Save (when set) in its key-value state under StateKey and Flush it,
// then emit Emit (when set) on Stream, reliably, with Emit.Seq as message
// id. A failed save must stop the step: the spout is then out of step with
// its state, and its task should restart.
type Step struct {
	Save *TxState
	Emit *Barrier
}

// MinInterval is the shortest checkpoint interval Storm allows.
const MinInterval = 100 * time.Millisecond

// Spout is Storm's CheckpointSpout as a state machine. It is not safe for
// concurrent use: the spout task's executor owns it.
type Spout struct {
	interval time.Duration
	cur      TxState
	// recovering: the spout is bringing the topology back to a committed
	// state (it starts so); inFlight: a barrier is out, with seq inFlightSeq.
	recovering  bool
	inFlight    bool
	inFlightSeq uint64
	// lastStart is when the last checkpoint began (zero: never).
	lastStart time.Time
	emitted   uint32
	stale     int
}

// NewSpout returns the spout of a task that saved saved (Initial if it has
// never saved anything), checkpointing every interval (at least
// MinInterval), and the state to save before anything else: saved with the
// epoch counted up.
func NewSpout(saved TxState, interval time.Duration) (*Spout, TxState) {
	s := &Spout{interval: max(interval, MinInterval), cur: saved, recovering: true}
	s.cur.Epoch++
	return s, s.cur
}

// Current returns the transaction state.
func (s *Spout) Current() TxState { return s.cur }

// Recovering reports whether the spout is recovering.
func (s *Spout) Recovering() bool { return s.recovering }

// Interval returns the checkpoint interval.
func (s *Spout) Interval() time.Duration { return s.interval }

// Stale returns how many acks and fails named no barrier in flight.
func (s *Spout) Stale() int { return s.stale }

// Next returns the step to take now, if any: the next recovery barrier, or
// a checkpoint's barrier once its interval has passed (at once after a
// prepare, to commit it).
func (s *Spout) Next(now time.Time) (Step, bool) {
	if s.inFlight {
		return Step{}, false
	}
	var step Step
	if !s.recovering {
		due := s.lastStart.IsZero() || now.Sub(s.lastStart) > s.interval
		if s.cur.Phase == Committed && !due {
			return Step{}, false
		}
		if s.cur.Phase == Committed {
			next := s.cur.next(false)
			s.cur, s.lastStart = next, now
			step.Save = &next
		}
	}
	s.emitted++
	b := Barrier{Txid: s.cur.Txid, Action: s.cur.action(s.recovering), Seq: uint64(s.cur.Epoch)<<32 | uint64(s.emitted)}
	step.Emit = &b
	s.inFlight, s.inFlightSeq = true, b.Seq
	return step, true
}

// Ack handles the ack of the barrier with message id seq, and returns the
// state to save, if any.
func (s *Spout) Ack(seq uint64) (save *TxState) {
	if !s.inFlight || seq != s.inFlightSeq {
		s.stale++
		return nil
	}
	s.inFlight = false
	next := s.cur.next(s.recovering)
	if s.recovering && next == s.cur {
		s.recovering = false // INITSTATE went through: recovery is over
		return nil
	}
	s.cur = next
	return &next
}

// Fail handles the failure (or timeout) of the barrier with message id
// seq: the spout recovers, as Storm's does.
func (s *Spout) Fail(seq uint64) {
	if !s.inFlight || seq != s.inFlightSeq {
		s.stale++
		return
	}
	s.inFlight = false
	s.recovering = true
}
