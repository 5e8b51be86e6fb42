package shell

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/squallstream/squall/internal/procgroup"
	"github.com/squallstream/squall/multilang"
	"github.com/squallstream/squall/topology"
)

// stderrLines is how many of a child's last stderr lines are kept for
// error reports.
const stderrLines = 20

// child is one running instance of a component's process, from launch to
// reaping. Its reader and writer goroutines are the only users of its
// decoder and encoder.
type child struct {
	proc    *procgroup.Process
	stdin   *os.File // our end of the child's stdin
	stdout  *os.File
	started time.Time
	log     *slog.Logger

	out *outbox

	// lastHeard is the time (unix ns) of the child's last sign of life.
	lastHeard atomic.Int64
	// received counts the child's messages. The reader only counts (a
	// clock read per message is a measurable share of the host's work);
	// silentFor turns a change of the count into a sign of life at the
	// time it notices, which is at most one liveness check late.
	received atomic.Int64
	// seenReceived is the count silentFor saw last; only the goroutine
	// checking liveness uses it.
	seenReceived int64
	// busy is set while the reader delivers one of the child's emits
	// downstream; the liveness clock does not run then.
	busy atomic.Bool
	// interrupted is set once the task began stopping; a handshake that
	// starts later re-applies the interrupt after setting its deadlines.
	interrupted atomic.Bool
	// hbPending is set while a heartbeat awaits its sync (bolts).
	hbPending atomic.Bool
	// outstanding is set while a spout command awaits its sync; synced
	// gets a token when it arrives.
	outstanding atomic.Bool
	synced      chan struct{}

	// dead is closed when the host gives up on the child; lost guards it.
	dead chan struct{}
	lost sync.Once

	// ser is the wire format, set by the handshake.
	ser multilang.Serializer
	dec multilang.Reader
	// readErr and lastReceived are written by the reader goroutine and
	// read only after readerDone is closed.
	readerDone   chan struct{}
	readErr      error
	lastReceived multilang.Message
	// writeErr: likewise, for the writer goroutine.
	writerDone chan struct{}
	writeErr   error
	// wmu serialises writing to the child: the writer goroutine's and
	// kick's direct writes. enc, stdinW, lastSent and unencodable are
	// guarded by it. Bytes in enc are always older than the items in out.
	wmu         sync.Mutex
	enc         multilang.Writer
	stdinW      *stdinWriter
	lastSent    outItem
	unencodable func(outItem, error)
	// coalesced counts the messages kick encoded without flushing; the
	// reader flushes them before it waits for the child. Guarded by wmu.
	coalesced int
	// queued counts the tuples waiting in out, for kick or the writer.
	queued atomic.Int64
	// onWritten is called by the writer goroutine after it wrote tuples.
	onWritten func()

	// ioStarted is set by startIO, before the reader and writer exist.
	ioStarted bool

	// anchors is the reader's scratch slice for an emit's anchors.
	anchors []topology.Tuple
	// flushOut pushes on what the collector holds back of the child's
	// emits and acks; the reader calls it before it waits for the child.
	flushOut func()

	stderrDone chan struct{}
	stderrTail *lineTail
	strays     atomic.Int64

	// inspect is the debugger client of a Node child with a terminal,
	// nil otherwise; onStderr, if set, sees every stderr line.
	inspect  *inspectClient
	onStderr func(line string)
}

