package checkpoint

import (
	"encoding/binary"
	"testing"

	"github.com/squallstream/squall/state"
	"github.com/squallstream/squall/state/memstore"
)

func idOf(n int) ID {
	var id ID
	binary.BigEndian.PutUint64(id[8:], uint64(n))
	return id
}

// A transaction with more IDs than one record holds is written in chunks
// that fit the state's value limit, and read back whole; expiry deletes
// every chunk.
func TestDedupChunks(t *testing.T) {
	const n = seenChunk*2 + 5
	st, err := state.Open(memstore.New().Backend("ns"))
	if err != nil {
		t.Fatal(err)
	}
	d := newDedup(1, 0)
	for i := range n {
		d.add(idOf(i))
	}
	apply := func(writes map[string][]byte) {
		t.Helper()
		for k, v := range writes {
			if len(v) > state.MaxValueBytes {
				t.Fatalf("record %q has %d bytes, over the state's limit", k, len(v))
			}
			if v == nil {
				err = st.Delete(k)
			} else {
				err = st.Put(k, v)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	w := d.prepare(0)
	if len(w) != 3 {
		t.Fatalf("prepare wrote %d records, want 3", len(w))
	}
	apply(w)
	if err := st.PrepareCommit(0); err != nil {
		t.Fatal(err)
	}
	if err := st.Commit(0); err != nil {
		t.Fatal(err)
	}
	d.commit(0)

	loaded := newDedup(1, 0)
	committed := st.Committed() // Range's fn must not use the state
	if err := st.Range(func(k string, v []byte) bool {
		if err := loaded.load(committed, k, v); err != nil {
			t.Fatal(err)
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, seenChunk, n - 1} {
		if !loaded.has(idOf(i)) {
			t.Errorf("loaded dedup lacks ID %d", i)
		}
	}
	if len(loaded.seen) != n {
		t.Errorf("loaded %d IDs, want %d", len(loaded.seen), n)
	}

	// Transaction 1 expires transaction 0's three chunks.
	w = loaded.prepare(1)
	deleted := 0
	for _, v := range w {
		if v == nil {
			deleted++
		}
	}
	if deleted != 3 {
		t.Errorf("prepare(1) deletes %d records, want 3", deleted)
	}
	loaded.commit(1)
	if loaded.has(idOf(0)) {
		t.Error("ID of an expired transaction is still remembered")
	}
}

func TestDedupMaxSeen(t *testing.T) {
	d := newDedup(100, 3)
	for tx := range int64(3) {
		d.add(idOf(int(2 * tx)))
		d.add(idOf(int(2*tx + 1)))
		d.prepare(tx)
		d.commit(tx)
	}
	// 6 IDs in 3 transactions, at most 3 remembered: the oldest two
	// transactions went.
	if len(d.seen) != 2 || d.evicted != 4 || d.has(idOf(3)) || !d.has(idOf(5)) {
		t.Errorf("after the cap: %d seen, %d evicted", len(d.seen), d.evicted)
	}
}

func TestDedupLoadRejectsBadRecords(t *testing.T) {
	d := newDedup(1, 0)
	if err := d.load(0, SeenKeyPrefix+"short", nil); err == nil {
		t.Error("load accepted a key of the wrong length")
	}
	if err := d.load(0, seenKey(0, 0), make([]byte, 17)); err == nil {
		t.Error("load accepted a record of the wrong length")
	}
}
