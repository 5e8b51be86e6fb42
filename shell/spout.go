package shell

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/squallstream/squall/multilang"
	"github.com/squallstream/squall/topology"
)

// Spout runs a spout as a child process. It implements topology.Spout and
// topology.Activator. The protocol is synchronous: each of Next, Ack, Fail,
// Activate and Deactivate sends one command and returns when the child
// answers with sync (or is given up on). When Next makes the child emit
// nothing, the worker backs off before calling it again.
type Spout struct {
	spec *topology.ShellSpec
	opts Options

	ctx     *topology.TaskContext
	out     topology.SpoutCollector
	outputs map[string]topology.Stream
	sup     *supervisor
	// opened is sup once Open made it, for Health, which other
	// goroutines call from the moment the task exists.
	opened atomic.Pointer[supervisor]

	mu sync.Mutex
	// cur, halted and inTrip are guarded by mu.
	// cur is the child ready for commands, nil while none is.
	cur *child
	// halted is set by Stop; inTrip is the child a round trip other than
	// deactivate waits for, if any.
	halted bool
	inTrip *child
	// halt is closed by Stop.
	halt     chan struct{}
	haltOnce sync.Once

	// The rest is used only from the executor goroutine.
	// talking is the child the executor last sent commands to.
	talking *child
	active  bool
	// queued holds acks and fails that found no child to take them.
	queued []queuedCommand
}

type queuedCommand struct {
	command string
	msgID   any
}

// NewSpout returns a spout that runs spec's command for each task.
func NewSpout(spec *topology.ShellSpec, opts Options) *Spout {
	return &Spout{spec: spec, opts: opts, halt: make(chan struct{})}
}

// Open starts the child. Launch and handshake failures are reported to the
// collector and the child restarted with backoff; Next does nothing until
// a child is ready.
func (s *Spout) Open(ctx *topology.TaskContext, out topology.SpoutCollector) error {
	set, err := readSettings(ctx)
	if err != nil {
		return fmt.Errorf("shell spout %q: %w", ctx.ComponentID, err)
	}
	s.ctx, s.out = ctx, out
	s.outputs = map[string]topology.Stream{}
	for _, st := range ctx.Component().Outputs {
		s.outputs[st.ID] = st
	}
	s.sup, err = newSupervisor(s.spec, s.opts, ctx, set, out.ReportError, metricsRecorder(out, ctx), hooks{
		handle:      s.handle,
		unencodable: func(_ *child, _ outItem, err error) { s.sup.log.Error("cannot encode command for child", "err", err) },
		waiting:     func(c *child) bool { return c.outstanding.Load() },
		flush:       flusher(out),
		up:          s.up,
		down:        s.down,
	})
	if err != nil {
		return fmt.Errorf("shell spout %q: %w", ctx.ComponentID, err)
	}
	s.opened.Store(s.sup)
	go s.sup.run()
	return nil
}

// Next asks the child for tuples.
func (s *Spout) Next() {
	if c := s.ready(); c != nil {
		s.roundTrip(c, multilang.CmdNext, "")
	}
}

// Ack tells the child that a tuple it emitted with msgID was fully
// processed. Acks and fails for tuples of an earlier child go to its
// successor, so a spout whose ids are durable (offsets, keys) can act on
// them.
func (s *Spout) Ack(msgID any) { s.deliver(multilang.CmdAck, msgID) }

// Fail tells the child that a tuple it emitted with msgID failed.
func (s *Spout) Fail(msgID any) { s.deliver(multilang.CmdFail, msgID) }

// Activate tells the child its topology is active.
func (s *Spout) Activate() {
	s.active = true
	if c, fresh := s.readyChild(); c != nil && !fresh { // a fresh child was just activated
		s.roundTrip(c, multilang.CmdActivate, "")
	}
}

// Deactivate tells the child its topology is inactive.
func (s *Spout) Deactivate() {
	s.active = false
	if c, fresh := s.readyChild(); c != nil && !fresh {
		s.roundTrip(c, multilang.CmdDeactivate, "")
	}
}

// collect hands a child's emit to the collector.
func (s *Spout) collect(m *multilang.Message, stream string) (ids []int, err error) {
	defer recoverEmit(&err)
	if m.Direct {
		s.out.EmitDirect(m.Task, stream, m.Tuple, m.ID)
		return nil, nil
	}
	return s.out.Emit(stream, m.Tuple, m.ID), nil
}

