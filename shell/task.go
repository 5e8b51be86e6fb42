package shell

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/squallstream/squall/multilang"
	"github.com/squallstream/squall/topology"
)

// ioWait bounds how long a stopping child's reader, writer and stderr
// goroutines are waited for once the process group is dead.
const ioWait = 2 * time.Second

// Health describes a shell task's child for monitoring.
type Health struct {
	// Pid is the running child's pid, 0 while none is running.
	Pid int
	// Failures counts the children that failed since the task started.
	Failures int
	// CrashLooping is set while children keep failing in quick succession.
	CrashLooping bool
	// LastError is the last failure, nil if none.
	LastError error
	// Released counts the tuples a bolt's children held unacked and the
	// host released because they held too many (KeyShellBoltMaxHeld).
	Released int64
}

// ReportedError is an error a child reported with the error command.
type ReportedError struct {
	Component string
	Task      int
	Msg       string
}

func (e *ReportedError) Error() string { return e.Msg }

// hooks is what distinguishes a bolt from a spout for the supervisor.
type hooks struct {
	// handle processes a message of child c (reader goroutine).
	handle func(c *child, m *multilang.Message) error
	// unencodable handles an item the writer could not encode.
	unencodable func(c *child, item outItem, err error)
	// heartbeats says whether the child gets heartbeat tuples.
	heartbeats bool
	// flush pushes on what the collector holds back (see flusher); the
	// child's reader calls it before it waits for the child.
	flush func()
	// written, if set, is called by c's writer after it wrote tuples.
	written func(c *child)
	// tick, if set, is called with c at every liveness check.
	tick func(c *child, now time.Time)
	// waiting says whether the host waits on c, so its silence counts.
	waiting func(c *child) bool
	// up is called when c is ready; down once c is gone for good, with
	// the failure (nil on a clean stop) and whether c's reader finished.
	up   func(c *child)
	down func(c *child, cerr *ChildError, readerDone bool)
}

// supervisor runs the children of one shell task, one at a time, and
// restarts them when they fail.
type supervisor struct {
	spec  *topology.ShellSpec
	opts  Options
	set   settings
	ctx   *topology.TaskContext
	log   *slog.Logger
	env   []string
	hooks hooks
	// report sends an error to the component's error log; record, if
	// set, a metric of the task.
	report func(error)
	record func(name string, value any)

	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}

	mu sync.Mutex
	// health is guarded by mu.
	health Health
	// unknown records unknown commands already logged; reader goroutines
	// only, one child at a time.
	unknown map[string]bool
	// term is the children's own terminal, nil when not attached.
	term *Terminal
	// usage adds up the children's CPU time (childstats.go).
	usage childUsage
}

func newSupervisor(spec *topology.ShellSpec, opts Options, ctx *topology.TaskContext, set settings, report func(error), record func(string, any), h hooks) (*supervisor, error) {
	// The worker owns the pid directory: its tasks' children record their
	// pids there, and what reaps the worker reads it.
	if ctx.PidDir == "" {
		return nil, fmt.Errorf("shell task %s %d: no pid directory in its context", ctx.ComponentID, ctx.TaskID)
	}
	s := &supervisor{
		spec:    spec,
		opts:    opts.withDefaults(),
		set:     set,
		ctx:     ctx,
		log:     set.log,
		env:     childEnv(opts.Env, spec.Env, ctx.Config),
		hooks:   h,
		report:  report,
		record:  record,
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		unknown: map[string]bool{},
	}
	if opts.Attach != nil {
		s.term = opts.Attach(ctx.ComponentID, ctx.TaskID)
	}
	return s, nil
}

// Health returns the task's current health.
func (s *supervisor) Health() Health {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.health
}

// beginStop begins stopping the running child and the restart loop,
// without waiting. It may be called more than once.
func (s *supervisor) beginStop() { s.stopOnce.Do(func() { close(s.stop) }) }

// shutdown stops the running child and the restart loop, and waits for
// both. It may be called more than once.
func (s *supervisor) shutdown() {
	s.beginStop()
	<-s.done
}

func (s *supervisor) stopping() bool {
	select {
	case <-s.stop:
		return true
	default:
		return false
	}
}