// launch starts a child in its own process group with pipes on its
// standard streams. The child's stderr is drained into log from the start.
// At most stderrRate of its stderr lines a second reach log, in bursts of
// ten times that.
// With a tty, the child also gets it as its terminal (attachTerminal).
func launch(argv []string, dir string, env []string, log *slog.Logger, stderrRate int, tty *os.File) (*child, error) {
	path, err := resolve(argv, dir, env)
	if err != nil {
		return nil, err
	}
	node := tty != nil && isNode(argv[0])
	if node {
		argv = withInspector(argv)
	}
	var files [6]*os.File // stdin r/w, stdout r/w, stderr r/w
	for i := 0; i < 6; i += 2 {
		if files[i], files[i+1], err = os.Pipe(); err != nil {
			closeAll(files[:i])
			return nil, fmt.Errorf("%w: %v", ErrLaunch, err)
		}
	}
	cmd := &exec.Cmd{Path: path, Args: argv, Dir: dir, Env: env, Stdin: files[0], Stdout: files[3], Stderr: files[5]}
	if tty != nil {
		attachTerminal(cmd, tty)
	}
	proc, err := procgroup.Start(cmd)
	closeAll([]*os.File{files[0], files[3], files[5]}) // the child's ends
	if err != nil {
		closeAll([]*os.File{files[1], files[2], files[4]})
		return nil, fmt.Errorf("%w: %v", ErrLaunch, err)
	}
	c := &child{
		proc:       proc,
		stdin:      files[1],
		stdout:     files[2],
		started:    time.Now(),
		log:        log.With("pid", proc.Pid()),
		out:        newOutbox(),
		synced:     make(chan struct{}, 1),
		dead:       make(chan struct{}),
		readerDone: make(chan struct{}),
		writerDone: make(chan struct{}),
		stderrDone: make(chan struct{}),
		stderrTail: newLineTail(stderrLines),
	}
	c.touch(time.Now())
	if node {
		c.inspect = &inspectClient{}
		tty := tty
		c.onStderr = func(line string) {
			if addr, ok := inspectorAddr(line); ok {
				c.inspect.start(path, addr, tty, c.log)
			}
			if line == nodeExitsLine {
				c.inspect.stop() // Node exits only once its debugger is gone
			}
		}
	}
	go c.drainStderr(files[4], newLineLimiter(float64(stderrRate), 10*stderrRate))
	return c, nil
}

func closeAll(files []*os.File) {
	for _, f := range files {
		if f != nil {
			f.Close()
		}
	}
}

// resolve returns the path exec runs for argv, or an ErrLaunch.
func resolve(argv []string, dir string, env []string) (string, error) {
	if len(argv) == 0 {
		return "", fmt.Errorf("%w: empty command", ErrLaunch)
	}
	path, err := lookPath(argv[0], dir, env)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrLaunch, err)
	}
	return path, nil
}

// lookPath finds an executable as the child's own PATH would: a name with
// a slash is taken as is (relative to dir), a bare name is searched in the
// PATH of env, relative entries taken relative to dir.
func lookPath(name, dir string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	pathVar := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathVar = v // the last one wins, as for the child
		}
	}
	for _, d := range filepath.SplitList(pathVar) {
		if d == "" {
			d = "."
		}
		p := filepath.Join(d, name)
		abs := p
		if !filepath.IsAbs(p) {
			abs = filepath.Join(dir, p)
		}
		if fi, err := os.Stat(abs); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			if !filepath.IsAbs(p) {
				return "./" + p, nil // relative to dir, as exec resolves it
			}
			return p, nil
		}
	}
	return "", fmt.Errorf("%q: executable file not found in $PATH (%s)", name, pathVar)
}

func (c *child) pid() int { return c.proc.Pid() }

func (c *child) touch(now time.Time) { c.lastHeard.Store(now.UnixNano()) }

// silentFor returns how long the child has said nothing. Only the
// goroutine checking the child's liveness may call it.
func (c *child) silentFor(now time.Time) time.Duration {
	if n := c.received.Load(); n != c.seenReceived {
		c.seenReceived = n
		c.touch(now)
	}
	return now.Sub(time.Unix(0, c.lastHeard.Load()))
}

// markDead tells every waiter that the host has given up on the child.
func (c *child) markDead() { c.lost.Do(func() { close(c.dead) }) }

// isDead reports whether markDead was called.
func (c *child) isDead() bool {
	select {
	case <-c.dead:
		return true
	default:
		return false
	}
}

