package kafka

import "sort"

// offsetTracker follows the records of one partition that the spout polled
// under the AT_LEAST_ONCE guarantee, and says how far the partition may be
// committed: up to, not including, the first record not yet acked. Offsets
// that no record was polled for (compacted away, transaction markers) are
// no obstacle, as in Storm's OffsetManager: the next commit point is the
// offset of the first pending record, or the offset after the newest
// polled record when none is pending.
//
// It is pure and not safe for concurrent use: the spout's executor
// goroutine owns it.
type offsetTracker struct {
	// recs holds, in increasing offset order from index head, the offsets
	// of the polled records not yet passed by a commit point: a pending
	// record as its offset, an acked one as -1-offset (offsets are never
	// negative), so that the window costs 8 bytes a record, as Storm's
	// does.
	recs []int64
	head int
	// first is the offset of the first record tracked; next the offset
	// after the newest. started says whether any record was tracked.
	first, next int64
	started     bool
	// pending counts the records not yet acked.
	pending int
	// committed is the newest offset the broker confirmed as committed,
	// -1 if none is known.
	committed int64
}

// newOffsetTracker returns a tracker for a partition whose committed
// offset is committed (-1 if none).
func newOffsetTracker(committed int64) *offsetTracker {
	return &offsetTracker{committed: committed}
}

func decodeOffset(v int64) (offset int64, acked bool) {
	if v < 0 {
		return -1 - v, true
	}
	return v, false
}

// track records a polled record. It returns false, changing nothing, for
// an offset at or below one already tracked: a record polled twice.
func (t *offsetTracker) track(offset int64) bool {
	if offset < 0 || (t.started && offset < t.next) {
		return false
	}
	if !t.started {
		t.first, t.started = offset, true
		if offset < t.committed {
			// The log restarted below the commit (the consumer reset to
			// its start after the committed offset went out of range):
			// that commit says nothing about these records.
			t.committed = -1
		}
	}
	t.recs = append(t.recs, offset)
	t.next = offset + 1
	t.pending++
	return true
}

// ack marks the record at offset as processed. It returns false if the
// record is not tracked or already acked.
func (t *offsetTracker) ack(offset int64) bool {
	live := t.recs[t.head:]
	i := sort.Search(len(live), func(i int) bool {
		o, _ := decodeOffset(live[i])
		return o >= offset
	})
	if i == len(live) || live[i] != offset {
		return false
	}
	live[i] = -1 - offset
	t.pending--
	if i == 0 {
		// Acks come mostly in offset order: forgetting the acked front
		// as it forms keeps the window as small as what is in flight,
		// rather than what a commit period polled.
		t.forgetAcked()
	}
	return true
}

// forgetAcked drops the acked records at the front of the window: no
// commit point can stop before them.
func (t *offsetTracker) forgetAcked() {
	for t.head < len(t.recs) && t.recs[t.head] < 0 {
		t.head++
	}
	switch {
	case t.head == len(t.recs):
		t.recs, t.head = t.recs[:0], 0
	case t.head > 1024 && t.head*2 > len(t.recs):
		// Reclaim the forgotten front once it is most of the slice.
		n := copy(t.recs, t.recs[t.head:])
		t.recs, t.head = t.recs[:n], 0
	}
}

// commitPoint returns the offset the partition may be committed at: every
// polled record below it is acked. ok is false while nothing was tracked.
// It forgets the acked records below the point.
func (t *offsetTracker) commitPoint() (point int64, ok bool) {
	if !t.started {
		return 0, false
	}
	t.forgetAcked()
	if t.head == len(t.recs) {
		return t.next, true
	}
	return t.recs[t.head], true
}

// readyToCommit returns the commit point if it is past the offset the
// broker last confirmed and past the first record tracked (a point at the
// first record says nothing was processed yet).
func (t *offsetTracker) readyToCommit() (int64, bool) {
	p, ok := t.commitPoint()
	return p, ok && p > t.committed && p > t.first
}

// markCommitted records that the broker confirmed a commit at offset.
func (t *offsetTracker) markCommitted(offset int64) {
	t.committed = max(t.committed, offset)
}

// uncommitted returns how many offsets were polled past the last commit
// (gaps included): what max.uncommitted.offsets bounds.
func (t *offsetTracker) uncommitted() int64 {
	if !t.started {
		return 0
	}
	return t.next - max(t.committed, t.first)
}

// pendingCount returns how many tracked records are not yet acked.
func (t *offsetTracker) pendingCount() int { return t.pending }
