package checkpoint

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
)

// ID identifies a tuple across replays: the same input replayed by its
// spout has the same ID. 128 bits, so that a collision (which would drop a
// tuple as a duplicate) is negligible among the millions an exactly-once
// bolt remembers.
type ID [16]byte

// SeenKeyPrefix starts the keys under which an exactly-once bolt keeps, in
// its own key-value state and in the same transactions as its other keys,
// the IDs of the tuples each transaction includes. User keys never start
// with a 0 byte (the runtime refuses them), so they cannot collide.
const SeenKeyPrefix = "\x00squall/seen/"

// seenChunk is how many IDs one record holds (1 MiB), below the state's
// value limit however many tuples a transaction has.
const seenChunk = 1 << 16

// uncommitted marks, in dedup.seen, an ID whose transaction is not committed.
const uncommitted int64 = math.MinInt64

// dedup remembers the IDs of the tuples a bolt's recent transactions
// included, so that a replay of one is recognised. It keeps the IDs of the
// last retain committed transactions, and at most max IDs (dropping the
// oldest transactions' first).
type dedup struct {
	retain int64
	max    int
	// seen maps an ID to the transaction that committed it, or uncommitted.
	seen map[ID]int64
	// committed lists each committed transaction's IDs and its record's
	// chunk count, for expiry.
	committed map[int64][]ID
	// pending are the IDs recorded since the last prepare, prepared those
	// of the prepared transaction (preparedTx, NoTxid: none).
	pending, prepared []ID
	preparedTx        int64
	// obsolete are keys of expired records found by load, deleted by the
	// next prepare.
	obsolete []string
	evicted  int
}

func newDedup(retain int64, max int) *dedup {
	return &dedup{
		retain:     max64(retain, 1),
		max:        max,
		seen:       make(map[ID]int64),
		committed:  make(map[int64][]ID),
		preparedTx: -1,
	}
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

func (d *dedup) has(id ID) bool { _, ok := d.seen[id]; return ok }

// isCommitted reports whether a committed transaction included id.
func (d *dedup) isCommitted(id ID) bool { t, ok := d.seen[id]; return ok && t != uncommitted }

func (d *dedup) add(id ID) {
	d.seen[id] = uncommitted
	d.pending = append(d.pending, id)
}

// forget drops an uncommitted ID whose tuple failed: its replay must run.
func (d *dedup) forget(id ID) {
	if t, ok := d.seen[id]; ok && t == uncommitted {
		delete(d.seen, id)
	}
}

// seenKey is the key of chunk i of transaction txid's record.
func seenKey(txid int64, i int) string {
	var b [12]byte
	binary.BigEndian.PutUint64(b[:8], uint64(txid))
	binary.BigEndian.PutUint32(b[8:], uint32(i))
	return SeenKeyPrefix + string(b[:])
}

func chunks(n int) int { return (n + seenChunk - 1) / seenChunk }

// prepare returns the writes that record transaction txid's IDs (every ID
// since the last commit whose tuple did not fail) and delete the records
// that expire with it, for the state's transaction txid.
func (d *dedup) prepare(txid int64) map[string][]byte {
	ids := make([]ID, 0, len(d.prepared)+len(d.pending))
	inTx := make(map[ID]bool, cap(ids))
	for _, id := range slices.Concat(d.prepared, d.pending) {
		if t, ok := d.seen[id]; ok && t == uncommitted && !inTx[id] {
			inTx[id] = true
			ids = append(ids, id)
		}
	}
	writes := make(map[string][]byte)
	for i := range chunks(len(ids)) {
		part := ids[i*seenChunk : min(len(ids), (i+1)*seenChunk)]
		v := make([]byte, 0, 16*len(part))
		for _, id := range part {
			v = append(v, id[:]...)
		}
		writes[seenKey(txid, i)] = v
	}
	for t, old := range d.committed {
		if t <= txid-d.retain {
			for i := range max(chunks(len(old)), 1) {
				writes[seenKey(t, i)] = nil
			}
		}
	}
	for _, k := range d.obsolete {
		writes[k] = nil
	}
	d.obsolete = nil
	d.prepared, d.pending, d.preparedTx = ids, nil, txid
	return writes
}

// commit makes the prepared transaction's IDs committed and expires the
// IDs of transactions retain or more before it.
func (d *dedup) commit(txid int64) {
	if d.preparedTx != txid {
		return
	}
	for _, id := range d.prepared {
		d.seen[id] = txid
	}
	d.committed[txid] = d.prepared
	d.prepared, d.preparedTx = nil, -1
	for t := range d.committed {
		if t <= txid-d.retain {
			d.expire(t)
		}
	}
	d.enforceMax()
}

func (d *dedup) expire(txid int64) {
	for _, id := range d.committed[txid] {
		if d.seen[id] == txid {
			delete(d.seen, id)
		}
	}
	delete(d.committed, txid)
}

// enforceMax expires the oldest committed transactions while more than max
// IDs are remembered.
func (d *dedup) enforceMax() {
	for d.max > 0 && len(d.seen) > d.max && len(d.committed) > 0 {
		oldest := int64(math.MaxInt64)
		for t := range d.committed {
			oldest = min(oldest, t)
		}
		d.evicted += len(d.committed[oldest])
		d.expire(oldest)
	}
}

// rollback forgets every uncommitted ID: the state no longer has their
// tuples' effects.
func (d *dedup) rollback() {
	for _, id := range slices.Concat(d.prepared, d.pending) {
		d.forget(id)
	}
	d.prepared, d.pending, d.preparedTx = nil, nil, -1
}

// load restores the committed records of a state whose last committed
// transaction is committed, from its keys under SeenKeyPrefix.
func (d *dedup) load(committed int64, key string, value []byte) error {
	if !strings.HasPrefix(key, SeenKeyPrefix) {
		return nil
	}
	rest := key[len(SeenKeyPrefix):]
	if len(rest) != 12 || len(value)%16 != 0 {
		return fmt.Errorf("dedup record %q: %d bytes", key, len(value))
	}
	txid := int64(binary.BigEndian.Uint64([]byte(rest[:8])))
	if txid <= committed-d.retain {
		d.obsolete = append(d.obsolete, key)
		return nil
	}
	ids := d.committed[txid]
	for i := 0; i < len(value); i += 16 {
		id := ID(value[i : i+16])
		ids = append(ids, id)
		d.seen[id] = txid
	}
	d.committed[txid] = ids
	return nil
}