// Stop begins stopping the task without waiting. A round trip in
// progress returns at once and its child is stopped; so does any later one,
// except deactivate, which the child gets within the stop grace period if
// it is otherwise idle. Close waits for the end.
func (s *Spout) Stop() {
	s.mu.Lock()
	s.halted = true
	stuck := s.inTrip != nil
	s.mu.Unlock()
	s.haltOnce.Do(func() { close(s.halt) })
	if stuck && s.sup != nil {
		s.sup.beginStop()
	}
}

// Close stops the child and waits for it.
func (s *Spout) Close() {
	s.Stop()
	if s.sup != nil {
		s.sup.shutdown()
	}
}

// Health reports on the task's child.
func (s *Spout) Health() Health {
	if sup := s.opened.Load(); sup != nil {
		return sup.Health()
	}
	return Health{}
}

func (s *Spout) deliver(command string, msgID any) {
	c := s.ready()
	if c == nil || !s.roundTrip(c, command, msgID) {
		s.queued = append(s.queued, queuedCommand{command, msgID})
	}
}

// ready returns the child to talk to, nil if none is ready. A child new to
// the executor is first activated (if the topology is active) and given the
// acks and fails that waited for it.
func (s *Spout) ready() *child {
	c, _ := s.readyChild()
	return c
}

// readyChild is ready, also saying whether the child was new to the
// executor (and so just activated if the topology is active).
func (s *Spout) readyChild() (c *child, fresh bool) {
	s.mu.Lock()
	c = s.cur
	s.mu.Unlock()
	if c == nil {
		return nil, false
	}
	if c != s.talking {
		s.talking, fresh = c, true
		if s.active && !s.roundTrip(c, multilang.CmdActivate, "") {
			return nil, false
		}
	}
	for len(s.queued) > 0 {
		q := s.queued[0]
		if !s.roundTrip(c, q.command, q.msgID) {
			return nil, false
		}
		s.queued = s.queued[1:]
	}
	return c, fresh
}

// roundTrip sends a command and waits for the child's sync. It returns
// false if the child was given up on first, or the task is stopping.
func (s *Spout) roundTrip(c *child, command string, msgID any) bool {
	deactivate := command == multilang.CmdDeactivate
	s.mu.Lock()
	if s.halted && !deactivate {
		s.mu.Unlock()
		return false
	}
	if !deactivate {
		s.inTrip = c
		defer func() {
			s.mu.Lock()
			s.inTrip = nil
			s.mu.Unlock()
		}()
	}
	s.mu.Unlock()
	c.touch(time.Now())
	c.outstanding.Store(true)
	c.send(outItem{kind: itemCommand, command: command, msgID: msgID}, false, false)
	if !deactivate {
		select {
		case <-c.synced:
			return true
		case <-c.dead:
			return false
		case <-s.halt: // and Stop stops the child
			return false
		}
	}
	// A stop does not cut deactivate short, but bounds it.
	select {
	case <-c.synced:
		return true
	case <-c.dead:
		return false
	case <-s.halt:
	}
	t := time.NewTimer(s.sup.opts.StopGrace)
	defer t.Stop()
	select {
	case <-c.synced:
		return true
	case <-c.dead:
		return false
	case <-t.C:
		s.sup.beginStop()
		return false
	}
}

func (s *Spout) up(c *child) {
	s.mu.Lock()
	s.cur = c
	s.mu.Unlock()
}

func (s *Spout) down(c *child, _ *ChildError, _ bool) {
	s.mu.Lock()
	if s.cur == c {
		s.cur = nil
	}
	s.mu.Unlock()
}

// handle processes one message of child c, on c's reader goroutine.
func (s *Spout) handle(c *child, m *multilang.Message) error {
	switch m.Command {
	case multilang.CmdEmit:
		stream, err := checkEmit(s.outputs, m)
		if err != nil {
			return err
		}
		c.busy.Store(true)
		ids, err := s.collect(m, stream)
		c.busy.Store(false)
		if err != nil {
			return err
		}
		if !m.Direct && m.NeedTaskIDs {
			c.send(outItem{kind: itemTaskIDs, taskIDs: append([]int{}, ids...)}, true, false)
		}
	case multilang.CmdSync:
		if !c.outstanding.CompareAndSwap(true, false) {
			return protocolError("sync without a command to answer")
		}
		c.synced <- struct{}{}
	case multilang.CmdAck, multilang.CmdFail:
		return protocolError("a spout may not send %s", m.Command)
	case "":
		return protocolError("message without a command")
	default:
		if !s.sup.common(c, m) {
			return protocolError("unknown command %q from a spout", m.Command)
		}
	}
	return nil
}
