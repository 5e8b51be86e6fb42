package worker

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/squallstream/squall/topology"
)

// Between two workers of a topology, the one that sends opens a TCP
// connection to the one that receives and writes frames of messages on
// it: control (acker messages, notes for spouts) before tuples, each kind
// from its own lane, so that acks never wait behind data. The receiver's
// read loop never blocks: a tuple for a task whose queue is full waits in
// that task's backlog, and the receiver writes back on the same
// connection which tasks are congested and, once their backlog went,
// which have room again; the sender holds back tuples for congested tasks
// only (see gate), as Storm 2's backpressure messages do. Every write has
// a deadline: a worker that does not read is a broken connection.

// Every connection between workers opens with auth's handshake
// (auth.DialHandshake, auth.AcceptHandshake): its hello names the
// protocol and the topology, and both sides prove they hold the
// topology's secret, so a worker never takes tuples from anyone else.

// maxHandshakes bounds the handshakes a receiver runs at once, so that
// connections that say nothing cannot pile up; more are closed at once.
const maxHandshakes = 64

// Reconnect backoff, how long a peer may stay unreachable before the
// messages waiting for it are dropped (their tuples time out and replay)
// rather than holding up the whole topology, and how long a write may
// wait for the other side to read.
const (
	minRedial        = 50 * time.Millisecond
	maxRedial        = 2 * time.Second
	dropAfter        = 5 * time.Second
	dialTimeout      = 2 * time.Second
	frameFlushSize   = 256 << 10
	peerWriteTimeout = 10 * time.Second
)

// Signals a receiver writes back to the sender: the tasks that follow in
// the frame are congested, or have room again.
const (
	sigHold byte = iota + 1
	sigRelease
)

// maxSignalFrame bounds a signal frame.
const maxSignalFrame = 1 << 20

var errBadSignal = errors.New("bad congestion signal")

// appendSignal encodes a signal about tasks.
func appendSignal(b []byte, op byte, tasks []int32) []byte {
	b = append(b, op)
	b = binary.AppendUvarint(b, uint64(len(tasks)))
	for _, t := range tasks {
		b = binary.AppendUvarint(b, uint64(t))
	}
	return b
}

// parseSignal decodes a signal frame, appending its tasks to tasks.
func parseSignal(f []byte, tasks []int32) (op byte, _ []int32, err error) {
	r := wireReader{b: f}
	op = r.byte()
	if op != sigHold && op != sigRelease {
		return 0, tasks, fmt.Errorf("%w: operation %d", errBadSignal, op)
	}
	n := r.count(1)
	for range n {
		t := r.uvarint()
		if t > 1<<31-1 {
			return 0, tasks, fmt.Errorf("%w: task %d", errBadSignal, t)
		}
		tasks = append(tasks, int32(t))
	}
	if r.err != nil || !r.done() {
		return 0, tasks, fmt.Errorf("%w: %d bytes, malformed", errBadSignal, len(f))
	}
	return op, tasks, nil
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

func readFrame(r io.Reader, buf []byte) ([]byte, error) { return readFrameMax(r, buf, maxFrame) }

// readFrameMax reads a frame of at most limit bytes.
func readFrameMax(r io.Reader, buf []byte, limit uint32) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return buf, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > limit {
		return buf, fmt.Errorf("frame of %d bytes, above the limit of %d", n, limit)
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	_, err := io.ReadFull(r, buf)
	return buf, err
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
