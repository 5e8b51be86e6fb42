package transcript

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// StepTimeout bounds every wait for a child in Replay: a message, the end
// of its output, its exit. It is generous: an interpreter started through
// a shim (pyenv) can take seconds to answer on a busy machine.
const StepTimeout = 60 * time.Second

// TailBuffer keeps the last Max bytes written to it; it is safe for
// concurrent use.
type TailBuffer struct {
	Max int
	// mu guards buf.
	mu  sync.Mutex
	buf []byte
}

func (b *TailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.Max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *TailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// Proc is a child process in its own process group, with pipes for its
// stdin and stdout and the tail of its stderr. The test that started it
// kills it (the whole group) and reaps it when it ends.
type Proc struct {
	Cmd    *exec.Cmd
	Stdin  *os.File // write end of the child's stdin
	Stdout *os.File // read end of the child's stdout
	Stderr *TailBuffer
	done   chan struct{} // closed once the child was reaped
	// waitErr is set before done is closed.
	waitErr  error
	killOnce sync.Once
}

// StartProc starts argv in dir with env (the whole environment). Only the
// goroutine it starts waits for the child.
func StartProc(tb testing.TB, argv []string, dir string, env []string) *Proc {
	tb.Helper()
	inR, inW, err := os.Pipe()
	if err != nil {
		tb.Fatalf("stdin pipe: %v", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		tb.Fatalf("stdout pipe: %v", err)
	}
	p := &Proc{
		Cmd:    exec.Command(argv[0], argv[1:]...),
		Stdin:  inW,
		Stdout: outR,
		Stderr: &TailBuffer{Max: 16 << 10},
		done:   make(chan struct{}),
	}
	p.Cmd.Dir = dir
	p.Cmd.Env = env
	p.Cmd.Stdin = inR
	p.Cmd.Stdout = outW
	p.Cmd.Stderr = p.Stderr
	p.Cmd.WaitDelay = StepTimeout
	p.Cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = p.Cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		tb.Fatalf("start %v: %v", argv, err)
	}
	go func() {
		p.waitErr = p.Cmd.Wait()
		close(p.done)
	}()
	tb.Cleanup(p.Kill)
	return p
}

// Kill kills the child's process group, reaps the child and closes the
// pipes. Calls after the first do nothing.
func (p *Proc) Kill() {
	p.killOnce.Do(func() {
		_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		p.Stdin.Close()
		p.Stdout.Close()
	})
}

// Exited waits up to timeout for the child to exit and describes how it did.
func (p *Proc) Exited(timeout time.Duration) (code int, how string, ok bool) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		return 0, "", false
	}
	st := p.Cmd.ProcessState
	if ws, isWS := st.Sys().(syscall.WaitStatus); isWS && ws.Signaled() {
		return -1, "killed by " + ws.Signal().String(), true
	}
	if p.waitErr != nil && !errors.As(p.waitErr, new(*exec.ExitError)) {
		return st.ExitCode(), fmt.Sprintf("exit status %d (%v)", st.ExitCode(), p.waitErr), true
	}
	return st.ExitCode(), fmt.Sprintf("exit status %d", st.ExitCode()), true
}

// Status describes the child's state for failure messages.
func (p *Proc) Status() string {
	select {
	case <-p.done:
		_, how, _ := p.Exited(0)
		return how
	default:
		return "still running"
	}
}

// WriteJSONMessage writes one message in the JSON framing: msg, a newline
// and a line "end".
func WriteJSONMessage(w io.Writer, msg []byte) error {
	buf := make([]byte, 0, len(msg)+5)
	buf = append(append(buf, msg...), "\nend\n"...)
	_, err := w.Write(buf)
	return err
}

// ReadJSONMessage reads one message in the JSON framing: the lines up to a
// line "end", joined with "\n".
func ReadJSONMessage(r *bufio.Reader) ([]byte, error) {
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

// CPUTime returns the processor time (user and system) process pid has
// used so far, from /proc (Linux); ok is false where that is unavailable.
func CPUTime(pid int) (d time.Duration, ok bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The command name, in parentheses, may hold spaces: fields count from
	// after it. utime and stime are fields 14 and 15, in clock ticks of
	// 1/100 s (USER_HZ).
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, false
	}
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, true
}

// SelfCPUTime returns the processor time this process has used so far.
func SelfCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ReadCalls returns how many read system calls process pid has made so
// far, from /proc (Linux).
func ReadCalls(pid int) (n int64, ok bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(data)) {
		if v, found := strings.CutPrefix(line, "syscr:"); found {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// CPUMeter measures the processor time a child and this process use
// between StartCPUMeter and Report, and the child's reads.
type CPUMeter struct {
	pid         int
	child, self time.Duration
	reads       int64
	ok          bool
}

// StartCPUMeter starts measuring for child pid.
func StartCPUMeter(pid int) *CPUMeter {
	c, ok := CPUTime(pid)
	reads, _ := ReadCalls(pid)
	return &CPUMeter{pid: pid, child: c, self: SelfCPUTime(), reads: reads, ok: ok}
}

// Report adds to b's metrics the child's and this process's processor time
// per operation (b.N of them), in microseconds, which unlike throughput
// hardly depends on what else the machine runs, and the child's read calls
// per operation, which says how well its input is batched.
func (m *CPUMeter) Report(b *testing.B) {
	if !m.ok || b.N == 0 {
		return
	}
	c, ok := CPUTime(m.pid)
	if !ok {
		return
	}
	b.ReportMetric(float64(c-m.child)/float64(time.Microsecond)/float64(b.N), "child-cpu-µs/op")
	b.ReportMetric(float64(SelfCPUTime()-m.self)/float64(time.Microsecond)/float64(b.N), "go-cpu-µs/op")
	if reads, ok := ReadCalls(m.pid); ok {
		// How many inputs the child gets per read: 1/this.
		b.ReportMetric(float64(reads-m.reads)/float64(b.N), "child-reads/op")
	}
}
