// Package procgroup starts child processes in their own process group and
// stops them with everything they started: SIGTERM to the group, a grace
// period, then SIGKILL to the group. Exactly one goroutine waits for each
// process, so its exit status is always collected.
package procgroup

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/squallstream/squall/internal/procstat"
)

// Process is a started child process leading its own process group. Its
// methods are safe for concurrent use.
type Process struct {
	cmd  *exec.Cmd
	pid  int
	done chan struct{}
	// status is written once, before done is closed.
	status Status
}

// Start starts cmd as the leader of a new process group (or of a new
// session, when cmd asks for one). cmd's standard
// streams should be nil or *os.File values (e.g. from os.Pipe): with other
// readers or writers os/exec copies in goroutines that Wait waits for,
// which a grandchild holding the pipe open would block.
func Start(cmd *exec.Cmd) (*Process, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	// A new session is a new process group too; setpgid would fail in it.
	cmd.SysProcAttr.Setpgid = !cmd.SysProcAttr.Setsid
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Process{cmd: cmd, pid: cmd.Process.Pid, done: make(chan struct{})}
	go p.wait()
	return p, nil
}

func (p *Process) wait() {
	err := p.cmd.Wait()
	p.status = statusOf(p.cmd.ProcessState, err)
	close(p.done)
}

// Pid returns the process id, which is also its process group id.
func (p *Process) Pid() int { return p.pid }

// Done is closed once the process has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited and been reaped.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Status returns how the process ended. It is only meaningful once Done
// is closed.
func (p *Process) Status() Status {
	<-p.done
	return p.status
}

// SignalGroup sends sig to every process in the group. A group that no
// longer exists is not an error.
func (p *Process) SignalGroup(sig syscall.Signal) error {
	err := syscall.Kill(-p.pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// Stop ends the process group: SIGTERM, then SIGKILL if the leader has not
// exited after grace. The group is killed in any case, so descendants that
// ignore SIGTERM or outlive the leader die too. Stop returns once the leader
// is reaped. It may be called more than once.
func (p *Process) Stop(grace time.Duration) Status { return p.StopWith(grace, nil) }

// StopWith is Stop for a group and the processes of others, descendants
// that left it (see DescendantsInPidDir): each gets the group's signals,
// and so does its own group if it leads one.
func (p *Process) StopWith(grace time.Duration, others []Ident) Status {
	if !p.Exited() || len(others) > 0 {
		p.SignalGroup(syscall.SIGTERM)
		for _, o := range others {
			o.Kill(syscall.SIGTERM)
		}
		t := time.NewTimer(grace)
		select {
		case <-p.done:
		case <-t.C:
		}
		t.Stop()
	}
	// The leader may be gone while descendants in its group live on.
	p.SignalGroup(syscall.SIGKILL)
	for _, o := range others {
		o.Kill(syscall.SIGKILL)
	}
	<-p.done
	return p.status
}

// Status is how a process ended: an exit code or a signal.
type Status struct {
	// Code is the exit code, -1 when the process was killed by a signal.
	Code int
	// Signal is the signal that killed the process, 0 if it exited.
	Signal syscall.Signal
	// Err is set when the process could not be waited for at all.
	Err error
}

// Success reports whether the process exited with status 0.
func (s Status) Success() bool { return s.Err == nil && s.Signal == 0 && s.Code == 0 }

func (s Status) String() string {
	switch {
	case s.Err != nil:
		return fmt.Sprintf("wait failed: %v", s.Err)
	case s.Signal != 0:
		return fmt.Sprintf("killed by signal %d (%v)", int(s.Signal), s.Signal)
	}
	return fmt.Sprintf("exit status %d", s.Code)
}

func statusOf(ps *os.ProcessState, err error) Status {
	if ps == nil {
		return Status{Code: -1, Err: err}
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return Status{Code: -1, Signal: ws.Signal()}
	}
	return Status{Code: ps.ExitCode()}
}

// Alive reports whether a process with the given pid exists (it may be a
// zombie). It is used to find leftovers from a pid directory.
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// StartTime returns when a process started, in clock ticks since boot
// (field 22 of /proc/PID/stat). With the pid it identifies a process: a
// pid reused by another process has another start time.
func StartTime(pid int) (uint64, error) {
	s, err := procstat.Read(pid)
	return s.StartTicks, err
}