// run starts children until shutdown, restarting each that fails after a
// backoff. A stop is seen in every phase: launch, handshake, running and
// backoff.
func (s *supervisor) run() {
	defer close(s.done)
	tracker := newRestartTracker(s.opts)
	for {
		c, cerr := s.start()
		if cerr == nil {
			s.hooks.up(c)
			s.setPid(c.pid()) // after up: a task showing a pid talks to its child
			cerr = s.watch(c)
		}
		if s.stopping() {
			// Whatever the child did once the stop began (Storm's adapters
			// raise on EOF, the handshake was cut short) is no failure.
			if c != nil {
				readerDone := c.shutdown(s.opts.StopGrace, ioWait, s.ctx.PidDir)
				s.usage.reaped(c)
				s.hooks.down(c, nil, readerDone)
			}
			s.setPid(0)
			return
		}
		readerDone := true
		var started time.Time
		if c != nil {
			readerDone = c.shutdown(s.opts.StopGrace, ioWait, s.ctx.PidDir)
			s.usage.reaped(c)
			s.describe(cerr, c, readerDone)
			started = c.started
		}
		delay, looping := tracker.failed(started, time.Now())
		s.mu.Lock()
		s.health.Pid = 0
		s.health.Failures++
		s.health.CrashLooping = looping
		s.health.LastError = cerr
		cerr.Restarts, cerr.CrashLooping = tracker.streak(), looping
		s.mu.Unlock()
		if c != nil {
			s.hooks.down(c, cerr, readerDone)
		}
		s.log.Error("shell child failed", "err", cerr, "restart_in", delay, "crash_looping", looping)
		s.report(cerr)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-s.stop:
			t.Stop()
			return
		}
	}
}

func (s *supervisor) setPid(pid int) {
	s.mu.Lock()
	s.health.Pid = pid
	s.mu.Unlock()
}

// stable clears the crash-looping mark once a child has run long enough.
func (s *supervisor) stable(c *child, now time.Time) {
	if now.Sub(c.started) < s.opts.StableAfter {
		return
	}
	s.mu.Lock()
	s.health.CrashLooping = false
	s.mu.Unlock()
}

// start launches a child and does the handshake. On failure the child, if
// it was launched, is returned too so that it can be stopped and described.
func (s *supervisor) start() (*child, *ChildError) {
	cerr := &ChildError{Component: s.ctx.ComponentID, Task: s.ctx.TaskID, Phase: PhaseLaunch}
	var tty *os.File
	if s.term != nil {
		tty = s.term.TTY
	}
	c, err := launch(s.spec.Command, s.ctx.ResourcesDir, s.env, s.log, s.set.stderrRate, tty)
	if err != nil {
		cerr.Cause = err
		return nil, cerr
	}
	h := handshake(s.ctx)
	if tty != nil {
		h.Context.TTY = TTYFD
	}
	// A stop cuts the handshake short rather than wait for the startup
	// timeout.
	handshaking := make(chan struct{})
	go func() {
		select {
		case <-s.stop:
			c.interrupt()
		case <-handshaking:
		}
	}()
	err = c.handshake(h, s.set.startupTimeout, s.set.maxMessage, s.logChild)
	close(handshaking)
	if err != nil {
		cerr.Phase, cerr.Cause = PhaseHandshake, err
		return c, cerr
	}
	var written func()
	if s.hooks.written != nil {
		written = func() { s.hooks.written(c) }
	}
	c.startIO(
		func(m *multilang.Message) error { return s.hooks.handle(c, m) },
		func(item outItem, err error) { s.hooks.unencodable(c, item, err) },
		s.hooks.flush, written,
	)
	return c, nil
}

