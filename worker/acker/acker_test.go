package acker

import (
	"math/rand/v2"
	"testing"
	"time"
)

// t0 is an arbitrary start on the tracker's clock.
var t0 = int64(1000 * time.Second)

// tree simulates a tuple tree: the spout sends tuples, bolts ack them
// anchoring new tuples, and the messages reach the tracker in any order.
type tree struct {
	root uint64
	// msgs are the messages for the tracker, in the order they were made.
	msgs []msg
	rng  *rand.Rand
}

type msg struct {
	kind string // init, ack, fail
	val  uint64
}

// spout returns the ids of n tuples sent by the spout and queues the init.
func (tr *tree) spout(n int) []uint64 {
	var ids []uint64
	var xor uint64
	for range n {
		id := tr.rng.Uint64()
		ids = append(ids, id)
		xor ^= id
	}
	tr.msgs = append(tr.msgs, msg{"init", xor})
	return ids
}

// ack acks tuple id, which anchored children new tuples, whose ids are
// returned.
func (tr *tree) ack(id uint64, children int) []uint64 {
	val := id
	var out []uint64
	for range children {
		c := tr.rng.Uint64()
		out = append(out, c)
		val ^= c
	}
	tr.msgs = append(tr.msgs, msg{"ack", val})
	return out
}

func (tr *tree) play(t *testing.T, tk *Tracker, order []int) []Result {
	t.Helper()
	var results []Result
	for i, j := range order {
		m := tr.msgs[j]
		now := t0 + int64(time.Duration(i)*time.Millisecond)
		var r Result
		switch m.kind {
		case "init":
			r = tk.Init(tr.root, m.val, 7, now)
		case "ack":
			r = tk.Ack(tr.root, m.val, now)
		case "fail":
			r = tk.Fail(tr.root, now)
		}
		if r.Outcome != Pending {
			results = append(results, r)
		}
	}
	return results
}

func TestTrees(t *testing.T) {
	tests := []struct {
		name  string
		build func(tr *tree)
		want  Outcome
	}{
		{"single tuple", func(tr *tree) {
			ids := tr.spout(1)
			tr.ack(ids[0], 0)
		}, Completed},
		{"chain", func(tr *tree) {
			ids := tr.spout(1)
			for range 5 {
				ids = tr.ack(ids[0], 1)
			}
			tr.ack(ids[0], 0)
		}, Completed},
		{"fan out to several tasks and bolts", func(tr *tree) {
			ids := tr.spout(3) // e.g. an ALL grouping
			var next []uint64
			for _, id := range ids {
				next = append(next, tr.ack(id, 4)...)
			}
			for _, id := range next {
				for _, c := range tr.ack(id, 2) {
					tr.ack(c, 0)
				}
			}
		}, Completed},
		{"zero-target emit", func(tr *tree) {
			tr.msgs = append(tr.msgs, msg{"init", 0})
		}, Completed},
		{"unacked leaf", func(tr *tree) {
			ids := tr.spout(1)
			tr.ack(ids[0], 2) // the two children are never acked
		}, Pending},
		{"failure", func(tr *tree) {
			ids := tr.spout(2)
			tr.ack(ids[0], 0)
			tr.msgs = append(tr.msgs, msg{"fail", 0})
		}, Failed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for seed := range uint64(50) {
				tr := &tree{root: seed + 1, rng: rand.New(rand.NewPCG(seed, 1))}
				tt.build(tr)
				// Every order the messages may arrive in: here, random
				// permutations, including acks before the init.
				order := tr.rng.Perm(len(tr.msgs))
				if seed == 0 {
					order = order[:0]
					for i := range tr.msgs {
						order = append(order, i)
					}
				}
				tk := New()
				results := tr.play(t, tk, order)
				switch {
				case tt.want == Pending && len(results) != 0:
					t.Fatalf("seed %d: results %v, want none", seed, results)
				case tt.want != Pending && (len(results) != 1 || results[0].Outcome != tt.want || results[0].SpoutTask != 7 || results[0].Root != tr.root):
					t.Fatalf("seed %d order %v: results %+v, want one %v for spout task 7", seed, order, results, tt.want)
				}
				// Acks that arrive after a failure leave an entry that only
				// expiry removes, as in Storm; nothing else may be left.
				if tt.want == Completed && tk.Len() != 0 {
					t.Fatalf("seed %d: %d trees left after the outcome", seed, tk.Len())
				}
				if tt.want != Completed {
					tk.Expire(t0+int64(time.Hour), time.Minute)
				}
				if tk.Len() != 0 {
					t.Fatalf("seed %d: %d trees left after expiry", seed, tk.Len())
				}
			}
		})
	}
}