// handshake sends the handshake and waits for the pid reply, both within
// timeout. Log messages before the reply are passed to onLog. The wire
// format is the one h.Conf selects (topology.multilang.serializer); a child
// that answers in the other one is reported as such, at once.
func (c *child) handshake(h *multilang.Handshake, timeout time.Duration, maxMessage int, onLog func(*multilang.Message)) error {
	ser, err := serializerOf(h.Conf)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrLaunch, err)
	}
	c.ser = ser
	deadline := time.Now().Add(timeout)
	c.stdin.SetWriteDeadline(deadline)
	c.stdout.SetReadDeadline(deadline)
	defer c.stdin.SetWriteDeadline(time.Time{})
	defer c.stdout.SetReadDeadline(time.Time{})
	if c.interrupted.Load() {
		// The stop came before these deadlines and they overwrote its own.
		c.interrupt()
	}

	enc := multilang.NewWriter(ser, c.stdin)
	if err := enc.WriteHandshake(h); err != nil {
		return fmt.Errorf("%w: %v", ErrLaunch, err)
	}
	if err := enc.Flush(); err != nil {
		return c.classifyIOError("write handshake", err, timeout)
	}
	sniff := &replySniffer{f: c.stdout, host: ser}
	defer sniff.stop()
	c.dec = multilang.NewReader(ser, sniff, multilang.DecoderOptions{
		MaxMessageBytes: maxMessage,
		OnStray:         c.stray,
		OnInvalidUTF8: func(snippet string) {
			c.log.Warn("child sent invalid UTF-8, replaced", "snippet", snippet)
		},
	})
	for {
		var m multilang.Message
		if err := c.dec.Decode(&m); err != nil {
			if sniff.mismatch != nil {
				return fmt.Errorf("%w: read pid reply: %w", ErrProtocol, sniff.mismatch)
			}
			err = c.classifyIOError("read pid reply", err, timeout)
			if ser == multilang.Msgpack && errors.Is(err, ErrTimeout) && sniff.seen == 0 {
				err = fmt.Errorf("%w (the host speaks MessagePack, topology.multilang.serializer: msgpack; "+
					"a child that only speaks JSON waits for an end line and never answers)", err)
			}
			return err
		}
		c.lastReceived = m
		c.touch(time.Now())
		switch {
		case m.HasPid && m.Command == "":
			if m.Pid != c.pid() {
				c.log.Debug("child reported another pid", "reported", m.Pid)
			}
			return nil
		case m.Command == multilang.CmdLog:
			onLog(&m)
		default:
			return fmt.Errorf("%w: expected the pid reply, got %q", ErrProtocol, m.Command)
		}
	}
}

// sniffLimit bounds how much of a child's first output replySniffer keeps.
const sniffLimit = 4 << 10

// replySniffer passes a child's stdout through and, until stop, keeps its
// first bytes to recognize a reply in the other wire format
// (multilang.SniffReply). Then it records the mismatch and ends the wait
// for the pid reply at once, by moving the read deadline to now. Only the
// goroutine reading the child uses it.
type replySniffer struct {
	f        *os.File
	host     multilang.Serializer
	prefix   []byte
	seen     int // bytes read while sniffing
	stopped  bool
	mismatch *multilang.MismatchError
}

func (s *replySniffer) Read(p []byte) (int, error) {
	n, err := s.f.Read(p)
	if s.stopped || n == 0 {
		return n, err
	}
	s.seen += n
	if len(s.prefix) < sniffLimit {
		s.prefix = append(s.prefix, p[:min(n, sniffLimit-len(s.prefix))]...)
		if child, ok := multilang.SniffReply(s.host, s.prefix); ok && s.mismatch == nil {
			s.mismatch = &multilang.MismatchError{Host: s.host, Child: child}
			s.f.SetReadDeadline(time.Now())
		}
	}
	return n, err
}

// stop ends the sniffing once the handshake is over.
func (s *replySniffer) stop() {
	s.stopped = true
	s.prefix = nil
}

func (c *child) classifyIOError(what string, err error, timeout time.Duration) error {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("%w: %s: no answer within %v", ErrTimeout, what, timeout)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, fs.ErrClosed), isBrokenPipe(err):
		return fmt.Errorf("%w: %s: %v", ErrExited, what, err)
	case errors.Is(err, multilang.ErrMalformed), errors.Is(err, multilang.ErrTooLarge):
		return fmt.Errorf("%w: %s: %v", ErrProtocol, what, err)
	}
	return fmt.Errorf("%w: %s: %v", ErrExited, what, err)
}

func isBrokenPipe(err error) bool {
	return err != nil && strings.Contains(err.Error(), "broken pipe")
}

// stray logs a line of stdout that is not part of any message.
func (c *child) stray(line []byte) {
	n := c.strays.Add(1)
	if n <= 10 || n%1000 == 0 {
		c.log.Warn("stray stdout from child", "line", clip(line), "count", n)
	}
}

