package adapters

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// stepTimeout bounds every wait for a child: a message, end of output, exit.
const stepTimeout = 5 * time.Second

// componentsDir holds the Python reference components.
var componentsDir = filepath.Join("python", "components")

// python3 returns the path of python3, skipping the test when there is none,
// or failing it when CI is set.
func python3(tb testing.TB) string {
	tb.Helper()
	p, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("python3 is required when CI is set: %v", err)
		}
		tb.Skipf("python3 not found, skipping: %v", err)
	}
	return p
}

// installAdapters installs the adapters in a fresh directory and returns the
// environment for children: this process's, without any PYTHONPATH, plus
// the adapters'.
func installAdapters(tb testing.TB) []string {
	tb.Helper()
	env, err := Install(tb.TempDir())
	if err != nil {
		tb.Fatalf("Install: %v", err)
	}
	var base []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PYTHONPATH=") {
			base = append(base, kv)
		}
	}
	return env.Apply(base)
}

// tailBuffer keeps the last bytes written to it; safe for concurrent use.
type tailBuffer struct {
	max int
	// mu guards buf.
	mu  sync.Mutex
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// proc is a child process in its own process group, with pipes for stdin
// and stdout. It is killed (the whole group) and reaped when the test ends.
type proc struct {
	cmd    *exec.Cmd
	stdin  *os.File // write end of the child's stdin
	stdout *os.File // read end of the child's stdout
	stderr *tailBuffer
	done   chan struct{} // closed once the child was reaped
	// waitErr is set before done is closed.
	waitErr  error
	killOnce sync.Once
}

// startProc starts argv in dir with env. Only the goroutine it starts waits
// for the child.
func startProc(tb testing.TB, argv []string, dir string, env []string) *proc {
	tb.Helper()
	inR, inW, err := os.Pipe()
	if err != nil {
		tb.Fatalf("stdin pipe: %v", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		tb.Fatalf("stdout pipe: %v", err)
	}
	p := &proc{
		cmd:    exec.Command(argv[0], argv[1:]...),
		stdin:  inW,
		stdout: outR,
		stderr: &tailBuffer{max: 16 << 10},
		done:   make(chan struct{}),
	}
	p.cmd.Dir = dir
	p.cmd.Env = env
	p.cmd.Stdin = inR
	p.cmd.Stdout = outW
	p.cmd.Stderr = p.stderr
	p.cmd.WaitDelay = stepTimeout
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = p.cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		tb.Fatalf("start %v: %v", argv, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	tb.Cleanup(p.kill)
	return p
}

// kill kills the child's process group, reaps the child and closes the
// pipes. Calls after the first do nothing.
func (p *proc) kill() {
	p.killOnce.Do(func() {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		p.stdin.Close()
		p.stdout.Close()
	})
}

// exited waits up to timeout for the child to exit and describes how it did.
func (p *proc) exited(timeout time.Duration) (code int, how string, ok bool) {
	select {
	case <-p.done:
	case <-time.After(timeout):
		return 0, "", false
	}
	st := p.cmd.ProcessState
	if ws, isWS := st.Sys().(syscall.WaitStatus); isWS && ws.Signaled() {
		return -1, "killed by " + ws.Signal().String(), true
	}
	if p.waitErr != nil && !errors.As(p.waitErr, new(*exec.ExitError)) {
		return st.ExitCode(), fmt.Sprintf("exit status %d (%v)", st.ExitCode(), p.waitErr), true
	}
	return st.ExitCode(), fmt.Sprintf("exit status %d", st.ExitCode()), true
}

// status describes the child's state for failure messages.
func (p *proc) status() string {
	select {
	case <-p.done:
		_, how, _ := p.exited(0)
		return how
	default:
		return "still running"
	}
}

// writeMsg writes one message: msg, a newline, and a line "end".
func writeMsg(w io.Writer, msg []byte) error {
	buf := make([]byte, 0, len(msg)+5)
	buf = append(append(buf, msg...), "\nend\n"...)
	_, err := w.Write(buf)
	return err
}

// readMsg reads one message: the lines up to a line "end", joined with "\n".
func readMsg(r *bufio.Reader) ([]byte, error) {
	var msg []byte
	for lines := 0; ; lines++ {
		line, err := r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			return nil, fmt.Errorf("read message: line longer than %d bytes", r.Size())
		}
		if err != nil {
			if err == io.EOF && (len(line) > 0 || lines > 0) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		if string(line) == "end" {
			return msg, nil
		}
		if lines > 0 {
			msg = append(msg, '\n')
		}
		msg = append(msg, line...)
	}
}
