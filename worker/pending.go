package worker

import (
	"time"

	"github.com/squallstream/squall/worker/idmap"
)

// pendingTuple is a reliable spout tuple in flight.
type pendingTuple struct {
	task  *spoutTask
	msgID any
	// stream counts the tuple's outcome.
	stream *streamOut
	// emitted is when the spout emitted it, for the complete latency, if
	// the tuple is sampled for it (0 otherwise); its timeout counts from
	// started, which a reset moves. Both are monoNow readings, started a
	// coarse one: a table holds many thousands of these, and their size
	// is what a lookup drags through the cache.
	emitted, started int64
}

// epoch is the origin of monoNow.
var epoch = time.Now()

// monoNow returns the monotonic time in nanoseconds since epoch.
func monoNow() int64 { return int64(time.Since(epoch)) }

// pendingTable holds the reliable tuples of a spout executor's tasks
// until they complete, fail or time out, and counts each task's. It is
// pure: the caller gives the time and serialises access.
//
// A tuple lives in the slot of a ring that its root's place in the
// sequence of roots picks (seqOf): tuples come in order and mostly
// complete in about the order they came, so adds and takes walk the ring
// in order, which the processor prefetches. In a hash table each would
// miss the cache once tens of thousands of tuples are pending (max
// pending unset). A tuple still pending when a newer one needs its slot
// moves to stray, a hash table.
//
// In a worker that runs some of the topology's ackers but not all,
// Worker.newRoot changes most roots to pick a local acker, and a changed
// root has lost its place in the sequence. There the ring would only cost
// a wasted probe per take, so from the first changed root on every tuple
// goes to stray and the ring drains.
type pendingTable struct {
	ring   []pendingSlot
	inRing int
	stray  idmap.Map[pendingTuple]
	// hashOnly is set at the first root newRoot changed.
	hashOnly bool
}

type pendingSlot struct {
	root uint64 // 0: empty
	t    pendingTuple
}

// minRing is the smallest ring.
const minRing = 64

// add adds the tuple of root, which newRoot made of drawn, an id of the
// task's roots source.
func (p *pendingTable) add(drawn, root uint64, t pendingTuple) {
	t.task.pending.Add(1)
	if p.hashOnly = p.hashOnly || root != drawn; p.hashOnly {
		p.stray.Put(root, t)
		return
	}
	if len(p.ring) == 0 {
		p.resize(minRing)
	}
	s := &p.ring[p.index(root)]
	if s.root != 0 {
		// A ring more than half full is too small for the tuples in
		// flight; in one less full, the tuple in the way is one that
		// stays long.
		if p.inRing*2 > len(p.ring) {
			p.resize(2 * len(p.ring))
			s = &p.ring[p.index(root)]
		}
		if s.root != 0 {
			p.stray.Put(s.root, s.t)
			p.inRing--
		}
	}
	*s = pendingSlot{root: root, t: t}
	p.inRing++
}

func (p *pendingTable) index(root uint64) uint64 { return seqOf(root) & uint64(len(p.ring)-1) }

// slot returns the ring slot of root, nil if root is not in the ring.
func (p *pendingTable) slot(root uint64) *pendingSlot {
	if p.inRing == 0 {
		return nil
	}
	if s := &p.ring[p.index(root)]; s.root == root {
		return s
	}
	return nil
}

// take removes and returns the tuple of root, if it is still pending.
func (p *pendingTable) take(root uint64) (pendingTuple, bool) {
	var t pendingTuple
	if s := p.slot(root); s != nil {
		t = s.t
		*s = pendingSlot{}
		p.inRing--
	} else if v, ok := p.stray.Delete(root); ok {
		t = v
	} else {
		return t, false
	}
	t.task.pending.Add(-1)
	return t, true
}

// reset restarts the timeout of root.
func (p *pendingTable) reset(root uint64, now int64) {
	if s := p.slot(root); s != nil {
		s.t.started = now
	} else if t := p.stray.Ref(root); t != nil {
		t.started = now
	}
}

// expire removes and returns the tuples started timeout or more before
// now (monoNow readings), and gives back the memory of a table that a
// burst left mostly empty.
func (p *pendingTable) expire(now int64, timeout time.Duration, expired []pendingTuple) []pendingTuple {
	timedOut := func(t *pendingTuple) bool {
		if time.Duration(now-t.started) < timeout {
			return false
		}
		t.task.pending.Add(-1)
		expired = append(expired, *t)
		return true
	}
	for i := range p.ring {
		if s := &p.ring[i]; s.root != 0 && timedOut(&s.t) {
			*s = pendingSlot{}
			p.inRing--
		}
	}
	p.stray.DeleteFunc(func(_ uint64, t *pendingTuple) bool { return timedOut(t) }) // shrinks it too
	p.shrinkRing()
	return expired
}

// shrink gives back the memory a burst left unused.
func (p *pendingTable) shrink() {
	p.shrinkRing()
	p.stray.Shrink()
}

// shrinkRing halves a ring that holds less than an eighth of its slots
// until it does not, and lets go of one a hash-only table has drained.
func (p *pendingTable) shrinkRing() {
	if p.hashOnly && p.inRing == 0 {
		p.ring = nil
		return
	}
	size := len(p.ring)
	for p.inRing*8 < size && size > minRing {
		size /= 2
	}
	if size != len(p.ring) {
		p.resize(size)
	}
}

// resize moves the ring's tuples to a ring of size slots; those that
// find their slot taken move to stray.
func (p *pendingTable) resize(size int) {
	old := p.ring
	p.ring, p.inRing = make([]pendingSlot, size), 0
	for i := range old {
		if o := &old[i]; o.root != 0 {
			if s := &p.ring[p.index(o.root)]; s.root == 0 {
				*s = *o
				p.inRing++
			} else {
				p.stray.Put(o.root, o.t)
			}
		}
	}
}
