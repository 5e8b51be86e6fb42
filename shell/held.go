package shell

import (
	"slices"
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

// heldSlot is one id's place in a heldSet's window.
type heldSlot struct {
	heldTuple
	id   string
	held bool
}

// heldSet holds a bolt child's unacked tuples by the id they were sent
// with, bounded: when it is full, the tuples of untracked trees and those
// held past the message timeout (whose trees the spouts have failed
// already) are released, oldest first, and their ids remembered for a
// while so that a late ack of one is recognised. It is not safe for
// concurrent use.
//
// The set issues the ids, in sequence (tupleIDs), and keeps the tuples in
// a window indexed by sequence number, oldest first: finding an id's tuple
// costs a parse, not a string map. Tuples held long after those that
// follow them were acked move to a map (old), so the window stays at most
// about twice the tuples it holds.
type heldSet struct {
	max int
	// timeout is topology.message.timeout.secs; 0 when tuples never time
	// out.
	timeout time.Duration
	ids     tupleIDs
	// window holds the ids from base on, in sequence: held ones and the
	// gaps of those taken or released.
	window slotRing
	base   uint64
	// inWindow counts the tuples held in window.
	inWindow int
	// old holds tuples older than base by sequence number.
	old      map[uint64]heldSlot
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

// windowSlack is how many gaps the window may hold beyond the tuples it
// holds before held tuples at its front move to old.
const windowSlack = 64

// minRemembered is the fewest released ids a heldSet remembers. Tuples
// are released oldest first, but some may still be on their way to the
// child (in its pipe or queued for it) and be acked or anchored to after
// many more were released: as many as the pipe and the queue hold.
const minRemembered = 10_000

func newHeldSet(size int, timeout time.Duration) *heldSet {
	return &heldSet{max: size, timeout: timeout, old: map[uint64]heldSlot{}, released: newIDRing(max(size, minRemembered))}
}

func (h *heldSet) len() int { return h.inWindow + len(h.old) }

// add holds t under a fresh id, which it returns.
func (h *heldSet) add(t heldTuple) string {
	id, seq := h.ids.next()
	if h.window.len() == 0 {
		h.base = seq
	}
	h.window.push(heldSlot{heldTuple: t, id: id, held: true})
	h.inWindow++
	if !t.tuple.Tracked() {
		h.stuck = false // released at the next scan
	}
	return id
}

// slot returns the slot of the tuple held under id and its sequence
// number; nil if none is.
func (h *heldSet) slot(id string) (*heldSlot, uint64) {
	seq, ok := h.ids.seq(id)
	if !ok {
		return nil, 0
	}
	if seq >= h.base && seq-h.base < uint64(h.window.len()) {
		if s := h.window.at(int(seq - h.base)); s.held && s.id == id {
			return s, seq
		}
		return nil, 0
	}
	if s, ok := h.old[seq]; ok && s.id == id {
		return &s, seq
	}
	return nil, 0
}

func (h *heldSet) get(id string) (heldTuple, bool) {
	if s, _ := h.slot(id); s != nil {
		return s.heldTuple, true
	}
	return heldTuple{}, false
}

// takeFrom removes and returns the tuple held under id if child c holds
// it.
func (h *heldSet) takeFrom(id string, c *child) (heldTuple, bool) {
	s, seq := h.slot(id)
	if s == nil || s.by != c {
		return heldTuple{}, false
	}
	t := s.heldTuple
	h.remove(seq)
	return t, true
}

// remove drops the tuple held under seq, which is held.
func (h *heldSet) remove(seq uint64) {
	if seq < h.base {
		delete(h.old, seq)
		return
	}
	*h.window.at(int(seq - h.base)) = heldSlot{}
	h.inWindow--
	h.trim()
}

// trim drops the gaps at the front of the window, and moves the tuples
// held there to old while the window holds more gaps than tuples.
func (h *heldSet) trim() {
	for h.window.len() > 0 {
		s := h.window.at(0)
		if s.held {
			if h.window.len() < 2*h.inWindow+windowSlack {
				return
			}
			h.old[h.base] = *s
			h.inWindow--
		}
		h.window.pop()
		h.base++
	}
}

// each calls f for every held tuple's slot and sequence number, oldest
// first, until f returns false.
func (h *heldSet) each(f func(s heldSlot, seq uint64) bool) {
	if len(h.old) > 0 {
		seqs := make([]uint64, 0, len(h.old))
		for seq := range h.old {
			seqs = append(seqs, seq)
		}
		slices.Sort(seqs)
		for _, seq := range seqs {
			if !f(h.old[seq], seq) {
				return
			}
		}
	}
	for i := range h.window.len() {
		if s := h.window.at(i); s.held && !f(*s, h.base+uint64(i)) {
			return
		}
	}
}

// makeRoom reports whether one more tuple may be held. When the set is
// full it first releases what it may, oldest first, down to nine tenths of
// its size, so that it does not scan for every tuple. It returns how many
// it released.
func (h *heldSet) makeRoom(now time.Time) (room bool, released int) {
	if h.len() < h.max {
		return true, 0
	}
	if h.stuck && (h.timeout == 0 || now.Before(h.stuckUntil)) {
		return false, 0
	}
	target := h.max - max(1, h.max/10)
	var oldest time.Time // the oldest kept tuple that may time out
	var release []heldSlot
	var seqs []uint64
	h.each(func(s heldSlot, seq uint64) bool {
		if h.len()-len(release) <= target {
			return false
		}
		switch {
		case s.tuple.SourceStream() == topology.WindowStream:
			// A window belongs to no single tree; its tuples are bounded
			// by the window's own cap. Never released.
		case !s.tuple.Tracked():
			h.untracked++
			release, seqs = append(release, s), append(seqs, seq)
		case h.timeout > 0 && now.Sub(s.sent) > h.timeout:
			h.timedOut++
			release, seqs = append(release, s), append(seqs, seq)
		default:
			if oldest.IsZero() || s.sent.Before(oldest) {
				oldest = s.sent
			}
		}
		return true
	})
	for i, s := range release {
		h.remove(seqs[i])
		h.released.add(s.id)
	}
	room = h.len() < h.max
	h.stuck = !room
	if h.stuck && !oldest.IsZero() {
		h.stuckUntil = oldest.Add(h.timeout)
	} else if h.stuck && h.timeout > 0 {
		h.stuckUntil = now.Add(h.timeout) // only windows kept: no timeout ends it
	}
	return room, len(release)
}

// dropChild removes and returns the tuples held by c, oldest first, so
// that spouts replay them in order.
func (h *heldSet) dropChild(c *child) []topology.Tuple {
	var lost []topology.Tuple
	var seqs []uint64
	h.each(func(s heldSlot, seq uint64) bool {
		if s.by == c {
			lost = append(lost, s.tuple)
			seqs = append(seqs, seq)
		}
		return true
	})
	for _, seq := range seqs {
		h.remove(seq)
	}
	return lost
}

// slotRing is a queue of slots in a ring buffer that doubles when full
// and halves when a quarter full, never below minRingSlots: a burst of
// held tuples does not keep the ring at its peak size.
type slotRing struct {
	slots []heldSlot // a power of two of them, or none
	head  int        // the index of the first
	n     int
}

// minRingSlots is the size of a slotRing's first buffer, and its least.
const minRingSlots = 64

func (r *slotRing) len() int { return r.n }

// at returns the i-th slot from the front; i < len().
func (r *slotRing) at(i int) *heldSlot { return &r.slots[(r.head+i)&(len(r.slots)-1)] }

func (r *slotRing) push(s heldSlot) {
	if r.n == len(r.slots) {
		r.resize(max(minRingSlots, 2*len(r.slots)))
	}
	*r.at(r.n) = s
	r.n++
}

// pop drops the first slot.
func (r *slotRing) pop() {
	r.slots[r.head] = heldSlot{}
	r.head = (r.head + 1) & (len(r.slots) - 1)
	r.n--
	if r.n <= len(r.slots)/4 && len(r.slots) > minRingSlots {
		r.resize(len(r.slots) / 2)
	}
}

// resize moves the slots to a buffer of size, a power of two of at least
// len().
func (r *slotRing) resize(size int) {
	slots := make([]heldSlot, size)
	for i := range r.n {
		slots[i] = *r.at(i)
	}
	r.slots, r.head = slots, 0
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
