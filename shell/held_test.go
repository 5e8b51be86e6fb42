package shell

import (
	"strconv"
	"testing"
	"time"

	"github.com/squallstream/squall/topology"
)

// TestHeldSetFullOfYoungTrackedTuples: a set full of tracked tuples
// that have not timed out has no room, and stays without room (without
// scanning again) until one of them times out or an untracked tuple is
// added; then makeRoom releases what it may, as before.
func TestHeldSetFullOfYoungTrackedTuples(t *testing.T) {
	const size = 100
	timeout := 30 * time.Second
	t0 := time.Unix(1_700_000_000, 0)
	fill := func() *heldSet {
		h := newHeldSet(size, timeout)
		for i := range size {
			h.add(strconv.Itoa(i), heldTuple{tuple: tracked("w"), sent: t0.Add(time.Duration(i) * time.Millisecond)})
		}
		return h
	}

	t.Run("until the oldest times out", func(t *testing.T) {
		h := fill()
		for _, at := range []time.Time{t0.Add(time.Second), t0.Add(timeout - time.Millisecond)} {
			if room, released := h.makeRoom(at); room || released != 0 {
				t.Fatalf("makeRoom at +%v = %v, %d; want no room, nothing released", at.Sub(t0), room, released)
			}
		}
		room, released := h.makeRoom(t0.Add(timeout + 20*time.Millisecond))
		if !room || released == 0 {
			t.Fatalf("makeRoom after the oldest timed out = %v, %d; want room, timed-out tuples released", room, released)
		}
	})

	t.Run("until an untracked tuple is added", func(t *testing.T) {
		h := fill()
		if room, _ := h.makeRoom(t0.Add(time.Second)); room {
			t.Fatal("room in a set full of young tracked tuples")
		}
		h.takeFrom("0", nil)
		h.add("u", heldTuple{tuple: topology.NewTuple(sourceSrc, []any{"u"}, nil), sent: t0.Add(2 * time.Second)})
		room, released := h.makeRoom(t0.Add(2 * time.Second))
		if !room || released != 1 || h.untracked != 1 {
			t.Fatalf("makeRoom after an untracked tuple was added = %v, %d (untracked released %d); want room, it released", room, released, h.untracked)
		}
	})
}

// TestTupleIDs checks that a bolt's tuple ids are signed 64-bit decimal
// numbers, distinct, and not the same sequence for two bolts.
func TestTupleIDs(t *testing.T) {
	var a, b tupleIDs
	seen := map[string]bool{}
	for range 100_000 {
		id := a.next()
		if _, err := strconv.ParseInt(id, 10, 64); err != nil {
			t.Fatalf("next() = %q, not a signed 64-bit decimal number: %v", id, err)
		}
		if seen[id] {
			t.Fatalf("next() = %q twice", id)
		}
		seen[id] = true
	}
	if id := b.next(); seen[id] {
		t.Errorf("a second generator's first id %q is one of the first's", id)
	}
}
