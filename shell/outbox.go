package shell

import (
	"sync"

	"github.com/squallstream/squall/multilang"

	"github.com/squallstream/squall/topology"
)

type itemKind int

const (
	itemTuple itemKind = iota + 1
	itemHeartbeat
	itemCommand
	itemTaskIDs
	// itemFlush asks the writer to write what a direct write left.
	itemFlush
	// itemStateReply and itemStateReset are the state extension's
	// messages (state.go).
	itemStateReply
	itemStateReset
	// itemStateStream is a reply sent part by part as the child reads
	// (stream): it stays at the head of the urgent items until its last
	// part is taken.
	itemStateStream
)

// replyStream produces the parts of a long reply, one per call, as the
// child's writer gets to them: what waits for a child that does not read
// is one part, not the whole reply. Only the goroutine holding the child's
// wmu takes items, so parts are produced one at a time, in order.
type replyStream interface {
	// next returns the next part, and whether more follow.
	next() (outItem, bool)
}

// outItem is one message waiting for a child's writer goroutine.
type outItem struct {
	kind itemKind
	// id is the tuple or heartbeat id.
	id    string
	tuple topology.Tuple
	// command and msgID make a spout command.
	command string
	msgID   any
	taskIDs []int
	// items and more make a state reply (command is its name), txid a
	// state reset.
	items []multilang.StateItem
	more  bool
	txid  int64
	// stream makes an itemStateStream.
	stream replyStream
}

// outbox queues messages for a child's writer goroutine. Task-id replies go
// ahead of everything else: Storm's Python and Ruby adapters block on them
// after every emit. It is safe for concurrent use.
type outbox struct {
	mu sync.Mutex
	// urgent and normal are guarded by mu, as is closed.
	urgent, normal []outItem
	closed         bool
	// wake holds a token when there may be something to take.
	wake chan struct{}
}

func newOutbox() *outbox { return &outbox{wake: make(chan struct{}, 1)} }

// put queues item, ahead of normal items if urgent, and wakes the writer
// goroutine. Items put after close are dropped: the child is gone.
func (o *outbox) put(item outItem, urgent bool) {
	if o.add(item, urgent) {
		o.wakeWriter()
	}
}

// add queues item like put without waking the writer: the caller drains
// the outbox itself (child.kick). It reports whether item was queued.
func (o *outbox) add(item outItem, urgent bool) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return false
	}
	if urgent {
		o.urgent = append(o.urgent, item)
	} else {
		o.normal = append(o.normal, item)
	}
	return true
}

func (o *outbox) wakeWriter() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// next takes the first item, urgent ones first, without waiting.
func (o *outbox) next() (outItem, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var item outItem
	switch {
	case len(o.urgent) > 0 && o.urgent[0].kind == itemStateStream:
		return o.part(), true
	case len(o.urgent) > 0:
		item, o.urgent[0] = o.urgent[0], outItem{}
		o.urgent = o.urgent[1:]
	case len(o.normal) > 0:
		item, o.normal[0] = o.normal[0], outItem{}
		o.normal = o.normal[1:]
	default:
		return item, false
	}
	return item, true
}

// wait blocks until there is something to take or the outbox is closed;
// it returns false once it is closed and empty.
func (o *outbox) wait() bool {
	for {
		o.mu.Lock()
		n, closed := len(o.urgent)+len(o.normal), o.closed
		o.mu.Unlock()
		if n > 0 {
			return true
		}
		if closed {
			return false
		}
		<-o.wake
	}
}

// empty reports whether nothing is queued.
func (o *outbox) empty() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.urgent)+len(o.normal) == 0
}

// drain appends every queued item to dst, urgent ones first, without
// waiting.
func (o *outbox) drain(dst []outItem) []outItem {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i, item := range o.urgent {
		if item.kind != itemStateStream {
			continue
		}
		// A stream: what precedes it, else its next part; the rest
		// waits for it to end.
		if i > 0 {
			dst = append(dst, o.urgent[:i]...)
			clear(o.urgent[:i])
			o.urgent = o.urgent[i:]
			return dst
		}
		return append(dst, o.part())
	}
	dst = append(dst, o.urgent...)
	dst = append(dst, o.normal...)
	clear(o.urgent)
	clear(o.normal)
	o.urgent, o.normal = o.urgent[:0], o.normal[:0]
	return dst
}

func (o *outbox) close() {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// part takes the next part of the stream at the head of the urgent items,
// dropping the stream after its last. mu is held, and released while the
// part is produced (it reads the task's state, maybe from Redis): items
// are only appended meanwhile, since only the holder of the child's wmu
// takes them.
func (o *outbox) part() outItem {
	st := o.urgent[0].stream
	o.mu.Unlock()
	item, more := st.next()
	o.mu.Lock()
	if !more {
		o.urgent[0] = outItem{}
		o.urgent = o.urgent[1:]
	}
	return item
}
