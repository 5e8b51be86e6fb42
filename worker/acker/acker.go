// Package acker is the bookkeeping of Storm's acker: it follows each tuple
// tree by XOR-ing the random 64-bit ids of its edges. A spout tuple's tree
// starts with an init carrying the XOR of the ids of the tuples the spout
// sent; every ack of a tuple carries its own id XOR the ids of the tuples
// anchored to it. Each id thus enters the XOR twice, once when its tuple
// is created and once when it is acked, so the value reaches zero exactly
// when every tuple of the tree has been acked.
//
// The Tracker is pure: no goroutines, no clock. Time comes in as
// arguments, so the acker executor drives it and tests replay any order.
package acker

import "time"

// Outcome is what a message meant for its tuple tree.
type Outcome int

const (
	// Pending: the tree is not finished yet.
	Pending Outcome = iota
	// Completed: every tuple of the tree was acked.
	Completed
	// Failed: a tuple of the tree failed.
	Failed
	// Reset: a bolt asked for the tree's timeout to be restarted.
	Reset
)

// Result tells the spout task of a tree what happened to it. It is only
// meaningful when the Outcome is not Pending.
type Result struct {
	Root      uint64
	SpoutTask int
	Outcome   Outcome
}

type entry struct {
	val       uint64
	spoutTask int32
	// inited is set once the spout's init arrived; acks may come first.
	inited bool
	failed bool
	// touched is when the tree last saw a message, for expiry.
	touched time.Time
}

// Tracker follows tuple trees. It is not safe for concurrent use.
type Tracker struct {
	entries map[uint64]entry
}

// New returns an empty tracker.
func New() *Tracker { return &Tracker{entries: make(map[uint64]entry)} }

// Len returns the number of trees being followed.
func (t *Tracker) Len() int { return len(t.entries) }

// Init records that a spout task started the tree root, whose tuples'
// ids XOR to val. A tree whose acks all came first completes here; one
// whose failure came first fails here.
func (t *Tracker) Init(root, val uint64, spoutTask int, now time.Time) Result {
	e := t.entries[root]
	e.val ^= val
	e.spoutTask = int32(spoutTask)
	e.inited = true
	e.touched = now
	return t.settle(root, e)
}

// Ack folds val (a tuple's id XOR its children's ids) into the tree root.
func (t *Tracker) Ack(root, val uint64, now time.Time) Result {
	e := t.entries[root]
	e.val ^= val
	e.touched = now
	return t.settle(root, e)
}

// Fail marks the tree root failed. The spout hears of it at once, or at
// its init if that has not arrived yet.
func (t *Tracker) Fail(root uint64, now time.Time) Result {
	e := t.entries[root]
	e.failed = true
	e.touched = now
	return t.settle(root, e)
}

// Reset keeps the tree root from expiring and, once its spout task is
// known, asks that task to restart the tuple's message timeout.
func (t *Tracker) Reset(root uint64, now time.Time) Result {
	e, ok := t.entries[root]
	if !ok {
		return Result{Root: root}
	}
	e.touched = now
	t.entries[root] = e
	if !e.inited {
		return Result{Root: root}
	}
	return Result{Root: root, SpoutTask: int(e.spoutTask), Outcome: Reset}
}

func (t *Tracker) settle(root uint64, e entry) Result {
	switch {
	case !e.inited:
	case e.failed:
		delete(t.entries, root)
		return Result{Root: root, SpoutTask: int(e.spoutTask), Outcome: Failed}
	case e.val == 0:
		delete(t.entries, root)
		return Result{Root: root, SpoutTask: int(e.spoutTask), Outcome: Completed}
	}
	t.entries[root] = e
	return Result{Root: root}
}

// Expire forgets the trees that saw no message for timeout and returns
// how many. Their spouts time them out on their own; this only bounds
// the tracker's memory, as Storm's acker does.
func (t *Tracker) Expire(now time.Time, timeout time.Duration) int {
	n := 0
	for root, e := range t.entries {
		if now.Sub(e.touched) >= timeout {
			delete(t.entries, root)
			n++
		}
	}
	return n
}
