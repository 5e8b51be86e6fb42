package worker

import (
	"sync"
	"sync/atomic"
)

// gate holds back messages for the tasks of another worker whose queues
// that worker said are full, so that its read loop never has to wait for
// them: producers wait (bolts) or keep their emits (spouts) until the task
// has room again, while every other task, and control traffic, goes on.
// Its methods are safe for concurrent use.
type gate struct {
	// held is indexed by task id: set while the task is held back.
	held []atomic.Bool

	mu sync.Mutex
	// The following fields are guarded by mu.
	cond    *sync.Cond
	waiting int
	closed  bool
	// released, if a producer that does not block waits for a release,
	// is closed by the next one.
	released chan struct{}
}

func newGate(tasks int) *gate {
	g := &gate{held: make([]atomic.Bool, tasks+1)}
	g.cond = sync.NewCond(&g.mu)
	return g
}

// blocked reports whether messages for task are held back.
func (g *gate) blocked(task int32) bool {
	return task >= 0 && int(task) < len(g.held) && g.held[task].Load()
}

// openPrefix returns how many messages at the start of ms are for tasks
// not held back. Notes for spouts are never held back.
func (g *gate) openPrefix(ms []message) int {
	for i := range ms {
		if !ms[i].kind.forSpout() && g.blocked(ms[i].task) {
			return i
		}
	}
	return len(ms)
}

// hold holds back the messages for tasks.
func (g *gate) hold(tasks []int32) {
	for _, t := range tasks {
		if t >= 0 && int(t) < len(g.held) {
			g.held[t].Store(true)
		}
	}
}

// release lets messages for task through again and wakes its producers.
func (g *gate) release(task int32) {
	if !g.blocked(task) {
		return
	}
	g.held[task].Store(false)
	g.mu.Lock()
	if g.waiting > 0 {
		g.cond.Broadcast()
	}
	g.wakeLocked()
	g.mu.Unlock()
}

func (g *gate) wakeLocked() {
	if g.released != nil {
		close(g.released)
		g.released = nil
	}
}

// waitRelease returns a channel closed at the next release, or at once if
// the gate is shut or task, whose messages were refused, is no longer
// held: its release may have come between the refusal and this call.
func (g *gate) waitRelease(task int32) <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	// release clears held before it takes mu to wake the waiters: read
	// under mu, a task seen held is released after this returns.
	if g.closed || !g.blocked(task) {
		return closedChan
	}
	if g.released == nil {
		g.released = make(chan struct{})
	}
	return g.released
}

// releaseAll lets every task through, as after a new connection.
func (g *gate) releaseAll() {
	for i := range g.held {
		g.held[i].Store(false)
	}
	g.mu.Lock()
	g.cond.Broadcast()
	g.wakeLocked()
	g.mu.Unlock()
}

// wait blocks while task is held back. It returns false once the gate is
// shut (the peer is gone): the caller drops its message.
func (g *gate) wait(task int32) bool {
	if !g.blocked(task) {
		return true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for g.blocked(task) && !g.closed {
		g.waiting++
		g.cond.Wait()
		g.waiting--
	}
	return !g.closed
}

// shut wakes every waiting producer for good.
func (g *gate) shut() {
	g.mu.Lock()
	g.closed = true
	g.cond.Broadcast()
	g.wakeLocked()
	g.mu.Unlock()
}
