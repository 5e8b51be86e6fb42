package builtin

import (
	"testing"
	"time"

	"github.com/squallstream/squall/state"
	"github.com/squallstream/squall/state/checkpoint"
	"github.com/squallstream/squall/state/memstore"
	"github.com/squallstream/squall/topology"
)

func openMem(t *testing.T, s *memstore.Store, ns string) *state.State {
	t.Helper()
	st, err := state.Open(s.Backend(ns))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func savedTx(t *testing.T, s *memstore.Store) checkpoint.TxState {
	t.Helper()
	v, ok, err := openMem(t, s, "cp").Get(checkpoint.StateKey)
	if err != nil || !ok {
		t.Fatalf("saved state: %v %v", ok, err)
	}
	ts, err := checkpoint.UnmarshalTxState(v)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// The checkpoint spout recovers at start (INITSTATE), then prepares and
// commits, saving each step before emitting it; a restarted spout
// recovers from what was saved.
func TestCheckpointSpout(t *testing.T) {
	store := memstore.New()
	now := time.Unix(1000, 0)
	out := &fakeSpoutCollector{}
	s := NewCheckpointSpout(openMem(t, store, "cp"), 100*time.Millisecond)
	s.now = func() time.Time { return now }
	if err := s.Open(nil, out); err != nil {
		t.Fatal(err)
	}
	step := func(wantAction checkpoint.Action, wantTxid int64, wantSaved checkpoint.Phase, ack bool) {
		t.Helper()
		n := len(out.emits)
		s.Next()
		if len(out.emits) != n+1 {
			t.Fatalf("Next emitted %d barriers, want 1", len(out.emits)-n)
		}
		e := out.emits[n]
		b, err := ParseBarrier(topology.NewTuple(&topology.Source{Fields: topology.NewFields(topology.CheckpointFields...)}, e.values, nil))
		if err != nil || e.stream != topology.CheckpointStream || b.Action != wantAction || b.Txid != wantTxid || e.msgID != b.Seq {
			t.Fatalf("Next emitted %v on %q (id %v, %v), want %s(%d)", b, e.stream, e.msgID, err, wantAction, wantTxid)
		}
		if got := savedTx(t, store); got.Phase != wantSaved {
			t.Errorf("saved %v before %v, want phase %s", got, b, wantSaved)
		}
		s.Next()
		if len(out.emits) != n+1 {
			t.Fatalf("Next emitted a barrier while %v was in flight", b)
		}
		if ack {
			s.Ack(b.Seq)
		}
	}
	step(checkpoint.InitState, -1, checkpoint.Committed, true)
	step(checkpoint.Prepare, 0, checkpoint.Preparing, true)
	step(checkpoint.Commit, 0, checkpoint.Committing, true)
	if got := savedTx(t, store); got.Phase != checkpoint.Committed || got.Txid != 0 {
		t.Errorf("after the commit's ack: saved %v, want COMMITTED(0)", got)
	}
	s.Next()
	if len(out.emits) != 3 {
		t.Errorf("a checkpoint started before its interval")
	}
	now = now.Add(time.Second)
	step(checkpoint.Prepare, 1, checkpoint.Preparing, false)
	s.Close()

	// Restarted while PREPARING(1) (its barrier never acked): ROLLBACK,
	// then INITSTATE.
	out = &fakeSpoutCollector{}
	s = NewCheckpointSpout(openMem(t, store, "cp"), 100*time.Millisecond)
	s.now = func() time.Time { return now }
	if err := s.Open(nil, out); err != nil {
		t.Fatal(err)
	}
	step(checkpoint.Rollback, 1, checkpoint.Preparing, true)
	step(checkpoint.InitState, 0, checkpoint.Committed, true)
}

func TestParseBarrierInvalid(t *testing.T) {
	src := &topology.Source{Fields: topology.NewFields(topology.CheckpointFields...)}
	for _, values := range [][]any{
		{int64(1), "PREPARE"},
		{"1", "PREPARE", uint64(1)},
		{int64(1), "PERPARE", uint64(1)},
		{int64(1), "COMMIT", "x"},
	} {
		if b, err := ParseBarrier(topology.NewTuple(src, values, nil)); err == nil {
			t.Errorf("ParseBarrier(%v) = %v, want an error", values, b)
		}
	}
}

// StatefulCountBolt keeps its counts in its state.
func TestStatefulCountBolt(t *testing.T) {
	st := openMem(t, memstore.New(), "count")
	out := &fakeBoltCollector{}
	b := NewStatefulCountBolt(CountConfig{Field: "word"})
	if err := b.Prepare(nil, out); err != nil {
		t.Fatal(err)
	}
	b.InitState(st)
	src := &topology.Source{Component: "split", Stream: "default", Fields: topology.NewFields("word")}
	for _, w := range []string{"a", "b", "a"} {
		b.Execute(topology.NewTuple(src, []any{w}, nil))
	}
	if v, _, _ := st.Get("a"); string(v) != "2" {
		t.Errorf("state a = %q, want 2", v)
	}
	if len(out.acked) != 3 || len(out.emits) != 3 || out.emits[2].values[1] != int64(2) {
		t.Errorf("acked %d, emitted %v", len(out.acked), out.emits)
	}
}
