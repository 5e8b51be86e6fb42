// Package idmap is a hash map from random non-zero 64-bit ids (tuple tree
// roots) to small values, for the tables on the acking path: a spout's
// pending tuples and an acker's trees. It is an open-addressing table
// with linear probing and backward-shift deletion: no tombstones, no
// per-entry allocation, a lookup touching one or two cache lines. It
// grows as entries come and shrinks when asked (Shrink, DeleteFunc), so
// a burst of pending tuples does not hold memory for good, while a table
// whose size swings with every batch of acks is not rebuilt each time.
// A Map is not safe for concurrent use.
package idmap

import "math/bits"

// minSlots is the smallest table.
const minSlots = 16

type slot[V any] struct {
	id  uint64 // 0: empty
	val V
}

// Map maps non-zero uint64 ids to values of type V. The zero value is an
// empty map ready to use.
type Map[V any] struct {
	slots []slot[V]
	n     int
	shift uint // 64 - log2(len(slots))
}

// Len returns the number of entries.
func (m *Map[V]) Len() int { return m.n }

// index returns the home slot of id. Ids are random, but a root is
// adjusted in its low bits to pick an acker, so the high bits of a
// multiplicative hash are used.
func (m *Map[V]) index(id uint64) int { return int((id * 0x9e3779b97f4a7c15) >> m.shift) }

// find returns the slot of id, or -1.
func (m *Map[V]) find(id uint64) int {
	if m.n == 0 {
		return -1
	}
	mask := len(m.slots) - 1
	for i := m.index(id); ; i = (i + 1) & mask {
		switch m.slots[i].id {
		case id:
			return i
		case 0:
			return -1
		}
	}
}

// Touch reads the home slot of id and returns what it read, which the
// caller must not ignore (or the compiler drops the read): touching the
// slots of a batch of ids one after another has the processor fetch them
// all at once, where a lookup at a time waits for each miss in turn.
func (m *Map[V]) Touch(id uint64) uint64 {
	if len(m.slots) == 0 {
		return 0
	}
	return m.slots[m.index(id)].id
}

// Get returns the value of id and whether it is present.
func (m *Map[V]) Get(id uint64) (V, bool) {
	if i := m.find(id); i >= 0 {
		return m.slots[i].val, true
	}
	var zero V
	return zero, false
}

// Ref returns a pointer to the value of id, nil if it is absent. The
// pointer is valid until the next Put, Upsert or Delete.
func (m *Map[V]) Ref(id uint64) *V {
	if i := m.find(id); i >= 0 {
		return &m.slots[i].val
	}
	return nil
}

// Upsert returns a pointer to the value of id, adding id with the zero
// value if it is absent, and whether it was present. The pointer is valid
// until the next Put, Upsert or Delete. id must not be 0.
func (m *Map[V]) Upsert(id uint64) (_ *V, found bool) {
	if id == 0 {
		panic("idmap: id 0")
	}
	if (m.n+1)*4 > len(m.slots)*3 {
		m.resize(max(len(m.slots)*2, minSlots))
	}
	mask := len(m.slots) - 1
	for i := m.index(id); ; i = (i + 1) & mask {
		s := &m.slots[i]
		switch s.id {
		case id:
			return &s.val, true
		case 0:
			s.id = id
			m.n++
			return &s.val, false
		}
	}
}

// Put sets the value of id. id must not be 0.
func (m *Map[V]) Put(id uint64, v V) {
	p, _ := m.Upsert(id)
	*p = v
}

// Delete removes id and returns its value, if it was present.
func (m *Map[V]) Delete(id uint64) (V, bool) {
	i := m.find(id)
	if i < 0 {
		var zero V
		return zero, false
	}
	v := m.slots[i].val
	m.deleteAt(i)
	return v, true
}

// deleteAt empties slot i, moving later entries of its probe run back so
// that every entry stays reachable from its home slot.
func (m *Map[V]) deleteAt(i int) {
	mask := len(m.slots) - 1
	for j := (i + 1) & mask; m.slots[j].id != 0; j = (j + 1) & mask {
		// The entry at j may move to the hole at i if its home slot is
		// not in (i, j], cyclically.
		if home := m.index(m.slots[j].id); (j-home)&mask >= (j-i)&mask {
			m.slots[i] = m.slots[j]
			i = j
		}
	}
	m.slots[i] = slot[V]{}
	m.n--
}

func (m *Map[V]) resize(size int) {
	old := m.slots
	m.slots = make([]slot[V], size)
	m.shift = uint(64 - bits.TrailingZeros(uint(size)))
	mask := size - 1
	for _, s := range old {
		if s.id == 0 {
			continue
		}
		i := m.index(s.id)
		for m.slots[i].id != 0 {
			i = (i + 1) & mask
		}
		m.slots[i] = s
	}
}

// DeleteFunc removes the entries for which del returns true. It calls del
// once for each entry, in no particular order.
func (m *Map[V]) DeleteFunc(del func(id uint64, v *V) bool) {
	// Deleting moves entries back; one pass from a slot that starts a
	// probe run (an empty slot follows it) visits each entry once.
	if m.n == 0 {
		return
	}
	mask := len(m.slots) - 1
	start := 0
	for m.slots[start].id != 0 {
		start++
	}
	// No probe run crosses the empty start slot, and deleting moves into
	// i only entries from later in i's run: not visited yet.
	for i := (start + 1) & mask; i != start; {
		if s := &m.slots[i]; s.id != 0 && del(s.id, &s.val) {
			m.deleteAt(i)
			continue
		}
		i = (i + 1) & mask
	}
	m.Shrink()
}

// Shrink gives back the memory of a table that is mostly empty: one
// that holds less than an eighth of its slots is halved until it does
// not. Call it now and then, not after every Delete.
func (m *Map[V]) Shrink() {
	size := len(m.slots)
	for m.n*8 < size && size > minSlots {
		size /= 2
	}
	if size != len(m.slots) {
		m.resize(size)
	}
}

// All calls f for each entry until f returns false. f must not change
// the map.
func (m *Map[V]) All(f func(id uint64, v *V) bool) {
	for i := range m.slots {
		if s := &m.slots[i]; s.id != 0 && !f(s.id, &s.val) {
			return
		}
	}
}
