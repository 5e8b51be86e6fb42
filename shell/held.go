package shell

import (
	"time"

	"github.com/squallstream/squall/topology"
)

// heldTuple is a tuple written to (or queued for) a bolt child and not yet
// acked or failed by it.
type heldTuple struct {
	tuple topology.Tuple
	by    *child
	sent  time.Time
}

// heldSet holds a bolt child's unacked tuples by the id they were sent
// with, bounded: when it is full, the tuples of untracked trees and those
// held past the message timeout (whose trees the spouts have failed
// already) are released, oldest first, and their ids remembered for a
// while so that a late ack of one is recognised. It is not safe for
// concurrent use.
type heldSet struct {
	max int
	// timeout is topology.message.timeout.secs; 0 when tuples never time
	// out.
	timeout time.Duration
	tuples  map[string]heldTuple
	// order holds the ids of tuples in the order they were added; ids
	// no longer held are dropped lazily.
	order    []string
	released idRing
	// count of tuples released so far, by reason.
	untracked, timedOut int64
	// stuck is set when the last scan of a full set released too little:
	// until stuckUntil (the first time a kept tuple times out; forever
	// without timeouts) or until an untracked tuple is added, another scan
	// would find nothing either, so makeRoom does not scan again. Without
	// this a child holding more tracked tuples than max cost a scan of the
	// whole set per refill.
	stuck      bool
	stuckUntil time.Time
}

// orderSlack is how many ids of tuples no longer held order may keep
// beyond twice the held count before it is compacted.
const orderSlack = 64

// minRemembered is the fewest released ids a heldSet remembers. Tuples
// are released oldest first, but some may still be on their way to the
// child (in its pipe or queued for it) and be acked or anchored to after
// many more were released: as many as the pipe and the queue hold.
const minRemembered = 10_000

func newHeldSet(size int, timeout time.Duration) *heldSet {
	return &heldSet{max: size, timeout: timeout, tuples: map[string]heldTuple{}, released: newIDRing(max(size, minRemembered))}
}

func (h *heldSet) len() int { return len(h.tuples) }

func (h *heldSet) add(id string, t heldTuple) {
	h.tuples[id] = t
	if !t.tuple.Tracked() {
		h.stuck = false // released at the next scan
	}
	if len(h.order) >= 2*len(h.tuples)+orderSlack {
		h.compact()
	}
	h.order = append(h.order, id)
}

// takeFrom removes and returns the tuple held under id if child c holds
// it.
func (h *heldSet) takeFrom(id string, c *child) (heldTuple, bool) {
	t, ok := h.tuples[id]
	if !ok || t.by != c {
		return heldTuple{}, false
	}
	delete(h.tuples, id)
	return t, true
}

func (h *heldSet) get(id string) (heldTuple, bool) {
	t, ok := h.tuples[id]
	return t, ok
}

// compact drops the ids of tuples no longer held from order.
func (h *heldSet) compact() {
	keep := h.order[:0]
	for _, id := range h.order {
		if _, ok := h.tuples[id]; ok {
			keep = append(keep, id)
		}
	}
	clear(h.order[len(keep):])
	h.order = keep
}

// makeRoom reports whether one more tuple may be held. When the set is
// full it first releases what it may, oldest first, down to nine tenths of
// its size, so that it does not scan for every tuple. It returns how many
// it released.
func (h *heldSet) makeRoom(now time.Time) (room bool, released int) {
	if len(h.tuples) < h.max {
		return true, 0
	}
	if h.stuck && (h.timeout == 0 || now.Before(h.stuckUntil)) {
		return false, 0
	}
	target := h.max - max(1, h.max/10)
	keep := h.order[:0]
	var oldest time.Time // the oldest kept tuple that may time out
	for i, id := range h.order {
		if len(h.tuples) <= target {
			keep = append(keep, h.order[i:]...)
			break
		}
		t, ok := h.tuples[id]
		if !ok {
			continue
		}
		switch {
		case t.tuple.SourceStream() == topology.WindowStream:
			// A window belongs to no single tree; its tuples are bounded
			// by the window's own cap. Never released.
			keep = append(keep, id)
			continue
		case !t.tuple.Tracked():
			h.untracked++
		case h.timeout > 0 && now.Sub(t.sent) > h.timeout:
			h.timedOut++
		default:
			keep = append(keep, id)
			if oldest.IsZero() || t.sent.Before(oldest) {
				oldest = t.sent
			}
			continue
		}
		delete(h.tuples, id)
		h.released.add(id)
		released++
	}
	clear(h.order[len(keep):])
	h.order = keep
	room = len(h.tuples) < h.max
	h.stuck = !room
	if h.stuck && !oldest.IsZero() {
		h.stuckUntil = oldest.Add(h.timeout)
	} else if h.stuck && h.timeout > 0 {
		h.stuckUntil = now.Add(h.timeout) // only windows kept: no timeout ends it
	}
	return room, released
}

// dropChild removes and returns the tuples held by c, oldest first, so
// that spouts replay them in order.
func (h *heldSet) dropChild(c *child) []topology.Tuple {
	var lost []topology.Tuple
	keep := h.order[:0]
	for _, id := range h.order {
		t, ok := h.tuples[id]
		switch {
		case !ok:
		case t.by == c:
			lost = append(lost, t.tuple)
			delete(h.tuples, id)
		default:
			keep = append(keep, id)
		}
	}
	clear(h.order[len(keep):])
	h.order = keep
	return lost
}

// idRing remembers the last ids added to it, at most size.
type idRing struct {
	size int
	ids  []string
	next int // where the next id goes once ids is full
	set  map[string]struct{}
}

func newIDRing(size int) idRing { return idRing{size: size, set: map[string]struct{}{}} }

func (r *idRing) add(id string) {
	if len(r.ids) < r.size {
		r.ids = append(r.ids, id)
	} else {
		delete(r.set, r.ids[r.next])
		r.ids[r.next] = id
		r.next = (r.next + 1) % r.size
	}
	r.set[id] = struct{}{}
}

func (r *idRing) has(id string) bool {
	_, ok := r.set[id]
	return ok
}

func (r *idRing) len() int { return len(r.set) }
