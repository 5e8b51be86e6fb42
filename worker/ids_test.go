package worker

import "testing"

func TestIDSourceNonZeroDistinct(t *testing.T) {
	var a, b idSource
	seen := make(map[uint64]bool, 200000)
	for range 100000 {
		for _, s := range []*idSource{&a, &b} {
			id := s.next()
			if id == 0 {
				t.Fatal("an id source returned 0, which no tuple tree may have")
			}
			if seen[id] {
				t.Fatalf("id %#x returned twice", id)
			}
			seen[id] = true
		}
	}
}

func TestIDSourceSkipsZero(t *testing.T) {
	// From this state the counter's next value is 0, which mixes to 0.
	s := idSource{state: -0x9e3779b97f4a7c15 & (1<<64 - 1)}
	if id := s.next(); id == 0 {
		t.Fatal("next returned 0")
	}
}

// TestSeqOf: the ids of one source follow each other in seqOf.
func TestSeqOf(t *testing.T) {
	for _, start := range []uint64{0, 1, 0x9e3779b97f4a7c15, 1<<64 - 1, 0x0123456789abcdef} {
		s := idSource{state: start}
		prev := seqOf(s.next())
		for i := range 1000 {
			id := s.next()
			if got := seqOf(id); got != prev+1 {
				t.Fatalf("start %#x, id %d: seqOf(%#x) = %d, want %d", start, i, id, got, prev+1)
			}
			prev++
		}
	}
	// The one counter value that mixes to 0 is skipped: its neighbours'
	// ids are two apart in seqOf.
	step := uint64(0x9e3779b97f4a7c15)
	s := idSource{state: 0 - 3*step} // the third next is at counter 0
	seqs := []uint64{seqOf(s.next()), seqOf(s.next()), seqOf(s.next())}
	if seqs[1] != seqs[0]+1 || seqs[2] != seqs[1]+2 {
		t.Errorf("seqOf around the skipped zero: %d, %d, %d; want n, n+1, n+3", seqs[0], seqs[1], seqs[2])
	}
}
