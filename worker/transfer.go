package worker

import (
	"github.com/squallstream/squall/internal/backoff"

	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/squallstream/squall/internal/intern"
	"github.com/squallstream/squall/topology"
)

// helloMagic opens every connection between workers, followed by the
// storm id, so a worker never takes tuples meant for another topology.
const helloMagic = "squall-transfer-1\x00"

// Reconnect backoff, and how long a peer may stay unreachable before the
// messages waiting for it are dropped (their tuples time out and replay)
// rather than holding up the whole topology.
const (
	minRedial      = 50 * time.Millisecond
	maxRedial      = 2 * time.Second
	dropAfter      = 5 * time.Second
	dialTimeout    = 2 * time.Second
	frameFlushSize = 256 << 10
)

// peer carries messages to one other worker of the topology. Its outbox
// is what the routing table holds for that worker's tasks, so emits to
// them batch and block exactly like emits to local tasks.
type peer struct {
	w       *Worker
	addr    string
	outbox  *queue
	log     *slog.Logger
	dropped atomic.Int64
	sent    atomic.Int64
	stop    chan struct{}
	done    chan struct{}
}

func (w *Worker) newPeer(addr string) *peer {
	return &peer{
		w:      w,
		addr:   addr,
		outbox: newQueue(w.conf.Int(topology.KeyTransferBufferSize, 1000) * 32),
		log:    w.log.With("peer", addr),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
}

func (p *peer) run() {
	defer close(p.done)
	var (
		conn      net.Conn
		bw        *bufio.Writer
		buf       []message
		frame     []byte
		redial    = backoff.New(backoff.Policy{Min: minRedial, Max: maxRedial})
		downSince = time.Now()
	)
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	for {
		if conn == nil {
			c, err := p.dial()
			if err != nil {
				if time.Since(downSince) > dropAfter {
					p.drop()
				}
				select {
				case <-p.stop:
					return
				case <-time.After(redial.Next()):
				}
				continue
			}
			if !downSince.IsZero() {
				p.log.Info("connected to peer worker")
			}
			conn, bw, downSince = c, bufio.NewWriterSize(c, frameFlushSize), time.Time{}
			redial.Reset()
		}
		batch := p.outbox.take(buf)
		if batch == nil {
			select {
			case <-p.stop:
				return
			case <-p.outbox.waitReady():
			}
			continue
		}
		var err error
		frame, err = p.write(bw, batch, frame)
		if err == nil {
			err = bw.Flush()
		}
		if err != nil {
			// What was in flight is lost: reliable tuples time out and
			// replay, as in Storm.
			p.dropped.Add(int64(len(batch)))
			p.log.Warn("lost connection to peer worker", "err", err, "dropped", len(batch))
			conn.Close()
			conn, downSince = nil, time.Now()
		}
		p.sent.Add(int64(len(batch)))
		buf = batch
	}
}

func (p *peer) dial() (net.Conn, error) {
	c, err := net.DialTimeout("tcp", p.addr, dialTimeout)
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	hello := append([]byte(helloMagic), p.w.cfg.StormID...)
	if err := writeFrame(c, hello); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// write encodes batch into frames on bw.
func (p *peer) write(bw *bufio.Writer, batch []message, frame []byte) ([]byte, error) {
	frame = frame[:0]
	for i := range batch {
		m := &batch[i]
		start := len(frame)
		var err error
		if frame, err = appendMessage(frame, m); err != nil {
			frame = frame[:start]
			p.unsendable(m, err)
			continue
		}
		if len(frame) >= frameFlushSize {
			if err := writeFrame(bw, frame); err != nil {
				return frame, err
			}
			frame = frame[:0]
		}
	}
	if len(frame) > 0 {
		return frame, writeFrame(bw, frame)
	}
	return frame, nil
}

// unsendable fails the tuple trees of a tuple that cannot be encoded and
// reports the error for its component.
func (p *peer) unsendable(m *message, err error) {
	src := m.tuple.Source()
	p.w.reportError(src.Component, src.Task, fmt.Errorf("tuple on stream %q to task %d: %w", src.Stream, m.task, err))
	if an := m.tuple.Anchor(); an != nil {
		for _, e := range an.Edges() {
			acker := p.w.ackerFor(e.Root)
			p.w.route(acker).pushNow(&message{kind: kindFail, task: int32(acker), root: e.Root})
		}
	}
}

// drop discards what waits for an unreachable peer.
func (p *peer) drop() {
	if batch := p.outbox.take(nil); len(batch) > 0 {
		p.dropped.Add(int64(len(batch)))
		p.log.Warn("peer worker unreachable, dropping messages", "dropped", len(batch))
	}
}

func writeFrame(w io.Writer, payload []byte) error {
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(payload)))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(payload)
	return err
}

func readFrame(r io.Reader, buf []byte) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return buf, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > maxFrame {
		return buf, fmt.Errorf("frame of %d bytes, above the limit of %d", n, maxFrame)
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	_, err := io.ReadFull(r, buf)
	return buf, err
}

// receiver accepts connections from the topology's other workers and
// delivers what they send to this worker's executors.
type receiver struct {
	w  *Worker
	l  net.Listener
	wg sync.WaitGroup

	mu sync.Mutex
	// conns and closed are guarded by mu.
	conns  map[net.Conn]bool
	closed bool
}

func (w *Worker) newReceiver(l net.Listener) *receiver {
	return &receiver{w: w, l: l, conns: map[net.Conn]bool{}}
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
			if err := r.handle(c); err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				r.w.log.Warn("receiving from peer worker", "remote", c.RemoteAddr(), "err", err)
			}
		})
	}
}

// close stops accepting, closes every connection and waits for them.
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

// sourceCache resolves tuple sources for one connection.
type sourceCache struct {
	w     *Worker
	cache map[[2]int]*topology.Source
}

func (s *sourceCache) source(task, stream int) (*topology.Source, error) {
	key := [2]int{task, stream}
	if src, ok := s.cache[key]; ok {
		return src, nil
	}
	if stream < 0 || stream >= len(s.w.streams) {
		return nil, fmt.Errorf("unknown stream index %d", stream)
	}
	st := s.w.streams[stream]
	if comp := s.w.tasks.Component(task); comp != st.component {
		return nil, fmt.Errorf("tuple from task %d (%q) on a stream of %q", task, comp, st.component)
	}
	src := &topology.Source{Component: st.component, Task: task, Stream: st.stream, Fields: st.fields, StreamIndex: stream}
	s.cache[key] = src
	return src, nil
}

func (r *receiver) handle(c net.Conn) error {
	br := bufio.NewReaderSize(c, frameFlushSize)
	hello, err := readFrame(br, nil)
	if err != nil {
		return err
	}
	if want := helloMagic + r.w.cfg.StormID; string(hello) != want {
		return fmt.Errorf("peer is not a worker of %s: hello %q", r.w.cfg.StormID, hello)
	}
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
			out = addToBatch(out, r.w.route(int(m.task)), m)
		}
		// Tuples block on full queues, which stops reading: TCP carries the
		// backpressure to the sender. Notes for spouts never block.
		for i := range out {
			b := &out[i]
			if len(b.msgs) == 0 {
				continue
			}
			if b.msgs[0].kind <= kindReset { // tuples and acker messages
				b.q.pushBatch(b.msgs)
			} else {
				b.q.pushBatchNow(b.msgs)
			}
			clear(b.msgs)
			b.msgs = b.msgs[:0]
		}
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
