package worker

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/squallstream/squall/auth"
	"github.com/squallstream/squall/internal/intern"
	"github.com/squallstream/squall/topology"
)

// receiver accepts connections from the topology's other workers and
// delivers what they send to this worker's executors. Its read loops
// never block on a queue.
type receiver struct {
	w  *Worker
	l  net.Listener
	wg sync.WaitGroup

	// handshakes holds a token for each handshake in progress.
	handshakes chan struct{}

	mu sync.Mutex
	// conns and closed are guarded by mu.
	conns  map[net.Conn]bool
	closed bool
}

func (w *Worker) newReceiver(l net.Listener) *receiver {
	return &receiver{w: w, l: l, conns: map[net.Conn]bool{}, handshakes: make(chan struct{}, maxHandshakes)}
}

func (r *receiver) serve() {
	for {
		c, err := r.l.Accept()
		if err != nil {
			return // closed
		}
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			c.Close()
			return
		}
		r.conns[c] = true
		r.mu.Unlock()
		r.wg.Go(func() {
			defer func() {
				r.mu.Lock()
				delete(r.conns, c)
				r.mu.Unlock()
				c.Close()
			}()
			// handle returns only when the connection fails or closes.
			if err := r.handle(c); !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				r.w.log.Warn("receiving from peer worker", "remote", c.RemoteAddr(), "err", err)
			}
		})
	}
}

// close stops accepting, closes every connection and waits for them and
// for their backlogs, which end once the executors' queues are closed.
func (r *receiver) close() {
	r.mu.Lock()
	r.closed = true
	r.l.Close()
	for c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}

// inbound is one connection from a peer worker: its read loop, the
// backlogs of its tuples for full queues, and its congestion signals.
type inbound struct {
	r *receiver
	c net.Conn
	// backlogs is owned by the read loop.
	backlogs map[*queue]*backlog

	// sigMu serialises the signals written back to the peer.
	sigMu  sync.Mutex
	sigBuf []byte
}

// backlog holds, in order, the messages of one connection for one queue
// that the queue had no room for, and the tasks the peer was told to hold
// back. A goroutine drains it into the queue, blocking there instead of
// the read loop.
type backlog struct {
	q *queue

	mu sync.Mutex
	// The following fields are guarded by mu.
	msgs     []message
	held     []int32
	draining bool
}

// accept authenticates a new connection: TLS when configured, then the
// handshake that proves the peer holds the topology's secret. A refusal
// is logged with the peer's address, and the connection closed.
func (r *receiver) accept(c net.Conn) (net.Conn, bool) {
	select {
	case r.handshakes <- struct{}{}:
		defer func() { <-r.handshakes }()
	default:
		r.w.log.Warn("worker connection refused", "remote", c.RemoteAddr(), "err", "too many handshakes in progress")
		return nil, false
	}
	if r.w.cfg.PeerServerTLS != nil {
		c = tls.Server(c, r.w.cfg.PeerServerTLS)
	}
	p, err := auth.AcceptHandshake(c, r.w.cfg.PeerSecret, r.w.cfg.StormID, time.Now().Add(auth.DefaultHandshakeTimeout))
	if err == nil {
		err = auth.Authorize(p, auth.OpWorkerConnect, &auth.TopologyACL{ID: r.w.cfg.StormID}, auth.Policy{})
	}
	if err != nil {
		r.w.log.Warn("worker connection refused", "remote", c.RemoteAddr(), "err", err)
		return nil, false
	}
	return c, true
}

func (r *receiver) handle(c net.Conn) error {
	c, ok := r.accept(c)
	if !ok {
		return nil
	}
	br := bufio.NewReaderSize(c, frameFlushSize)
	var err error
	in := &inbound{r: r, c: c, backlogs: map[*queue]*backlog{}}
	srcs := &sourceCache{w: r.w, cache: map[[2]int]*topology.Source{}}
	var (
		frame  []byte
		out    []outBatch
		values intern.Table
	)
	for {
		if frame, err = readFrame(br, frame); err != nil {
			return err
		}
		rd := wireReader{b: frame, values: &values}
		for !rd.done() {
			var m message
			if err := rd.next(&m, srcs); err != nil {
				return fmt.Errorf("bad frame: %w", err)
			}
			if !r.w.isLocal(int(m.task)) {
				r.w.log.Warn("message for a task not in this worker", "task", m.task)
				continue
			}
			out = addToBatch(out, r.w.local[m.task], m)
		}
		for i := range out {
			b := &out[i]
			if len(b.msgs) == 0 {
				continue
			}
			// A spout's queue only gets notes, which never wait; other
			// queues take what fits, and the rest waits in a backlog.
			if b.msgs[0].kind.forSpout() {
				b.q.pushBatchNow(b.msgs)
			} else {
				in.deliver(b.q, b.msgs)
			}
			clear(b.msgs)
			b.msgs = b.msgs[:0]
		}
	}
}

