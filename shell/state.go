package shell

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/squallstream/squall/multilang"
	"github.com/squallstream/squall/topology"
)

// KeyStateCacheMaxKeys bounds how many state values a stateful bolt's
// child caches (the handshake's squall.state.cache_max_keys; squall).
// Default stateCacheMaxKeys.
const KeyStateCacheMaxKeys = "topology.state.cache.max.keys"

const stateCacheMaxKeys = 100_000

// Bounds of one state_items reply, as docs/windowing-and-state.md gives
// them; variables for the tests.
var (
	stateItemsPerReply = 1000
	stateBytesPerReply = 1 << 20
)

// ErrStateInFlight is returned by ResetState while tuples are in flight:
// a reset must not overtake what the child is still processing.
var ErrStateInFlight = errors.New("tuples are in flight")

// stateHost is a stateful bolt's side of the state extension: it answers
// its child's state commands from the task's state.
//
// The host holds no cache of its own: state.State serves the writes since
// the last commit from memory, and committed values from its bounded
// cache (State.CacheCommitted, which the worker turns on).
type stateHost struct {
	// opened is closed by the first OpenState: until then a child's
	// reader waits at its first state command, so that the commands and
	// whatever the child sent after them are handled in order.
	opened   chan struct{}
	openOnce sync.Once

	mu sync.Mutex
	// kv, resets, lastTxid and lost are guarded by mu.
	kv topology.KeyValueState
	// resets counts ResetState calls, lastTxid is the last one's txid.
	resets   int64
	lastTxid int64
	// readAt records, for each child that sent state commands, the
	// value of resets at its first: a child that read before a reset it
	// did not get (it was not up yet) gets one when it comes up.
	readAt map[*child]int64
	lost   func()
	// itemParts counts the state_items replies produced (tests).
	itemParts atomic.Int64
}

func newStateHost() *stateHost {
	return &stateHost{opened: make(chan struct{}), readAt: map[*child]int64{}}
}

// OpenState gives the task's state to the child: INITSTATE reached the
// task. The child's state commands are answered from s from now on; those
// that came before are answered now, in order. It may be called again
// with another state (a restarted task).
//
// s is used from the child's reader goroutine, concurrently with the
// task's executor: it must be safe for that, and the worker must serialise
// its checkpoint actions (prepare, commit, rollback) with s's methods.
func (b *Bolt) OpenState(s topology.KeyValueState) {
	st := b.state
	if st == nil {
		b.sup.log.Error("OpenState on a component that is not stateful", "component", b.ctx.ComponentID)
		return
	}
	st.mu.Lock()
	st.kv = s
	st.mu.Unlock()
	st.openOnce.Do(func() { close(st.opened) })
}

// ResetState tells the child that the state was rolled back to
// transaction txid: its adapter empties its cache before further input.
// The worker calls it after a rollback, once nothing is in flight (every
// tuple given to the child was acked or failed); otherwise it returns an
// error wrapping ErrStateInFlight and sends nothing.
func (b *Bolt) ResetState(txid int64) error {
	st := b.state
	if st == nil {
		return fmt.Errorf("shell bolt %q: ResetState on a component that is not stateful", b.ctx.ComponentID)
	}
	b.mu.Lock()
	if n := len(b.backlog) + b.held.len(); n > 0 {
		b.mu.Unlock()
		return fmt.Errorf("shell bolt %q task %d: reset of the state to transaction %d: %w (%d)", b.ctx.ComponentID, b.ctx.TaskID, txid, ErrStateInFlight, n)
	}
	c := b.cur
	st.mu.Lock()
	st.resets++
	st.lastTxid = txid
	if c != nil {
		st.readAt[c] = st.resets
	}
	st.mu.Unlock()
	b.mu.Unlock()
	if c != nil {
		// Urgent, as the replies: in order with them.
		c.send(outItem{kind: itemStateReset, txid: txid}, true, false)
	}
	// A child not up yet gets its reset in up, if it read the state.
	return nil
}

// OnChildLost sets fn to run when the child of this stateful bolt died:
// the writes it sent for tuples it never acked cannot be told from the
// others, so the task must recover (fail the checkpoint in flight, roll
// back). fn runs on the task's supervisor goroutine before the lost
// child's tuples are failed and before its replacement gets any input.
// It must be called after Prepare, on a stateful component's bolt: a
// callback set anywhere else could never run, and a task that misses its
// child's death commits writes of tuples it never acked.
func (b *Bolt) OnChildLost(fn func()) {
	if b.state == nil {
		panic("shell: OnChildLost before Prepare, or on a bolt whose component is not stateful")
	}
	b.state.mu.Lock()
	b.state.lost = fn
	b.state.mu.Unlock()
}