// startIO starts the reader and writer goroutines. handle is called by the
// reader for every message; an error from it ends the reader. unencodable
// is called by the writer for an item it cannot encode; written (if set)
// after the writer wrote tuples.
func (c *child) startIO(handle func(*multilang.Message) error, unencodable func(outItem, error), flush, written func()) {
	c.ioStarted = true
	c.flushOut = flush
	c.stdinW = newStdinWriter(c.stdin)
	c.enc = multilang.NewWriter(c.ser, c.stdinW)
	c.unencodable = unencodable
	c.onWritten = written
	if c.onWritten == nil {
		c.onWritten = func() {}
	}
	go c.read(handle)
	go c.write()
}

func (c *child) read(handle func(*multilang.Message) error) {
	defer close(c.readerDone)
	var m multilang.Message
	for {
		if c.dec.Buffered() == 0 { // about to wait for the child
			c.flushCoalesced()
			c.flushOut()
		}
		err := c.dec.Decode(&m)
		if err == nil {
			c.received.Add(1)
			c.lastReceived = m
			err = handle(&m)
		}
		if err != nil {
			c.readErr = err
			return
		}
	}
}

// writeFlushSize is how much the writer buffers before flushing in the
// middle of a batch.
const writeFlushSize = 64 << 10

func (c *child) write() {
	defer close(c.writerDone)
	var batch []outItem
	for c.out.wait() {
		// Items are taken under wmu, so a direct write cannot overtake
		// one that was queued before it. A kick may have taken them
		// already: never wait for more while holding wmu, which every
		// other writer only tries to take.
		c.wmu.Lock()
		batch = c.out.drain(batch[:0])
		if len(batch) == 0 && c.enc.Buffered() == 0 && !c.stdinW.leftover() {
			c.wmu.Unlock()
			continue
		}
		// What a direct write handed over goes first.
		c.writeErr = c.stdinW.flushRest()
		tuples := 0
		for _, item := range batch {
			if c.writeErr != nil {
				break
			}
			if item.kind == itemTuple {
				tuples++
			}
			if item.kind == itemFlush {
				continue
			}
			c.encodeLocked(item)
			if c.enc.Buffered() >= writeFlushSize {
				c.writeErr = c.enc.Flush()
			}
		}
		if c.writeErr == nil {
			c.writeErr = c.enc.Flush()
		}
		c.coalesced = 0
		c.wmu.Unlock()
		clear(batch) // let delivered tuples be collected
		if tuples > 0 {
			c.queued.Add(int64(-tuples))
			c.onWritten()
		}
		if c.writeErr != nil {
			return
		}
	}
}

// encodeLocked encodes item into the writer's buffer; wmu is held.
func (c *child) encodeLocked(item outItem) {
	if err := encodeItem(c.enc, &item); err != nil {
		c.unencodable(item, err)
		return
	}
	c.lastSent = item
}

// send gives item to the child: it is queued, in order, and then written
// from the calling goroutine if that cannot block (kick). The rule holds
// for every goroutine, and matters most for the child's reader, which must
// never wait for a child that may be waiting for it. Writing directly
// spares the child the wait for a goroutine to wake, which it otherwise
// spends idle after each burst it answers. Callers that must keep items
// in a given order across goroutines queue them under their own lock
// with enqueue, and kick after unlocking.
func (c *child) send(item outItem, urgent, coalesce bool) {
	c.enqueue(item, urgent)
	c.kick(coalesce)
}

// enqueue queues item for kick or the writer goroutine, without writing
// or waking anything.
func (c *child) enqueue(item outItem, urgent bool) {
	if item.kind == itemTuple {
		c.queued.Add(1)
	}
	c.out.add(item, urgent)
}

// readAll reports whether the child has read everything written to it:
// nothing waits for kick or the writer, nor unread in its stdin. It costs
// a system call when nothing is queued.
func (c *child) readAll() bool {
	return c.queued.Load() == 0 && c.out.empty() && c.stdinW.unread() == 0
}

// queue hands item to the writer goroutine: the way to feed a busy child,
// whose input then goes in batches of one system call each.
func (c *child) queue(item outItem, urgent bool) {
	if item.kind == itemTuple {
		c.queued.Add(1)
	}
	c.out.put(item, urgent)
}

