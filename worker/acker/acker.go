// Package acker is the bookkeeping of Storm's acker: it follows each tuple
// tree by XOR-ing the random 64-bit ids of its edges. A spout tuple's tree
// starts with an init carrying the XOR of the ids of the tuples the spout
// sent; every ack of a tuple carries its own id XOR the ids of the tuples
// anchored to it. Each id thus enters the XOR twice, once when its tuple
// is created and once when it is acked, so the value reaches zero exactly
// when every tuple of the tree has been acked.
//
// The Tracker is pure: no goroutines, no clock. Time comes in as
// arguments (nanoseconds on any monotonic clock), so the acker executor
// drives it and tests replay any order.
package acker

import (
	"time"

	"github.com/squallstream/squall/worker/idmap"
)

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
	val uint64
	// touched is when the tree last saw a message, for expiry.
	touched   int64
	spoutTask int32
	// inited is set once the spout's init arrived; acks may come first.
	inited bool
	failed bool
}

// Tracker follows tuple trees. It is not safe for concurrent use.
type Tracker struct {
	// entries is an open-addressing table: the acker looks up a tree for
	// every message, and a Go map neither is as fast for random ids nor
	// gives memory back after a burst.
	entries idmap.Map[entry]
}

// New returns an empty tracker.
func New() *Tracker { return &Tracker{} }

// Len returns the number of trees being followed.
func (t *Tracker) Len() int { return t.entries.Len() }

// Touch has the processor fetch the entry of root; see idmap.Map.Touch.
func (t *Tracker) Touch(root uint64) uint64 { return t.entries.Touch(root) }

// Init records that a spout task started the tree root, whose tuples'
// ids XOR to val. A tree whose acks all came first completes here; one
// whose failure came first fails here.
func (t *Tracker) Init(root, val uint64, spoutTask int, now int64) Result {
	if root == 0 {
		return Result{} // no tree has root 0: a corrupt message
	}
	e, _ := t.entries.Upsert(root)
	e.val ^= val
	e.spoutTask = int32(spoutTask)
	e.inited = true
	e.touched = now
	return t.settle(root, e)
}

// Ack folds val (a tuple's id XOR its children's ids) into the tree root.
func (t *Tracker) Ack(root, val uint64, now int64) Result {
	if root == 0 {
		return Result{}
	}
	e, _ := t.entries.Upsert(root)
	e.val ^= val
	e.touched = now
	return t.settle(root, e)
}

// Fail marks the tree root failed. The spout hears of it at once, or at
// its init if that has not arrived yet.
func (t *Tracker) Fail(root uint64, now int64) Result {
	if root == 0 {
		return Result{}
	}
	e, _ := t.entries.Upsert(root)
	e.failed = true
	e.touched = now
	return t.settle(root, e)
}

// Reset keeps the tree root from expiring and, once its spout task is
// known, asks that task to restart the tuple's message timeout.
func (t *Tracker) Reset(root uint64, now int64) Result {
	e := t.entries.Ref(root)
	if e == nil {
		return Result{Root: root}
	}
	e.touched = now
	if !e.inited {
		return Result{Root: root}
	}
	return Result{Root: root, SpoutTask: int(e.spoutTask), Outcome: Reset}
}

// settle removes the tree root, whose entry is e, if it is finished.
func (t *Tracker) settle(root uint64, e *entry) Result {
	var out Outcome
	switch {
	case !e.inited:
		return Result{Root: root}
	case e.failed:
		out = Failed
	case e.val == 0:
		out = Completed
	default:
		return Result{Root: root}
	}
	r := Result{Root: root, SpoutTask: int(e.spoutTask), Outcome: out}
	t.entries.Delete(root)
	return r
}

// Expire forgets the trees that saw no message for timeout and returns
// how many. Their spouts time them out on their own; this only bounds
// the tracker's memory, as Storm's acker does.
func (t *Tracker) Expire(now int64, timeout time.Duration) int {
	n := 0
	t.entries.DeleteFunc(func(_ uint64, e *entry) bool {
		if time.Duration(now-e.touched) < timeout {
			return false
		}
		n++
		return true
	})
	return n
}
