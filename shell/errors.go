package shell

import (
	"errors"
	"fmt"
	"strings"

	"github.com/squallstream/squall/internal/procgroup"
)

// Causes of a child's failure, wrapped in a *ChildError.
var (
	// ErrExited: the child exited or closed its stdout.
	ErrExited = errors.New("child exited")
	// ErrTimeout: the child said nothing for the liveness timeout while
	// the host waited on it, or did not answer the handshake in time.
	ErrTimeout = errors.New("child timed out")
	// ErrProtocol: the child broke the protocol (malformed or oversized
	// message, unknown id, undeclared stream...).
	ErrProtocol = errors.New("protocol error")
	// ErrLaunch: the child could not be started.
	ErrLaunch = errors.New("launch failed")
	// ErrState: the task's state failed a stateful child's command (a
	// backend error); the child is replaced, and the task recovers.
	ErrState = errors.New("state error")
)

// Phase says what a child was doing when it failed.
type Phase string

const (
	PhaseLaunch    Phase = "launch"
	PhaseHandshake Phase = "handshake"
	PhaseRunning   Phase = "running"
)

// ChildError reports the failure of one child process with everything
// needed to understand it without the child's logs.
type ChildError struct {
	Component string
	Task      int
	Pid       int
	Phase     Phase
	// Cause is one of ErrExited, ErrTimeout, ErrProtocol, ErrLaunch and ErrState,
	// possibly wrapping a more precise error.
	Cause error
	// Status is how the process ended.
	Status procgroup.Status
	// LastSent and LastReceived describe the last message each way.
	LastSent, LastReceived string
	// Stderr holds the child's last stderr lines.
	Stderr []string
	// Restarts counts the failures so far in the current streak;
	// CrashLooping is set when they come too fast.
	Restarts     int
	CrashLooping bool
}

func (e *ChildError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "shell component %q task %d", e.Component, e.Task)
	if e.Pid > 0 {
		fmt.Fprintf(&b, " (pid %d)", e.Pid)
	}
	fmt.Fprintf(&b, " failed during %s: %v", e.Phase, e.Cause)
	if e.Pid > 0 {
		fmt.Fprintf(&b, "; %v", e.Status)
	}
	if e.LastSent != "" {
		fmt.Fprintf(&b, "; last sent: %s", e.LastSent)
	}
	if e.LastReceived != "" {
		fmt.Fprintf(&b, "; last received: %s", e.LastReceived)
	}
	if len(e.Stderr) > 0 {
		fmt.Fprintf(&b, "; stderr:\n  %s", strings.Join(e.Stderr, "\n  "))
	}
	if e.CrashLooping {
		fmt.Fprintf(&b, "\n(crash-looping: %d failures in a row)", e.Restarts)
	}
	return b.String()
}

func (e *ChildError) Unwrap() error { return e.Cause }