// kick writes what is queued from the calling goroutine, without waiting:
// unless another goroutine is writing or a direct write left bytes over,
// it takes queued items and writes them if the pipe's free room holds the
// encoded bytes; what does not fit goes to the writer goroutine. Whatever
// it leaves queued, the goroutine holding the lock writes, or wakes the
// writer for.
//
// With coalesce (the reader, answering a burst of the child's output), up
// to coalesceMax messages are flushed together, and the rest before the
// reader waits for the child again: the child restarts at once, with a
// fraction of the system calls.
func (c *child) kick(coalesce bool) {
	if !c.wmu.TryLock() {
		return // its holder sees what is queued
	}
	tuples, handedOver := 0, false
	if !c.stdinW.leftover() && c.stdinW.capacity > 0 {
		for c.enc.Buffered() < writeFlushSize {
			item, ok := c.out.next()
			if !ok {
				break
			}
			if item.kind == itemTuple {
				tuples++
			}
			if item.kind == itemFlush {
				// Bytes handed to the writer: they are this kick's now.
				handedOver = true
				continue
			}
			c.encodeLocked(item)
			c.coalesced++
		}
		n := c.enc.Buffered()
		if n > 0 && (!coalesce || handedOver || c.coalesced >= coalesceMax || n >= writeFlushSize) {
			c.flushDirect()
		}
	}
	c.wmu.Unlock()
	if tuples > 0 {
		c.queued.Add(int64(-tuples))
		c.onWritten()
	}
	if !c.out.empty() {
		c.out.wakeWriter()
	}
}

// flushDirect writes what the encoder holds if the pipe has room for it,
// without waiting; what it cannot write goes to the writer goroutine. wmu
// is held. A write error surfaces as the child's death.
func (c *child) flushDirect() {
	c.coalesced = 0
	if c.stdinW.fits(c.enc.Buffered()) {
		c.stdinW.nonblocking = true
		c.enc.Flush()
		c.stdinW.nonblocking = false
		if !c.stdinW.leftover() {
			return
		}
	}
	// The writer flushes what the encoder and stdinW still hold before
	// anything queued after this.
	c.out.put(outItem{kind: itemFlush}, true)
}

// coalesceMax is how many messages the reader's direct writes gather.
const coalesceMax = 4

// flushCoalesced writes what kick gathered. If another goroutine holds
// the lock, it flushes them itself: the writer at the end of its batch,
// a kick at once.
func (c *child) flushCoalesced() {
	if c.wmu.TryLock() {
		if c.enc.Buffered() > 0 {
			c.flushDirect()
		}
		c.wmu.Unlock()
		// Kicks that found wmu taken left their items to the holder.
		if !c.out.empty() {
			c.out.wakeWriter()
		}
	}
}

func encodeItem(enc multilang.Writer, item *outItem) error {
	switch item.kind {
	case itemTuple:
		t := item.tuple
		return enc.WriteTuple(&multilang.TupleMessage{ID: item.id, Comp: t.SourceComponent(), Stream: t.SourceStream(), Task: t.SourceTask(), Tuple: t.Values()})
	case itemHeartbeat:
		return enc.WriteHeartbeat(item.id)
	case itemCommand:
		return enc.WriteCommand(item.command, item.msgID)
	case itemTaskIDs:
		return enc.WriteTaskIDs(item.taskIDs)
	case itemStateReply:
		return enc.WriteStateReply(item.command, item.items, item.more)
	case itemStateReset:
		return enc.WriteStateReset(item.txid)
	}
	return fmt.Errorf("unknown item kind %d", item.kind)
}

// describeSent renders an item as the child would see it, as JSON whatever
// the wire format, for error reports.
func describeSent(item outItem) string {
	if item.kind == 0 {
		return ""
	}
	var buf bytes.Buffer
	enc := multilang.NewEncoder(&buf)
	if err := encodeItem(enc, &item); err != nil {
		return err.Error()
	}
	enc.Flush()
	return clip(bytes.TrimSuffix(buf.Bytes(), []byte("\nend\n")))
}

// clipLen bounds a message quoted in a failure report.
const clipLen = 300

func clip(b []byte) string {
	if len(b) <= clipLen {
		return string(b)
	}
	return fmt.Sprintf("%s... (%d bytes)", b[:clipLen], len(b))
}

