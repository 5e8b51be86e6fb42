package worker

import "time"

// pendingTuple is a reliable spout tuple in flight.
type pendingTuple struct {
	task   int32
	msgID  any
	stream *streamOut
	// emitted is when the spout emitted it, for the complete latency;
	// deadline counts from started, which a reset moves. Both are
	// monoNow readings: a table holds many thousands of these, and their
	// size is what a lookup drags through the cache.
	emitted, started int64
}

// epoch is the origin of monoNow.
var epoch = time.Now()

// monoNow returns the monotonic time in nanoseconds since epoch.
func monoNow() int64 { return int64(time.Since(epoch)) }

// pendingTable holds the reliable tuples of a spout executor's tasks
// until they complete, fail or time out. It is pure: the caller gives the
// time and serialises access.
type pendingTable struct {
	entries map[uint64]pendingTuple
	// perTask counts each task's entries, for topology.max.spout.pending.
	perTask map[int32]int
}

func newPendingTable() *pendingTable {
	return &pendingTable{entries: map[uint64]pendingTuple{}, perTask: map[int32]int{}}
}

func (p *pendingTable) add(root uint64, t pendingTuple) {
	p.entries[root] = t
	p.perTask[t.task]++
}

// take removes and returns the tuple of root, if it is still pending.
func (p *pendingTable) take(root uint64) (pendingTuple, bool) {
	t, ok := p.entries[root]
	if ok {
		delete(p.entries, root)
		p.perTask[t.task]--
	}
	return t, ok
}

// reset restarts the timeout of root.
func (p *pendingTable) reset(root uint64, now int64) {
	if t, ok := p.entries[root]; ok {
		t.started = now
		p.entries[root] = t
	}
}

func (p *pendingTable) count(task int32) int { return p.perTask[task] }

func (p *pendingTable) len() int { return len(p.entries) }

// expire removes and returns the tuples started timeout or more before
// now (monoNow readings).
func (p *pendingTable) expire(now int64, timeout time.Duration, expired []pendingTuple) []pendingTuple {
	for root, t := range p.entries {
		if time.Duration(now-t.started) >= timeout {
			delete(p.entries, root)
			p.perTask[t.task]--
			expired = append(expired, t)
		}
	}
	return expired
}
