package builtin

import (
	"fmt"
	"time"

	"github.com/squallstream/squall/state"
	"github.com/squallstream/squall/state/checkpoint"
	"github.com/squallstream/squall/topology"
)

// CheckpointSpout is Storm's CheckpointSpout: the spout the checkpoint
// wiring adds to a stateful topology (topology.CheckpointSpout), around
// the protocol's pure core, checkpoint.Spout. It keeps its transaction
// state in its own key-value state, which the worker opens in the
// topology's provider (namespace "<topology>/$checkpointspout-<task>").
//
// Next never sleeps: the executor's back-off paces an idle spout. A failed
// save of its state panics the task: the core and its state would
// disagree, and a restart recovers from what was saved.
type CheckpointSpout struct {
	st       *state.State
	interval time.Duration
	now      func() time.Time

	core *checkpoint.Spout
	out  topology.SpoutCollector
}

// NewCheckpointSpout returns the spout keeping its state in st,
// checkpointing every interval. The spout closes st when it closes.
func NewCheckpointSpout(st *state.State, interval time.Duration) *CheckpointSpout {
	return &CheckpointSpout{st: st, interval: interval, now: time.Now}
}

// DeclareOutputs declares the checkpoint stream.
func (s *CheckpointSpout) DeclareOutputs() []topology.Stream {
	return []topology.Stream{{ID: topology.CheckpointStream, Fields: topology.CheckpointFields}}
}

// Open reads the saved transaction state and saves it with a new epoch.
func (s *CheckpointSpout) Open(_ *topology.TaskContext, out topology.SpoutCollector) error {
	s.out = out
	saved := checkpoint.Initial
	b, ok, err := s.st.Get(checkpoint.StateKey)
	if err != nil {
		return fmt.Errorf("checkpoint spout: read its state: %w", err)
	}
	if ok {
		if saved, err = checkpoint.UnmarshalTxState(b); err != nil {
			return fmt.Errorf("checkpoint spout: %w", err)
		}
	}
	core, first := checkpoint.NewSpout(saved, s.interval)
	if err := s.save(first); err != nil {
		return err
	}
	s.core = core
	return nil
}

func (s *CheckpointSpout) save(ts checkpoint.TxState) error {
	if err := s.st.Put(checkpoint.StateKey, ts.Marshal()); err != nil {
		return fmt.Errorf("checkpoint spout: save %v: %w", ts, err)
	}
	if err := s.st.Flush(); err != nil {
		return fmt.Errorf("checkpoint spout: save %v: %w", ts, err)
	}
	return nil
}

func (s *CheckpointSpout) mustSave(ts *checkpoint.TxState) {
	if ts == nil {
		return
	}
	if err := s.save(*ts); err != nil {
		panic(err)
	}
}

// Next takes the protocol's next step, if one is due.
func (s *CheckpointSpout) Next() {
	step, ok := s.core.Next(s.now())
	if !ok {
		return
	}
	s.mustSave(step.Save)
	if b := step.Emit; b != nil {
		s.out.Emit(topology.CheckpointStream, []any{b.Txid, string(b.Action), b.Seq}, b.Seq)
	}
}

// Ack moves the protocol on.
func (s *CheckpointSpout) Ack(msgID any) {
	if seq, ok := msgID.(uint64); ok {
		s.mustSave(s.core.Ack(seq))
	}
}

// Fail starts recovery.
func (s *CheckpointSpout) Fail(msgID any) {
	if seq, ok := msgID.(uint64); ok {
		s.core.Fail(seq)
	}
}

// Close closes the spout's state.
func (s *CheckpointSpout) Close() { s.st.Close() }

// Current returns the spout's transaction state, and Recovering whether
// it is recovering (for metrics: call them from the spout's executor).
func (s *CheckpointSpout) Current() checkpoint.TxState { return s.core.Current() }
func (s *CheckpointSpout) Recovering() bool            { return s.core.Recovering() }

// ParseBarrier reads a tuple of the checkpoint stream.
func ParseBarrier(t topology.Tuple) (checkpoint.Barrier, error) {
	if t.Len() != len(topology.CheckpointFields) {
		return checkpoint.Barrier{}, fmt.Errorf("checkpoint tuple with %d values, want %d", t.Len(), len(topology.CheckpointFields))
	}
	var b checkpoint.Barrier
	switch v := t.Value(0).(type) {
	case int64:
		b.Txid = v
	case int:
		b.Txid = int64(v)
	default:
		return b, fmt.Errorf("checkpoint tuple: txid %v (%T) is not an integer", v, v)
	}
	a, _ := t.Value(1).(string)
	action, err := checkpoint.ParseAction(a)
	if err != nil {
		return b, fmt.Errorf("checkpoint tuple: %w", err)
	}
	b.Action = action
	switch v := t.Value(2).(type) {
	case uint64:
		b.Seq = v
	case int64:
		b.Seq = uint64(v)
	default:
		return b, fmt.Errorf("checkpoint tuple: seq %v (%T) is not an integer", v, v)
	}
	return b, nil
}