// TestMultiAnchoring: a tuple anchored to two inputs of different trees
// carries one id into both; acking it settles its part in each.
func TestMultiAnchoring(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	tk := New()
	a, b := rng.Uint64(), rng.Uint64() // the spout tuples of trees 1 and 2
	tk.Init(1, a, 5, t0)
	tk.Init(2, b, 6, t0)
	joined := rng.Uint64() // anchored to both
	if r := tk.Ack(1, a^joined, t0); r.Outcome != Pending {
		t.Fatalf("tree 1 finished early: %+v", r)
	}
	if r := tk.Ack(2, b^joined, t0); r.Outcome != Pending {
		t.Fatalf("tree 2 finished early: %+v", r)
	}
	if r := tk.Ack(1, joined, t0); r.Outcome != Completed || r.SpoutTask != 5 {
		t.Errorf("tree 1: %+v, want completed for task 5", r)
	}
	if r := tk.Ack(2, joined, t0); r.Outcome != Completed || r.SpoutTask != 6 {
		t.Errorf("tree 2: %+v, want completed for task 6", r)
	}
}

func TestFailBeforeInit(t *testing.T) {
	tk := New()
	if r := tk.Fail(9, t0); r.Outcome != Pending {
		t.Fatalf("Fail before init = %+v, want pending", r)
	}
	if r := tk.Init(9, 123, 4, t0); r.Outcome != Failed || r.SpoutTask != 4 {
		t.Errorf("Init after fail = %+v, want failed", r)
	}
}

func TestResetAndExpire(t *testing.T) {
	tk := New()
	tk.Init(1, 10, 3, t0)
	tk.Init(2, 20, 3, t0)
	tk.Ack(3, 30, t0) // never inited
	if r := tk.Reset(2, t0+int64(20*time.Second)); r.Outcome != Reset || r.SpoutTask != 3 {
		t.Errorf("Reset = %+v, want a reset for task 3", r)
	}
	if r := tk.Reset(3, t0+int64(20*time.Second)); r.Outcome != Pending {
		t.Errorf("Reset before init = %+v, want pending", r)
	}
	if r := tk.Reset(99, t0); r.Outcome != Pending || tk.Len() != 3 {
		t.Errorf("Reset of an unknown tree = %+v, trees %d", r, tk.Len())
	}
	if n := tk.Expire(t0+int64(30*time.Second), 30*time.Second); n != 1 {
		t.Errorf("Expire = %d, want 1 (tree 1; trees 2 and 3 were touched later)", n)
	}
	if n := tk.Expire(t0+int64(50*time.Second), 30*time.Second); n != 2 || tk.Len() != 0 {
		t.Errorf("Expire = %d, left %d; want 2, 0", n, tk.Len())
	}
}

// TestRootZero: no tree has root 0; messages claiming it (only a corrupt
// peer sends them) are ignored rather than crashing the table.
func TestRootZero(t *testing.T) {
	tk := New()
	for _, r := range []Result{tk.Init(0, 1, 2, t0), tk.Ack(0, 1, t0), tk.Fail(0, t0), tk.Reset(0, t0)} {
		if r.Outcome != Pending {
			t.Errorf("a message for root 0 = %+v, want pending", r)
		}
	}
	if tk.Len() != 0 {
		t.Errorf("%d trees after messages for root 0, want none", tk.Len())
	}
}
