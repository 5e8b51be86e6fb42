package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/squallstream/squall/state"
)

// Storm's names of the checkpoint spout, its stream and the stream's fields.
// squall adds a third field, seq, which tells apart the emissions of one
// transaction's barrier (see Barrier).
const (
	SpoutComponent = "$checkpointspout"
	Stream         = "$checkpoint"
	FieldTxid      = "txid"
	FieldAction    = "action"
	FieldSeq       = "seq"
)

// Phase is where the checkpoint spout's current transaction is.
type Phase string

const (
	Committed  Phase = "COMMITTED"
	Committing Phase = "COMMITTING"
	Preparing  Phase = "PREPARING"
)

// Action is what a barrier asks bolts to do.
type Action string

const (
	Prepare   Action = "PREPARE"
	Commit    Action = "COMMIT"
	Rollback  Action = "ROLLBACK"
	InitState Action = "INITSTATE"
)

// ErrBadAction: a barrier names no known action.
var ErrBadAction = errors.New("unknown checkpoint action")

// ParseAction returns the action named s.
func ParseAction(s string) (Action, error) {
	switch a := Action(s); a {
	case Prepare, Commit, Rollback, InitState:
		return a, nil
	}
	return "", fmt.Errorf("%w %q", ErrBadAction, s)
}

// TxState is the checkpoint spout's persistent state (Storm's
// CheckPointState), plus the epoch squall counts the spout's starts with.
//
//	                 ROLLBACK(tx2)
//	               <-------------
//	COMMITTED(tx1) -------------> PREPARING(tx2) -------> COMMITTING(tx2) -------> COMMITTED(tx2)
//	                 PREPARE(tx2)                COMMIT(tx2)
type TxState struct {
	Txid  int64  `json:"txid"`
	Phase Phase  `json:"state"`
	Epoch uint32 `json:"epoch"`
}

// Initial is the state of a topology that never checkpointed: Storm's
// COMMITTED(-1), so that the first transaction is 0.
var Initial = TxState{Txid: state.NoTxid, Phase: Committed}

// next is the state after the current step is acked: Storm's
// CheckPointState.nextState.
func (s TxState) next(recovering bool) TxState {
	n := s
	switch s.Phase {
	case Preparing:
		if recovering {
			n.Txid, n.Phase = s.Txid-1, Committed
		} else {
			n.Phase = Committing
		}
	case Committing:
		n.Phase = Committed
	case Committed:
		if !recovering {
			n.Txid, n.Phase = s.Txid+1, Preparing
		}
	}
	return n
}

// action is the barrier to send for the state: Storm's nextAction.
func (s TxState) action(recovering bool) Action {
	switch s.Phase {
	case Preparing:
		if recovering {
			return Rollback
		}
		return Prepare
	case Committing:
		return Commit
	}
	if recovering {
		return InitState
	}
	return Prepare
}

// StateKey is the key under which the spout's TxState is saved in its own
// key-value state (Storm's "__state").
const StateKey = "__state"

// Marshal encodes s for the spout's key-value state.
func (s TxState) Marshal() []byte {
	b, _ := json.Marshal(s)
	return b
}

// UnmarshalTxState decodes what Marshal encoded.
func UnmarshalTxState(b []byte) (TxState, error) {
	var s TxState
	if err := json.Unmarshal(b, &s); err != nil {
		return TxState{}, fmt.Errorf("checkpoint state %.60q: %w", b, err)
	}
	switch s.Phase {
	case Committed, Committing, Preparing:
	default:
		return TxState{}, fmt.Errorf("checkpoint state %.60q: unknown phase %q", b, s.Phase)
	}
	return s, nil
}

func (s TxState) String() string { return fmt.Sprintf("%s(%d)", s.Phase, s.Txid) }
