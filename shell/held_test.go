package shell

import (
	"slices"
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
	var first string
	fill := func() *heldSet {
		h := newHeldSet(size, timeout)
		for i := range size {
			id := h.add(heldTuple{tuple: tracked("w"), sent: t0.Add(time.Duration(i) * time.Millisecond)})
			if i == 0 {
				first = id
			}
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
		h.takeFrom(first, nil)
		h.add(heldTuple{tuple: topology.NewTuple(sourceSrc, []any{"u"}, nil), sent: t0.Add(2 * time.Second)})
		room, released := h.makeRoom(t0.Add(2 * time.Second))
		if !room || released != 1 || h.untracked != 1 {
			t.Fatalf("makeRoom after an untracked tuple was added = %v, %d (untracked released %d); want room, it released", room, released, h.untracked)
		}
	})
}

// TestTupleIDs checks that a bolt's tuple ids are signed 64-bit decimal
// numbers, distinct, not the same sequence for two bolts, and turn back
// into their sequence numbers, while other strings do not.
func TestTupleIDs(t *testing.T) {
	var a, b tupleIDs
	seen := map[string]bool{}
	for want := range uint64(100_000) {
		id, seq := a.next()
		if _, err := strconv.ParseInt(id, 10, 64); err != nil {
			t.Fatalf("next() = %q, not a signed 64-bit decimal number: %v", id, err)
		}
		if seen[id] {
			t.Fatalf("next() = %q twice", id)
		}
		seen[id] = true
		if got, ok := a.seq(id); seq != want || got != want || !ok {
			t.Fatalf("next() = %q, %d; seq(%q) = %d, %v; want %d, true", id, seq, id, got, ok, want)
		}
	}
	if id, _ := b.next(); seen[id] {
		t.Errorf("a second generator's first id %q is one of the first's", id)
	}
	for _, id := range []string{"", "x", "12345", "-6955786537413359385", "18446744073709551615", "1e5"} {
		if seq, ok := a.seq(id); ok {
			t.Errorf("seq(%q) = %d, true; want false: not an id a issued", id, seq)
		}
	}
}

// TestHeldSetOutOfOrder takes tuples in another order than they were
// added, holding some back long after the others, and checks that every
// tuple is found until taken, and never after, that the window stays
// small, and that dropChild returns the rest oldest first.
func TestHeldSetOutOfOrder(t *testing.T) {
	c1, c2 := &child{}, &child{}
	h := newHeldSet(1_000_000, 0)
	type entry struct {
		id    string
		v     string
		by    *child
		taken bool
	}
	var all []*entry
	for i := range 20_000 {
		by := c1
		if i%3 == 0 {
			by = c2
		}
		v := strconv.Itoa(i)
		all = append(all, &entry{id: h.add(heldTuple{tuple: tracked(v), by: by}), v: v, by: by})
		// Take a tuple 7 to 13 behind the newest, out of order; those
		// never picked (every 97th turn picks none) are stragglers,
		// held to the end.
		if i >= 10 && (i-10)%97 != 0 {
			e := all[i-10+(i%7)-3]
			if e.taken {
				continue
			}
			if got, ok := h.takeFrom(e.id, c1); ok != (e.by == c1) || ok && got.tuple.Values()[0] != e.v {
				t.Fatalf("takeFrom(%q, c1) = %v, %v; want tuple %s, %v", e.id, got.tuple.Values(), ok, e.v, e.by == c1)
			}
			if e.by == c2 {
				if _, ok := h.takeFrom(e.id, c2); !ok {
					t.Fatalf("takeFrom(%q, c2) = false, want its tuple", e.id)
				}
			}
			e.taken = true
			if _, ok := h.get(e.id); ok {
				t.Fatalf("get(%q) after it was taken = true", e.id)
			}
		}
	}
	held := 0
	for _, e := range all {
		if _, ok := h.get(e.id); ok == e.taken {
			t.Fatalf("get(%q) = %v, want %v", e.id, ok, !e.taken)
		}
		if !e.taken {
			held++
		}
	}
	if len(h.old) == 0 {
		t.Fatal("no tuple moved to old: the stragglers are not exercised")
	}
	if h.len() != held || h.window.len() > 2*held+windowSlack {
		t.Errorf("len() = %d with a window of %d slots; want %d, at most %d slots", h.len(), h.window.len(), held, 2*held+windowSlack)
	}
	var want []string
	for _, e := range all {
		if !e.taken && e.by == c2 {
			want = append(want, e.v)
		}
	}
	if got := values(h.dropChild(c2)); !slices.Equal(got, want) {
		t.Errorf("dropChild(c2) = %d tuples %v..., want %d oldest first", len(got), got[:min(5, len(got))], len(want))
	}
	if h.len() != held-len(want) {
		t.Errorf("len() after dropChild = %d, want %d", h.len(), held-len(want))
	}
}

// A slotRing doubles as it fills and halves as it empties, down to its
// first size, keeping its slots in order: it is never more than four
// times what it holds, or minRingSlots.
func TestSlotRingGrowsAndShrinks(t *testing.T) {
	var r slotRing
	const burst = 10_000
	next, first := 0, 0 // the ids pushed next and at the front
	push := func() {
		r.push(heldSlot{id: strconv.Itoa(next)})
		next++
	}
	pop := func() {
		if got, want := r.at(0).id, strconv.Itoa(first); got != want {
			t.Fatalf("front of the ring = %s, want %s", got, want)
		}
		r.pop()
		first++
		if len(r.slots) > max(minRingSlots, 4*r.len()) {
			t.Fatalf("a ring of %d slots holds %d", len(r.slots), r.len())
		}
	}
	for range burst {
		push()
	}
	if len(r.slots) < burst {
		t.Fatalf("a ring of %d slots after %d pushes", len(r.slots), burst)
	}
	// Interleaved, as a bolt admits and releases, draining slowly.
	for r.len() > 0 {
		pop()
		if r.len() > 0 {
			pop()
			push()
		}
	}
	if len(r.slots) != minRingSlots {
		t.Errorf("an empty ring after a burst has %d slots, want %d", len(r.slots), minRingSlots)
	}
	for range 3 * minRingSlots { // grows again
		push()
	}
	for r.len() > 0 {
		pop()
	}
}

// A heldSet whose child held many tuples at once keeps a window of
// minRingSlots once they are acked.
func TestHeldSetShrinksAfterBurst(t *testing.T) {
	h := newHeldSet(100_000, time.Minute)
	var ids []string
	for range 50_000 {
		ids = append(ids, h.add(heldTuple{tuple: tracked("w")}))
	}
	for _, id := range ids {
		if _, ok := h.takeFrom(id, nil); !ok {
			t.Fatalf("tuple %s not held", id)
		}
	}
	if h.len() != 0 || len(h.window.slots) != minRingSlots {
		t.Errorf("after a burst of 50000 acked tuples: %d held in a window of %d slots, want 0 in %d",
			h.len(), len(h.window.slots), minRingSlots)
	}
}