// watch waits until c fails or the task stops, sending heartbeats and
// checking liveness on the way. It returns nil when the task stops.
func (s *supervisor) watch(c *child) *ChildError {
	cerr := func(cause error) *ChildError {
		return &ChildError{Component: s.ctx.ComponentID, Task: s.ctx.TaskID, Phase: PhaseRunning, Cause: cause}
	}
	tick := time.NewTicker(s.opts.HeartbeatInterval)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return nil
		case <-c.proc.Done():
			return cerr(ErrExited)
		case <-c.readerDone:
			return cerr(readerCause(c.readErr))
		case <-c.writerDone:
			return cerr(fmt.Errorf("%w: writing to the child: %v", ErrExited, c.writeErr))
		case now := <-tick.C:
			if c.busy.Load() || s.debugging() {
				c.touch(now) // the host or a debugger, not the child, is holding things up
			} else if s.hooks.waiting(c) && c.silentFor(now) > s.set.timeout {
				return cerr(fmt.Errorf("%w: no message for %v (topology.subprocess.timeout.secs)", ErrTimeout, s.set.timeout.Round(time.Millisecond)))
			}
			s.stable(c, now)
			if s.hooks.tick != nil {
				s.hooks.tick(c, now)
			}
			if s.hooks.heartbeats && !c.hbPending.Swap(true) {
				c.out.put(outItem{kind: itemHeartbeat, id: heartbeatID()}, false)
			}
		}
	}
}

// debugging reports whether a debugger holds the child on its terminal.
func (s *supervisor) debugging() bool {
	return s.term != nil && s.term.Holding != nil && s.term.Holding()
}

func readerCause(err error) error {
	switch {
	case errors.Is(err, ErrProtocol), errors.Is(err, ErrState):
		return err
	case errors.Is(err, multilang.ErrMalformed), errors.Is(err, multilang.ErrTooLarge):
		return fmt.Errorf("%w: %v", ErrProtocol, err)
	}
	return fmt.Errorf("%w: reading from the child: %v", ErrExited, err)
}

// describe completes a failure report with what is known about c.
func (s *supervisor) describe(cerr *ChildError, c *child, readerDone bool) {
	cerr.Pid = c.pid()
	cerr.Status = c.proc.Status()
	cerr.Stderr = c.stderrTail.snapshot()
	if readerDone {
		cerr.LastReceived = describeReceived(c.lastReceived)
	}
	if c.wmu.TryLock() { // a writer stuck on a dead pipe says nothing
		cerr.LastSent = describeSent(c.lastSent)
		c.wmu.Unlock()
	}
}

// protocolError is a protocol error of the child.
func protocolError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrProtocol, fmt.Sprintf(format, args...))
}

// common handles the commands bolts and spouts share, from child c. It
// returns false for a command it does not know.
func (s *supervisor) common(c *child, m *multilang.Message) bool {
	switch m.Command {
	case multilang.CmdLog:
		s.logChild(m)
	case multilang.CmdError:
		if s.stopping() || c.isDead() {
			// Storm's adapters raise on the EOF of a stop ("Read EOF from
			// stdin", "end of file reached"): no error of the component.
			s.log.Debug("child reported an error after its stop began", "msg", m.Msg)
			return true
		}
		s.report(&ReportedError{Component: s.ctx.ComponentID, Task: s.ctx.TaskID, Msg: m.Msg})
	case multilang.CmdMetrics:
		if s.record != nil && m.Name != "" {
			s.record(m.Name, m.Params)
		}
	default:
		return false
	}
	return true
}

// logChild writes a child's log command to the task log.
func (s *supervisor) logChild(m *multilang.Message) {
	level := slog.LevelInfo
	switch m.Level {
	case multilang.LevelTrace:
		level = slog.LevelDebug - 4
	case multilang.LevelDebug:
		level = slog.LevelDebug
	case multilang.LevelWarn:
		level = slog.LevelWarn
	case multilang.LevelError:
		level = slog.LevelError
	}
	s.log.Log(context.Background(), level, m.Msg, "source", "child")
}

// unknownCommand logs a command the host does not know, once per name.
func (s *supervisor) unknownCommand(name string) {
	if !s.unknown[name] {
		s.unknown[name] = true
		s.log.Warn("ignoring unknown command from child", "command", name)
	}
}

// heartbeatID returns a heartbeat's id: a random signed 64-bit number in
// decimal, as Storm sends tuple ids (tuples' own come from tupleIDs).
func heartbeatID() string { return strconv.FormatInt(int64(rand.Uint64()), 10) }
