package checkpoint_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/state/checkpoint"
)

// spoutRun drives a Spout and records its steps as text.
type spoutRun struct {
	t   *testing.T
	s   *checkpoint.Spout
	now time.Time
	// last is the seq of the last barrier emitted.
	last  uint64
	saved checkpoint.TxState
	log   []string
}

func (r *spoutRun) next() {
	step, ok := r.s.Next(r.now)
	if !ok {
		r.log = append(r.log, "idle")
		return
	}
	var parts []string
	if step.Save != nil {
		r.saved = *step.Save
		parts = append(parts, "save "+step.Save.String())
	}
	if step.Emit != nil {
		r.last = step.Emit.Seq
		parts = append(parts, fmt.Sprintf("emit %s %d", step.Emit.Action, step.Emit.Txid))
	}
	r.log = append(r.log, strings.Join(parts, ", "))
}

func (r *spoutRun) ack() {
	if save := r.s.Ack(r.last); save != nil {
		r.saved = *save
		r.log = append(r.log, "ack: save "+save.String())
	} else {
		r.log = append(r.log, "ack")
	}
}

// Storm's CheckpointSpout: recovery first, then PREPARE and COMMIT every
// interval; a failure recovers by rolling back or forward.
func TestSpout(t *testing.T) {
	start := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	type op func(r *spoutRun)
	next := func(r *spoutRun) { r.next() }
	ack := func(r *spoutRun) { r.ack() }
	fail := func(r *spoutRun) { r.s.Fail(r.last); r.log = append(r.log, "fail") }
	wait := func(d time.Duration) op { return func(r *spoutRun) { r.now = r.now.Add(d) } }
	tests := []struct {
		name  string
		saved checkpoint.TxState
		ops   []op
		want  []string
	}{
		{"fresh topology", checkpoint.Initial,
			[]op{next, next, ack, next, ack, next, ack, next, wait(500 * time.Millisecond), next, wait(501 * time.Millisecond), next},
			[]string{
				"emit INITSTATE -1", "idle", "ack",
				"save PREPARING(0), emit PREPARE 0", "ack: save COMMITTING(0)",
				"emit COMMIT 0", "ack: save COMMITTED(0)",
				"idle", "idle", // the interval (1 s) has not passed since PREPARE 0
				"save PREPARING(1), emit PREPARE 1",
			}},
		{"a failed prepare is rolled back", checkpoint.Initial,
			[]op{next, ack, next, fail, next, ack, next, ack, next, wait(1001 * time.Millisecond), next, ack},
			[]string{
				"emit INITSTATE -1", "ack",
				"save PREPARING(0), emit PREPARE 0", "fail",
				"emit ROLLBACK 0", "ack: save COMMITTED(-1)",
				"emit INITSTATE -1", "ack",
				"idle", // the next checkpoint is an interval after the last one began
				"save PREPARING(0), emit PREPARE 0", "ack: save COMMITTING(0)",
			}},
		{"a failed commit is committed again", checkpoint.TxState{Txid: 6, Phase: checkpoint.Committed},
			[]op{next, ack, next, ack, next, fail, next, fail, next, ack, next, ack},
			[]string{
				"emit INITSTATE 6", "ack",
				"save PREPARING(7), emit PREPARE 7", "ack: save COMMITTING(7)",
				"emit COMMIT 7", "fail",
				"emit COMMIT 7", "fail",
				"emit COMMIT 7", "ack: save COMMITTED(7)",
				"emit INITSTATE 7", "ack",
			}},
		{"restart while preparing", checkpoint.TxState{Txid: 3, Phase: checkpoint.Preparing},
			[]op{next, ack, next, ack, next},
			[]string{"emit ROLLBACK 3", "ack: save COMMITTED(2)", "emit INITSTATE 2", "ack", "save PREPARING(3), emit PREPARE 3"}},
		{"restart while committing", checkpoint.TxState{Txid: 3, Phase: checkpoint.Committing},
			[]op{next, ack, next, ack, next},
			[]string{"emit COMMIT 3", "ack: save COMMITTED(3)", "emit INITSTATE 3", "ack", "save PREPARING(4), emit PREPARE 4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, first := checkpoint.NewSpout(tt.saved, time.Second)
			if first.Epoch != tt.saved.Epoch+1 || first.Txid != tt.saved.Txid || first.Phase != tt.saved.Phase {
				t.Fatalf("NewSpout(%v) asks to save %+v", tt.saved, first)
			}
			r := &spoutRun{t: t, s: s, now: start}
			for _, o := range tt.ops {
				o(r)
			}
			if !slices.Equal(r.log, tt.want) {
				t.Errorf("steps:\n  %s\nwant:\n  %s", strings.Join(r.log, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

// Acks and fails of barriers no longer in flight change nothing, and each
// emission has a larger seq than the one before, across restarts too.
func TestSpoutSeq(t *testing.T) {
	now := time.Unix(0, 0)
	s, saved := checkpoint.NewSpout(checkpoint.Initial, 0)
	if s.Interval() != checkpoint.MinInterval {
		t.Errorf("Interval() = %v, want the minimum %v", s.Interval(), checkpoint.MinInterval)
	}
	var seqs []uint64
	emit := func() uint64 {
		step, ok := s.Next(now)
		if !ok || step.Emit == nil {
			t.Fatalf("Next() = %+v, %v; want an emit", step, ok)
		}
		if step.Save != nil {
			saved = *step.Save
		}
		seqs = append(seqs, step.Emit.Seq)
		return step.Emit.Seq
	}
	first := emit() // INITSTATE
	s.Ack(first + 1)
	s.Fail(first - 1)
	if s.Stale() != 2 || !s.Recovering() {
		t.Fatalf("after stale ack and fail: stale %d, recovering %v", s.Stale(), s.Recovering())
	}
	if _, ok := s.Next(now); ok {
		t.Fatal("Next emitted while a barrier is in flight")
	}
	s.Ack(first)
	s.Ack(emit()) // PREPARE 0
	// The task restarts with what it saved.
	s, _ = checkpoint.NewSpout(saved, time.Second)
	emit() // COMMIT 0, in recovery
	if !slices.IsSorted(seqs) || len(slices.Compact(slices.Clone(seqs))) != len(seqs) {
		t.Errorf("seqs %x are not increasing", seqs)
	}
}

func TestTxStateRoundTrip(t *testing.T) {
	for _, s := range []checkpoint.TxState{checkpoint.Initial, {Txid: 41, Phase: checkpoint.Committing, Epoch: 3}} {
		got, err := checkpoint.UnmarshalTxState(s.Marshal())
		if err != nil || got != s {
			t.Errorf("UnmarshalTxState(Marshal(%+v)) = %+v, %v", s, got, err)
		}
	}
	for _, bad := range []string{``, `{`, `{"txid": 1, "state": "DONE"}`, `{"txid": "x", "state": "COMMITTED"}`} {
		if _, err := checkpoint.UnmarshalTxState([]byte(bad)); err == nil {
			t.Errorf("UnmarshalTxState(%q) succeeded", bad)
		}
	}
	if _, err := checkpoint.ParseAction("SNAPSHOT"); err == nil {
		t.Error(`ParseAction("SNAPSHOT") succeeded`)
	}
}