// deliver puts msgs on q, or in q's backlog if q is full or already has
// one, telling the peer to hold back the tasks that have to wait.
func (in *inbound) deliver(q *queue, msgs []message) {
	bl := in.backlogs[q]
	if bl == nil {
		bl = &backlog{q: q}
		in.backlogs[q] = bl
	}
	bl.mu.Lock()
	defer bl.mu.Unlock()
	if !bl.draining {
		// Only this goroutine starts a backlog, so none can start while
		// the lock is let go.
		bl.mu.Unlock()
		n := q.tryPushBatch(msgs)
		bl.mu.Lock()
		if msgs = msgs[n:]; len(msgs) == 0 {
			return
		}
	}
	bl.msgs = append(bl.msgs, msgs...)
	var hold []int32
	for i := range msgs {
		if t := msgs[i].task; !containsTask(bl.held, t) && !containsTask(hold, t) {
			hold = append(hold, t)
		}
	}
	if len(hold) > 0 {
		bl.held = append(bl.held, hold...)
		in.signal(sigHold, hold) // under bl.mu: signals of one task keep their order
	}
	if !bl.draining {
		bl.draining = true
		in.r.wg.Go(func() { in.drain(bl) })
	}
}

func containsTask(tasks []int32, t int32) bool {
	for _, x := range tasks {
		if x == t {
			return true
		}
	}
	return false
}

// drain moves bl's messages into its queue, waiting for room, then, once
// the queue's consumer took them, tells the peer that the held tasks have
// room again. It returns early, dropping what is left, when the queue
// closes.
func (in *inbound) drain(bl *backlog) {
	var spare []message
	for {
		bl.mu.Lock()
		batch := bl.msgs
		if len(batch) == 0 && bl.q.len() > bl.q.limit/2 {
			// Released now, the peer's tuples would find the queue as full
			// as before: wait for its consumer to take what is there.
			bl.mu.Unlock()
			if taken := bl.q.waitTaken(); taken != closedChan {
				<-taken
				continue
			}
			bl.mu.Lock() // closed: the worker stops
			bl.held, bl.draining = nil, false
			bl.mu.Unlock()
			return
		}
		if len(batch) == 0 {
			bl.draining = false
			if len(bl.held) > 0 {
				in.signal(sigRelease, bl.held)
				bl.held = bl.held[:0]
			}
			bl.mu.Unlock()
			return
		}
		bl.msgs = spare[:0]
		bl.mu.Unlock()
		if !bl.q.pushBatch(batch, &in.r.w.backpressure) {
			bl.mu.Lock()
			clear(bl.msgs)
			bl.msgs, bl.held, bl.draining = nil, nil, false
			bl.mu.Unlock()
			return
		}
		clear(batch)
		spare = batch
	}
}

// signal writes a congestion signal back to the peer. A peer that does not
// read it in time is cut off: it reconnects, and its tuples in flight
// replay.
func (in *inbound) signal(op byte, tasks []int32) {
	in.sigMu.Lock()
	defer in.sigMu.Unlock()
	b := appendSignal(append(in.sigBuf[:0], 0, 0, 0, 0), op, tasks)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	in.sigBuf = b
	in.c.SetWriteDeadline(time.Now().Add(in.r.w.writeTimeout))
	if _, err := in.c.Write(b); err != nil {
		in.c.Close()
	}
}

// addToBatch appends m to the batch for q.
func addToBatch(out []outBatch, q *queue, m message) []outBatch {
	for i := range out {
		if out[i].q == q {
			out[i].msgs = append(out[i].msgs, m)
			return out
		}
	}
	return append(out, outBatch{q: q, msgs: []message{m}})
}
