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
type pendingTable struct {
	entries idmap.Map[pendingTuple]
}

func (p *pendingTable) add(root uint64, t pendingTuple) {
	p.entries.Put(root, t)
	t.task.pending.Add(1)
}

// take removes and returns the tuple of root, if it is still pending.
func (p *pendingTable) take(root uint64) (pendingTuple, bool) {
	t, ok := p.entries.Delete(root)
	if ok {
		t.task.pending.Add(-1)
	}
	return t, ok
}

// reset restarts the timeout of root.
func (p *pendingTable) reset(root uint64, now int64) {
	if t := p.entries.Ref(root); t != nil {
		t.started = now
	}
}

// expire removes and returns the tuples started timeout or more before
// now (monoNow readings).
func (p *pendingTable) expire(now int64, timeout time.Duration, expired []pendingTuple) []pendingTuple {
	p.entries.DeleteFunc(func(_ uint64, t *pendingTuple) bool {
		if time.Duration(now-t.started) < timeout {
			return false
		}
		t.task.pending.Add(-1)
		expired = append(expired, *t)
		return true
	})
	return expired
}
