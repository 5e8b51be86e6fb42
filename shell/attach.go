package shell

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/creack/pty"

	"github.com/squallstream/squall/internal/procgroup"
)

// Terminal is a terminal of a task's child's own, beside its protocol
// pipes, where a debugger talks to the user (squall run, squall local
// --attach). It is an opt-in extension of the protocol: the child finds
// it as fd TTYFD, named by EnvTTYFD in its environment and by
// "squall.tty" in the handshake's context; fds 0 and 1 stay the protocol.
type Terminal struct {
	// TTY is the slave side of a pseudo-terminal. Every child of the
	// task gets it, restarted ones too, as its controlling terminal.
	TTY *os.File
	// Holding, if set, reports whether a debugger holds the child on
	// the terminal; the child's liveness clock stops then, so that a
	// breakpoint does not get it killed.
	Holding func() bool
}

// TTYFD is the child's fd of its terminal.
const TTYFD = 3

// EnvTTYFD names the child's terminal fd in its environment, so that an
// adapter can set a debugger up before the handshake.
const EnvTTYFD = "SQUALL_TTY_FD"

// attachTerminal makes tty the controlling terminal of cmd's child, as its
// fd TTYFD, in a new session (which is a new process group: stopping the
// group works as for any child).
func attachTerminal(cmd *exec.Cmd, tty *os.File) {
	cmd.ExtraFiles = []*os.File{tty} // fd 3
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: TTYFD}
	cmd.Env = append(cmd.Env, EnvTTYFD+"="+strconv.Itoa(TTYFD))
}

// OpenTerminal opens a pseudo-terminal for a Terminal: master is the
// runner's side, tty the child's. The child's side does not echo (the
// user's own terminal echoes what is typed) and a key typed there never
// signals the child (no ISIG: Ctrl-C reaches the debugger as a byte).
func OpenTerminal() (master, tty *os.File, err error) {
	master, tty, err = pty.Open()
	if err != nil {
		return nil, nil, fmt.Errorf("open a terminal for the child: %w", err)
	}
	if err := quietTerminal(tty); err != nil {
		master.Close()
		tty.Close()
		return nil, nil, fmt.Errorf("set up the child's terminal: %w", err)
	}
	return master, tty, nil
}

// isNode reports whether a command runs Node, whose debugger is not a
// terminal program but an inspector the host attaches a client to.
func isNode(argv0 string) bool {
	base := filepath.Base(argv0)
	return base == "node" || base == "nodejs"
}

// withInspector makes a Node command start its inspector on a loopback
// port of the system's choosing.
func withInspector(argv []string) []string {
	return append([]string{argv[0], "--inspect=127.0.0.1:0"}, argv[1:]...)
}

// inspectorAddr returns the host:port in Node's "Debugger listening on
// ws://HOST:PORT/ID" line, if line is one: what node inspect takes.
func inspectorAddr(line string) (string, bool) {
	rest, ok := strings.CutPrefix(line, "Debugger listening on ws://")
	if !ok {
		return "", false
	}
	addr, _, _ := strings.Cut(strings.TrimSpace(rest), "/")
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		return "", false
	}
	return addr, true
}

// nodeExitsLine is what Node prints when it would exit while a debugger
// is attached: it then waits for the debugger to go.
const nodeExitsLine = "Waiting for the debugger to disconnect..."

// inspectClient runs Node's own debugger client, node inspect, on the
// child's terminal, attached to the child's inspector: debugger;
// statements stop there. It is stopped with the child.
type inspectClient struct {
	mu   sync.Mutex
	proc *procgroup.Process
	done bool
}

func (ic *inspectClient) start(node, addr string, tty *os.File, log *slog.Logger) {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	if ic.done || ic.proc != nil {
		return
	}
	cmd := exec.Command(node, "inspect", addr)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	p, err := procgroup.Start(cmd)
	if err != nil {
		log.Warn("cannot start node inspect for the child's inspector", "addr", addr, "err", err)
		return
	}
	ic.proc = p
}

// stop kills the client: the child, whose inspector would wait for the
// client to disconnect, can then exit.
func (ic *inspectClient) stop() {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	ic.done = true
	if ic.proc != nil {
		ic.proc.Stop(0)
	}
}
