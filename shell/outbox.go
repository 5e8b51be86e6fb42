package shell

import (
	"sync"

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
)

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

// put queues item, ahead of normal items if urgent. Items put after close
// are dropped: the child is gone.
func (o *outbox) put(item outItem, urgent bool) {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return
	}
	if urgent {
		o.urgent = append(o.urgent, item)
	} else {
		o.normal = append(o.normal, item)
	}
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
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

// take waits for items and appends them to dst, urgent ones first. It
// returns false once the outbox is closed and empty.
func (o *outbox) take(dst []outItem) ([]outItem, bool) {
	for {
		o.mu.Lock()
		if n := len(o.urgent) + len(o.normal); n > 0 {
			dst = append(dst, o.urgent...)
			dst = append(dst, o.normal...)
			clear(o.urgent)
			clear(o.normal)
			o.urgent, o.normal = o.urgent[:0], o.normal[:0]
			o.mu.Unlock()
			return dst, true
		}
		closed := o.closed
		o.mu.Unlock()
		if closed {
			return dst, false
		}
		<-o.wake
	}
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
