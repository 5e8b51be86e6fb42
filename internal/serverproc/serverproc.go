// Package serverproc runs a server process for the tests and the dev
// cluster (ZooKeeper, Redis): in its own process group, killed whole by
// Stop, with its log kept in a file for error messages.
package serverproc

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Proc is a started server process. Its methods are safe for concurrent
// use.
type Proc struct {
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{} // closed when the process has been reaped
	stop    sync.Once
}

// Start starts cmd in a process group of its own; logPath is the file the
// server logs to, which LogTail reads.
func Start(cmd *exec.Cmd, logPath string) (*Proc, error) {
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Proc{cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// Pid returns the process id (also its process group's).
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Exited is closed once the process has been reaped.
func (p *Proc) Exited() <-chan struct{} { return p.exited }

// Stop kills the process group with SIGKILL, as a crash would, and waits
// for the process. It is idempotent.
func (p *Proc) Stop() {
	p.stop.Do(func() {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
	})
}

// LogTail returns the last n lines of the server's log.
func (p *Proc) LogTail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(read log: %v)", err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "")
}

// WaitReady calls ready every interval until it returns nil, the process
// exits, or timeout passes.
func (p *Proc) WaitReady(timeout, interval time.Duration, ready func() error) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return fmt.Errorf("exited before serving (%v)", p.cmd.ProcessState)
		default:
		}
		if last = ready(); last == nil {
			return nil
		}
		time.Sleep(interval)
	}
	return fmt.Errorf("not serving after %v: %v", timeout, last)
}

// FreePort returns a loopback port nothing listens on right now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Retry calls start up to three times while it fails because another
// process took the port picked for it; a fixed port is tried once.
func Retry[T any](fixedPort bool, start func(attempt int) (T, error)) (T, error) {
	for attempt := 1; ; attempt++ {
		s, err := start(attempt)
		if err == nil || attempt == 3 || fixedPort || !strings.Contains(err.Error(), "Address already in use") {
			return s, err
		}
	}
}