// childLost runs the OnChildLost callback, if any.
func (st *stateHost) childLost(c *child) {
	st.mu.Lock()
	fn := st.lost
	delete(st.readAt, c)
	st.mu.Unlock()
	if fn != nil {
		fn()
	}
}

// forget drops what is known of a child that stopped cleanly.
func (st *stateHost) forget(c *child) {
	st.mu.Lock()
	delete(st.readAt, c)
	st.mu.Unlock()
}

// pendingReset returns the reset a child coming up missed: it read the
// state before a reset that was sent to no one or to another child.
func (st *stateHost) pendingReset(c *child) (txid int64, ok bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	at, read := st.readAt[c]
	if !read || at == st.resets {
		return 0, false
	}
	st.readAt[c] = st.resets
	return st.lastTxid, true
}

// wait returns the state once it is open, holding c's reader (and so
// everything c sends after this command) until then. It fails when c is
// given up on meanwhile.
func (st *stateHost) wait(c *child) (topology.KeyValueState, error) {
	select {
	case <-st.opened:
	default:
		// The host, not the child, holds things up: the liveness clock
		// stops (the child may wait for this reply and answer nothing).
		c.busy.Store(true)
		select {
		case <-st.opened:
		case <-c.dead:
		}
		c.busy.Store(false)
		if c.isDead() {
			return nil, fmt.Errorf("%w: the child was stopped while its state commands waited for the state", ErrExited)
		}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if _, ok := st.readAt[c]; !ok {
		st.readAt[c] = st.resets
	}
	return st.kv, nil
}

// stateCommand handles a state command of child c, on c's reader
// goroutine: in order with its emits, acks and fails, so that a write
// belongs to the transaction of the tuple acked after it. Replies are
// written at once, in order with task-id replies.
func (b *Bolt) stateCommand(c *child, m *multilang.Message) error {
	if b.state == nil {
		return protocolError("%s from the child of component %q, which is not stateful (declare state: on it to use the state commands)", m.Command, b.ctx.ComponentID)
	}
	kv, err := b.state.wait(c)
	if err != nil {
		return err
	}
	if kv == nil {
		return fmt.Errorf("%w: %s: the task opened no state", ErrState, m.Command)
	}
	switch m.Command {
	case multilang.CmdStateGet:
		// Split over the message cap, as state_items is: every part but
		// the last says "more".
		limit := b.replyBytes()
		items := make([]multilang.StateItem, 0, len(m.Keys))
		size := 0
		for _, k := range m.Keys {
			if b.reserved(m.Command, k) {
				continue
			}
			v, ok, err := kv.Get(k)
			if err != nil {
				return b.stateError(m.Command, k, err)
			}
			if !ok {
				continue
			}
			if n := itemBytes(k, v); len(items) > 0 && size+n > limit {
				c.send(outItem{kind: itemStateReply, command: multilang.CmdStateValues, items: items, more: true}, true, false)
				items, size = nil, 0
			}
			items = append(items, multilang.StateItem{Key: k, Value: v})
			size += itemBytes(k, v)
		}
		c.send(outItem{kind: itemStateReply, command: multilang.CmdStateValues, items: items}, true, false)
	case multilang.CmdStatePut:
		for _, it := range m.Items {
			if b.reserved(m.Command, it.Key) {
				continue
			}
			if err := kv.Put(it.Key, it.Value); err != nil {
				return b.stateError(m.Command, it.Key, err)
			}
		}
	case multilang.CmdStateDelete:
		for _, k := range m.Keys {
			if b.reserved(m.Command, k) {
				continue
			}
			if err := kv.Delete(k); err != nil {
				return b.stateError(m.Command, k, err)
			}
		}
	case multilang.CmdStateItems:
		return b.stateItems(c, kv)
	}
	return nil
}

// stateItems streams the whole state to c in replies of at most
// stateItemsPerReply items or stateBytesPerReply bytes (or one larger
// item), the last without "more". Keys starting with a 0 byte are the
// runtime's (exactly-once records), not the child's.
//
// The keys are listed now; each reply's values are read as the child's
// writer gets to it (itemsStream), so that a large state is not queued for
// the child at once: what waits for a slow child is a reply or two. A key
// deleted meanwhile is left out; a value written meanwhile (by the child,
// while it iterates) is sent as it is then.
func (b *Bolt) stateItems(c *child, kv topology.KeyValueState) error {
	var keys []string
	err := kv.Range(func(k string, _ []byte) bool {
		if !strings.HasPrefix(k, "\x00") {
			keys = append(keys, k)
		}
		return true
	})
	if err != nil {
		return b.stateError(multilang.CmdStateItems, "", err)
	}
	c.send(outItem{kind: itemStateStream, stream: &itemsStream{b: b, c: c, kv: kv, keys: keys, limit: min(stateBytesPerReply, b.replyBytes())}}, true, false)
	return nil
}

// itemsStream is a state_items reply produced part by part.
type itemsStream struct {
	b    *Bolt
	c    *child
	kv   topology.KeyValueState
	keys []string
	// limit bounds a part's bytes (Bolt.replyBytes).
	limit int
}

func (s *itemsStream) next() (outItem, bool) {
	var batch []multilang.StateItem
	size := 0
	for len(s.keys) > 0 {
		k := s.keys[0]
		v, ok, err := s.kv.Get(k)
		if err != nil {
			// As for a failed command, the child is replaced rather than
			// given part of the state as the whole (on the writer's
			// goroutine, which has no error to end the child with).
			s.b.out.ReportError(fmt.Errorf("shell bolt %q task %d: child replaced: %w", s.b.ctx.ComponentID, s.b.ctx.TaskID, s.b.stateError(multilang.CmdStateItems, k, err)))
			s.c.proc.SignalGroup(syscall.SIGKILL)
			s.keys = nil
			// The reply says more will come: none does.
			return outItem{kind: itemStateReply, command: multilang.CmdStateItems, items: batch, more: true}, false
		}
		if ok && len(batch) > 0 && (len(batch) == stateItemsPerReply || size+itemBytes(k, v) > s.limit) {
			break
		}
		s.keys[0] = ""
		s.keys = s.keys[1:]
		if ok {
			batch = append(batch, multilang.StateItem{Key: k, Value: v})
			size += itemBytes(k, v)
		}
	}
	s.b.state.itemParts.Add(1)
	more := len(s.keys) > 0
	return outItem{kind: itemStateReply, command: multilang.CmdStateItems, items: batch, more: more}, more
}

// replyBytes bounds the items of one state reply: the message cap the
// child was given (topology.multilang.max.message.bytes), less room for
// the envelope. An item larger than that goes alone.
func (b *Bolt) replyBytes() int {
	return max(b.set.maxMessage-replyEnvelopeBytes, 1)
}

// replyEnvelopeBytes is the room a state reply's own fields take.
const replyEnvelopeBytes = 64

// itemBytes is what an item takes in a JSON reply: its key's and value's
// JSON text, and the brackets and comma around them. MessagePack takes
// about as much (less for strings, more for short floats).
func itemBytes(k string, v []byte) int { return len(k) + len(v) + 4 }

// reserved reports a key reserved for squall to the component, which
// ignores it: the command goes on without it.
func (b *Bolt) reserved(cmd, key string) bool {
	if !multilang.ReservedStateKey(key) {
		return false
	}
	b.out.ReportError(fmt.Errorf("shell bolt %q task %d: %s of key %.60s refused: keys starting with a 0 byte are reserved for squall",
		b.ctx.ComponentID, b.ctx.TaskID, cmd, key))
	return true
}

// stateError ends the child on a failure of the state itself (a backend
// error): answering or dropping the command would lose or invent data,
// while the child's loss makes the task recover from the last commit.
func (b *Bolt) stateError(cmd, key string, err error) error {
	if key != "" {
		return fmt.Errorf("%w: %s of key %.60s: %v", ErrState, cmd, key, err)
	}
	return fmt.Errorf("%w: %s: %v", ErrState, cmd, err)
}

// stateContext is the handshake's squall key for a stateful component.
func stateContext(ctx *topology.TaskContext) *multilang.SquallContext {
	if c := ctx.Component(); c == nil || !c.Stateful {
		return nil
	}
	return &multilang.SquallContext{
		Protocol: multilang.SquallProtocol,
		State:    &multilang.StateContext{CacheMaxKeys: ctx.Config.Int(KeyStateCacheMaxKeys, stateCacheMaxKeys)},
	}
}
