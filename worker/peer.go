package worker

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/squallstream/squall/auth"
	"github.com/squallstream/squall/internal/backoff"
	"github.com/squallstream/squall/topology"
)

// peer carries messages to one other worker of the topology. Its two
// lanes are what the routing table holds for that worker's tasks, so
// emits to them batch and block like emits to local tasks, except that a
// congested task of the other worker holds back only its own tuples.
type peer struct {
	w    *Worker
	addr string
	// ctl carries acker messages and notes for spouts; it is written
	// before data, which carries tuples. Both wake the writer through one
	// channel.
	ctl, data *queue
	// gate holds back messages for the peer's congested tasks.
	gate    *gate
	log     *slog.Logger
	dropped atomic.Int64
	sent    atomic.Int64
	stop    chan struct{}
	done    chan struct{}
}

func (w *Worker) newPeer(addr string) *peer {
	ready := make(chan struct{}, 1)
	limit := w.conf.Int(topology.KeyTransferBufferSize, 1000) * 32
	p := &peer{
		w:    w,
		addr: addr,
		ctl:  newQueueReady(limit, ready),
		data: newQueueReady(limit, ready),
		gate: newGate(w.tasks.NumTasks()),
		log:  w.log.With("peer", addr),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	p.ctl.gate, p.data.gate = p.gate, p.gate
	return p
}

// close stops the peer: what waits for it is dropped, and producers
// waiting for it return.
func (p *peer) close() {
	closeOnce(p.stop)
	p.ctl.close()
	p.data.close()
}

// link is one connection to the peer, with the goroutine reading the
// peer's congestion signals from it.
type link struct {
	conn net.Conn
	bw   *bufio.Writer
	// frame is the frame being filled; unflushed counts the messages
	// written since the last flush, lost if the connection breaks.
	frame     []byte
	unflushed int
	// encoded counts the bytes encoded on this connection.
	encoded int
	signals chan struct{} // closed when the reader returned
}

// writer is the state of the peer's writing goroutine.
type writer struct {
	p *peer
	l *link
	// held keeps, by task, the messages for congested tasks, in order,
	// until the peer has room for them.
	held map[int32][]message
	// data is the batch of tuples being written, from pos on.
	data            []message
	pos             int
	ctlBuf, dataBuf []message
	writeTimeout    time.Duration
	deadlineRenewed time.Time
	redial          *backoff.Backoff
	downSince       time.Time
	// resend is set when held messages were for a connection that broke.
	resend bool
}

func (p *peer) run() {
	defer close(p.done)
	wr := &writer{
		p:            p,
		held:         map[int32][]message{},
		writeTimeout: p.w.writeTimeout,
		redial:       backoff.New(backoff.Policy{Min: minRedial, Max: maxRedial}),
		downSince:    time.Now(),
	}
	defer wr.disconnect(nil)
	park := parker{bufs: []*[]message{&wr.ctlBuf, &wr.dataBuf}}
	for {
		if wr.l == nil && !wr.connect() {
			return
		}
		busy, err := wr.round()
		if err != nil {
			wr.disconnect(err)
			continue
		}
		if busy {
			continue
		}
		if p.data.isClosed() {
			// The worker stops: nothing more comes, and what came went.
			<-p.stop
			return
		}
		if !park.await(&p.w.boltWait, p.stop, p.ctl, p.data) {
			return
		}
	}
}

// connect dials the peer until it answers, or until the peer stops
// (false). Meanwhile, after dropAfter, what waits for the peer is dropped.
func (wr *writer) connect() bool {
	p := wr.p
	for {
		c, err := p.dial()
		if err == nil {
			if !wr.downSince.IsZero() {
				p.log.Info("connected to peer worker")
			}
			wr.l = &link{conn: c, bw: bufio.NewWriterSize(c, frameFlushSize), signals: make(chan struct{})}
			go p.readSignals(c, wr.l.signals)
			wr.downSince = time.Time{}
			wr.redial.Reset()
			return true
		}
		if time.Since(wr.downSince) > dropAfter {
			wr.drop()
		}
		select {
		case <-p.stop:
			return false
		case <-time.After(wr.redial.Next()):
		}
	}
}

// disconnect closes the connection after err (nil: the peer stops); what
// was written but not flushed is lost, and reliable tuples replay.
func (wr *writer) disconnect(err error) {
	l := wr.l
	if l == nil {
		return
	}
	l.conn.Close()
	<-l.signals
	wr.l = nil
	wr.p.gate.releaseAll()
	wr.resend = len(wr.held) > 0
	if err != nil {
		wr.p.dropped.Add(int64(l.unflushed))
		wr.p.log.Warn("lost connection to peer worker", "err", err, "dropped", l.unflushed)
		wr.downSince = time.Now()
	}
}

// round writes what the lanes hold: control first, then tuples, one frame
// of them at a time, so that control waits behind one frame at most. It
// reports whether there may be more to write at once.
func (wr *writer) round() (busy bool, err error) {
	p := wr.p
	l := wr.l
	if now := time.Now(); now.Sub(wr.deadlineRenewed) > wr.writeTimeout/8 {
		// A deadline a little older than this is as good.
		if err := l.conn.SetWriteDeadline(now.Add(wr.writeTimeout)); err != nil {
			return false, err
		}
		wr.deadlineRenewed = now
	}
	if wr.resend {
		// Held for a connection that broke: these go first on the new one.
		wr.resend = false
		for task, ms := range wr.held {
			for i := range ms {
				if err := wr.add(&ms[i]); err != nil {
					return false, err
				}
			}
			delete(wr.held, task)
		}
	}
	ctl := p.ctl.take(wr.ctlBuf)
	for i := range ctl {
		m := &ctl[i]
		switch {
		case m.kind == kindRelief:
			// The task has room again: what it was held back goes first.
			for j, ms := 0, wr.held[m.task]; j < len(ms); j++ {
				if err := wr.add(&ms[j]); err != nil {
					return false, err
				}
			}
			delete(wr.held, m.task)
			p.gate.release(m.task)
		case !m.kind.forSpout() && p.gate.blocked(m.task):
			wr.held[m.task] = append(wr.held[m.task], *m)
		default:
			if err := wr.add(m); err != nil {
				return false, err
			}
		}
	}
	if ctl != nil {
		clear(ctl)
		wr.ctlBuf = ctl
	}
	if wr.pos == len(wr.data) {
		if wr.data != nil {
			clear(wr.data)
			wr.dataBuf = wr.data
		}
		wr.data, wr.pos = p.data.take(wr.dataBuf), 0
	}
	for start := l.encoded; wr.pos < len(wr.data) && l.encoded-start < frameFlushSize; wr.pos++ {
		m := &wr.data[wr.pos]
		if p.gate.blocked(m.task) {
			wr.held[m.task] = append(wr.held[m.task], *m)
			continue
		}
		if err := wr.add(m); err != nil {
			return false, err
		}
	}
	if ctl != nil || wr.pos < len(wr.data) {
		return true, nil
	}
	// Both lanes are empty: everything goes on the wire.
	if err := wr.endFrame(); err != nil {
		return false, err
	}
	if err := l.bw.Flush(); err != nil {
		return false, err
	}
	p.sent.Add(int64(l.unflushed))
	l.unflushed = 0
	return wr.data != nil, nil
}

// add encodes m into the frame being filled, writing the frame once it is
// big enough.
func (wr *writer) add(m *message) error {
	l := wr.l
	start := len(l.frame)
	var err error
	if l.frame, err = appendMessage(l.frame, m); err != nil {
		l.frame = l.frame[:start]
		wr.p.unsendable(m, err)
		return nil
	}
	l.unflushed++
	l.encoded += len(l.frame) - start
	if len(l.frame) >= frameFlushSize {
		return wr.endFrame()
	}
	return nil
}

// endFrame writes the frame being filled.
func (wr *writer) endFrame() error {
	l := wr.l
	if len(l.frame) == 0 {
		return nil
	}
	err := writeFrame(l.bw, l.frame)
	l.frame = l.frame[:0]
	return err
}

// drop discards what waits for an unreachable peer.
func (wr *writer) drop() {
	n := len(wr.data) - wr.pos
	clear(wr.data)
	wr.data, wr.pos = nil, 0
	for task, ms := range wr.held {
		n += len(ms)
		delete(wr.held, task)
	}
	n += len(wr.p.ctl.take(nil)) + len(wr.p.data.take(nil))
	if n > 0 {
		wr.p.dropped.Add(int64(n))
		wr.p.log.Warn("peer worker unreachable, dropping messages", "dropped", n)
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
	if p.w.cfg.PeerClientTLS != nil {
		c = tls.Client(c, p.w.cfg.PeerClientTLS)
	}
	// Both sides prove they hold the topology's secret before any frame;
	// a peer that does not answer is a broken one, as for writes.
	deadline := time.Now().Add(min(auth.DefaultHandshakeTimeout, p.w.writeTimeout))
	if err := auth.DialHandshake(c, p.w.cfg.PeerSecret, p.w.cfg.StormID, deadline); err != nil {
		c.Close()
		return nil, err
	}
	c.SetWriteDeadline(time.Now().Add(p.w.writeTimeout))
	return c, nil
}

// readSignals reads the peer's congestion signals from c until c closes:
// a held task's tuples wait in the writer; a released one's go first in
// the writer's next round.
func (p *peer) readSignals(c net.Conn, done chan struct{}) {
	defer close(done)
	br := bufio.NewReader(c)
	var (
		frame []byte
		tasks []int32
		err   error
		op    byte
	)
	for {
		if frame, err = readFrameMax(br, frame, maxSignalFrame); err != nil {
			break
		}
		if op, tasks, err = parseSignal(frame, tasks[:0]); err != nil {
			break
		}
		if op == sigHold {
			p.gate.hold(tasks)
			continue
		}
		for _, t := range tasks {
			p.ctl.pushNow(&message{kind: kindRelief, task: t})
		}
	}
	if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		p.log.Warn("reading congestion signals of peer worker", "err", err)
	}
	c.Close() // the writer sees it on its next write
}

// unsendable fails the tuple trees of a tuple that cannot be encoded and
// reports the error for its component.
func (p *peer) unsendable(m *message, err error) {
	src := m.tuple.Source()
	p.w.reportError(src.Component, src.Task, fmt.Errorf("tuple on stream %q to task %d: %w", src.Stream, m.task, err))
	if an, edges := anchorOf(m.tuple); an != nil {
		for _, e := range edges {
			at := p.w.ackerFor(e.Root)
			p.w.route(at, kindFail).pushNow(&message{kind: kindFail, task: int32(at), root: e.Root})
		}
	}
}
