package shell

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"github.com/creack/pty"
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