func describeReceived(m multilang.Message) string {
	if m.Command == "" && !m.HasPid {
		return ""
	}
	var buf bytes.Buffer
	enc := multilang.NewEncoder(&buf)
	if err := enc.WriteMessage(&m); err != nil {
		return fmt.Sprintf("%s command", m.Command)
	}
	enc.Flush()
	return clip(bytes.TrimSuffix(buf.Bytes(), []byte("\nend\n")))
}

// maxStderrLine caps one logged stderr line.
const maxStderrLine = 4096

func (c *child) drainStderr(f *os.File, limit *lineLimiter) {
	defer close(c.stderrDone)
	defer f.Close()
	dropped := func(n int64) {
		if n > 0 {
			c.log.Warn("child stderr lines dropped: more than the limit a second", "dropped", n, "key", KeyStderrLinesPerSec)
		}
	}
	defer func() { dropped(limit.flush()) }()
	r := bufio.NewReaderSize(f, maxStderrLine)
	for {
		line, err := r.ReadSlice('\n')
		if len(line) > 0 {
			s := strings.TrimRight(string(line), "\r\n")
			if err == bufio.ErrBufferFull {
				s += " [line truncated]"
				for err == bufio.ErrBufferFull {
					_, err = r.ReadSlice('\n')
				}
			}
			c.stderrTail.add(s) // the tail keeps every line, for error reports
			if c.onStderr != nil {
				c.onStderr(s)
			}
			if ok, n := limit.allow(time.Now()); ok {
				dropped(n)
				c.log.Info("child stderr", "line", s)
			}
		}
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
	}
}

// shutdown stops the child: its stdin is closed and its process group,
// with the descendants that left it (found through pidDir), gets SIGTERM
// and, grace later, SIGKILL. It then waits, at most ioWait each, for the
// reader, writer and stderr goroutines, so that what the child wrote
// before dying is processed, and removes the pid files of what it killed.
// It returns whether the reader finished.
func (c *child) shutdown(grace, ioWait time.Duration, pidDir string) (readerDone bool) {
	c.markDead()
	c.out.close()
	// Read the process tree before anything dies: a dead child's
	// descendants belong to init.
	others, err := procgroup.DescendantsInPidDir(pidDir, c.pid())
	if err != nil {
		c.log.Warn("cannot read the pid directory for the child's descendants", "err", err)
	}
	c.stdin.Close()
	if c.inspect != nil {
		c.inspect.stop()
	}
	c.proc.StopWith(grace, others)
	c.removePidFiles(pidDir, others)
	if !c.ioStarted {
		// The handshake failed: no reader or writer to wait for.
		waitFor(c.stderrDone, ioWait)
		c.stdout.Close()
		return true
	}
	readerDone = waitFor(c.readerDone, ioWait)
	if !readerDone {
		c.log.Warn("child reader still busy after the child stopped")
	}
	waitFor(c.writerDone, ioWait)
	waitFor(c.stderrDone, ioWait)
	c.stdout.Close()
	return readerDone
}

// interrupt ends a handshake in progress, or one about to start, at once:
// the task is stopping.
func (c *child) interrupt() {
	c.interrupted.Store(true)
	past := time.Unix(1, 0)
	c.stdout.SetReadDeadline(past)
	c.stdin.SetWriteDeadline(past)
}

func waitFor(ch <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
		return true
	case <-t.C:
		return false
	}
}

// removePidFiles removes the files the child and the descendants in
// others created in pidDir.
func (c *child) removePidFiles(pidDir string, others []procgroup.Ident) {
	if pidDir == "" {
		return
	}
	os.Remove(filepath.Join(pidDir, strconv.Itoa(c.pid())))
	for _, o := range others {
		if !o.Running() {
			os.Remove(filepath.Join(pidDir, strconv.Itoa(o.Pid)))
		}
	}
}

// childEnv builds a child's environment: the inherited one, then extra,
// then the component's own, whose PATH is appended to the inherited PATH.
func childEnv(extra []string, own map[string]string, conf topology.Config) []string {
	env := append(os.Environ(), extra...)
	if m, ok := conf[topology.KeyTopologyEnvironment].(map[string]any); ok {
		for k, v := range m {
			env = append(env, fmt.Sprintf("%s=%v", k, v))
		}
	}
	for k, v := range own {
		if k == "PATH" {
			if inherited := os.Getenv("PATH"); inherited != "" {
				v = inherited + string(os.PathListSeparator) + v
			}
		}
		env = append(env, k+"="+v)
	}
	return env
}
