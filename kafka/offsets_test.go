package kafka

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// runOps applies a script of tracker operations, one per word: "t5"
// tracks offset 5, "a5" acks it, "c" asks for the commit point and
// appends it (or "-" when there is none) to the result, "m7" marks 7
// committed, "u" appends the uncommitted count, "x5" appends whether
// acking 5 changed anything, "y5" whether tracking 5 did.
func runOps(t *testing.T, committed int64, script string) string {
	t.Helper()
	tr := newOffsetTracker(committed)
	var out []string
	for _, op := range strings.Fields(script) {
		var n int64
		if len(op) > 1 {
			var err error
			if n, err = strconv.ParseInt(op[1:], 10, 64); err != nil {
				t.Fatalf("bad op %q", op)
			}
		}
		switch op[0] {
		case 't':
			if !tr.track(n) {
				t.Fatalf("track(%d) refused", n)
			}
		case 'y':
			out = append(out, fmt.Sprint(tr.track(n)))
		case 'a':
			if !tr.ack(n) {
				t.Fatalf("ack(%d) refused", n)
			}
		case 'x':
			out = append(out, fmt.Sprint(tr.ack(n)))
		case 'c':
			if p, ok := tr.commitPoint(); ok {
				out = append(out, fmt.Sprint(p))
			} else {
				out = append(out, "-")
			}
		case 'r':
			if p, ok := tr.readyToCommit(); ok {
				out = append(out, fmt.Sprint(p))
			} else {
				out = append(out, "-")
			}
		case 'm':
			tr.markCommitted(n)
		case 'u':
			out = append(out, fmt.Sprint(tr.uncommitted()))
		case 'p':
			out = append(out, fmt.Sprint(tr.pendingCount()))
		default:
			t.Fatalf("bad op %q", op)
		}
	}
	return strings.Join(out, " ")
}

func TestOffsetTrackerCommitPoint(t *testing.T) {
	tests := []struct {
		name      string
		committed int64
		script    string
		want      string
	}{
		{"nothing tracked", -1, "c r", "- -"},
		{"pending first record holds the point", -1, "t0 t1 t2 c", "0"},
		{"in order acks", -1, "t0 t1 t2 a0 c a1 c a2 c", "1 2 3"},
		{"out of order acks wait for the first", -1, "t0 t1 t2 a2 c a1 c a0 c", "0 0 3"},
		{"a gap is no obstacle", -1, "t10 t11 t15 t16 a10 a11 c a15 c a16 c", "15 16 17"},
		{"a gap before the first pending", -1, "t10 t15 a10 c", "15"},
		{"start after the committed offset", 7, "t9 t10 c a9 c", "9 10"},
		{"ready only past the committed offset", 5, "t5 r a5 r m6 r t6 r a6 r", "- 6 - - 7"},
		{"acked twice", -1, "t0 t1 a0 x0 x1 x1 c", "false true false 2"},
		{"ack unknown", -1, "t3 t5 x4 x6 x2 c", "false false false 3"},
		{"track twice or backwards", -1, "t3 t4 y4 y2 y5 c", "false false true 3"},
		{"uncommitted counts from the commit", -1, "t0 t1 t2 u a0 a1 r m2 u t3 t9 u", "3 2 1 8"},
		{"uncommitted counts from the first record", 3, "t5 t6 u", "2"},
		{"a log restarted below the commit", 100, "t0 t1 u r a0 r", "2 - 1"},
		{"pending count", -1, "t0 t1 t2 p a1 p a0 a2 p c p", "3 2 0 3 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := runOps(t, tt.committed, tt.script); got != tt.want {
				t.Errorf("script %q = %q, want %q", tt.script, got, tt.want)
			}
		})
	}
}

// TestOffsetTrackerNeverPassesPending acks records in random order, with
// gaps and commits in between, and checks at every step that the commit
// point is exactly the first unacked record (or the end).
func TestOffsetTrackerNeverPassesPending(t *testing.T) {
	for seed := range uint64(20) {
		r := rand.New(rand.NewPCG(seed, 1))
		tr := newOffsetTracker(-1)
		var offsets []int64
		acked := map[int64]bool{}
		off := int64(r.IntN(10))
		for range 3000 {
			off += 1 + int64(r.IntN(3)/2*r.IntN(5)) // mostly contiguous, some gaps
			if !tr.track(off) {
				t.Fatalf("seed %d: track(%d) refused", seed, off)
			}
			offsets = append(offsets, off)
			for range r.IntN(3) {
				o := offsets[r.IntN(len(offsets))]
				if tr.ack(o) == acked[o] {
					t.Fatalf("seed %d: ack(%d) with acked=%v", seed, o, acked[o])
				}
				acked[o] = true
			}
			if r.IntN(10) == 0 {
				p, ok := tr.commitPoint()
				want := off + 1
				for _, o := range offsets {
					if !acked[o] {
						want = o
						break
					}
				}
				if !ok || p != want {
					t.Fatalf("seed %d: commitPoint() = %d, %v; want %d", seed, p, ok, want)
				}
				tr.markCommitted(p)
			}
		}
		if got, want := tr.pendingCount(), len(offsets)-len(acked); got != want {
			t.Errorf("seed %d: pendingCount() = %d, want %d", seed, got, want)
		}
	}
}

func BenchmarkOffsetTracker(b *testing.B) {
	tr := newOffsetTracker(-1)
	for i := range int64(b.N) {
		tr.track(i)
		if i >= 64 {
			tr.ack(i - 64)
		}
		if i%4096 == 0 {
			tr.commitPoint()
		}
	}
}

// TestOffsetTrackerWindowFollowsInflight checks that the tracker forgets
// acked records as the acks come, not only at commits: between two commits
// (30 s by default) a task polls millions of records, and a window of all
// of them cost memory and copying.
func TestOffsetTrackerWindowFollowsInflight(t *testing.T) {
	const n, inflight = 200_000, 100
	tr := newOffsetTracker(-1)
	for off := range int64(n) {
		if !tr.track(off) {
			t.Fatalf("track(%d) refused", off)
		}
		if off >= inflight && !tr.ack(off-inflight) {
			t.Fatalf("ack(%d) refused", off-inflight)
		}
		if live := len(tr.recs) - tr.head; live > inflight+1 {
			t.Fatalf("after %d records the window holds %d, want at most %d (the records in flight)", off+1, live, inflight+1)
		}
	}
	if cap(tr.recs) > 4*1024 {
		t.Errorf("the window grew to a capacity of %d records with %d in flight", cap(tr.recs), inflight)
	}
	if p, ok := tr.readyToCommit(); !ok || p != n-inflight {
		t.Errorf("readyToCommit = %d, %v; want %d, true", p, ok, n-inflight)
	}
	for off := int64(n - inflight); off < n; off++ {
		tr.ack(off)
	}
	if p, ok := tr.readyToCommit(); !ok || p != n {
		t.Errorf("readyToCommit after every ack = %d, %v; want %d, true", p, ok, n)
	}
}
