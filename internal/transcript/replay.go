package transcript

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The wire formats a transcript can be replayed in
// (topology.multilang.serializer).
const (
	JSON    = "json"
	Msgpack = "msgpack"
)

// Serializers lists the wire formats every transcript is replayed in.
var Serializers = []string{JSON, Msgpack}

// Child is a process to replay a transcript against.
type Child struct {
	// Argv is the command, run without a shell.
	Argv []string
	// Env is the child's whole environment.
	Env []string
	// Dir is its working directory; a fresh temporary directory if empty.
	Dir string
	// Serializer is the wire format, JSON (the default) or Msgpack. In
	// MessagePack each "> JSON" line is converted before it is sent and each
	// reply converted back to JSON before it is matched.
	Serializer string
}

// Replay starts c and plays tr against it, failing t at the first
// difference with the step, the last messages exchanged, the child's state
// and its last stderr output. The child is killed when the test ends.
func Replay(t *testing.T, tr *Transcript, c Child) {
	t.Helper()
	dir := c.Dir
	if dir == "" {
		dir = t.TempDir()
	}
	r := &replayer{t: t, tr: tr, pidDir: t.TempDir(), msgpack: c.Serializer == Msgpack}
	r.p = StartProc(t, c.Argv, dir, c.Env)
	r.msgs = make(chan []byte, 64)
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { r.readAll(quit) })
	// Registered after StartProc's cleanup, so it runs first: the reader
	// stops before the child is killed and its pipe closed.
	t.Cleanup(func() {
		close(quit)
		r.p.Kill()
		wg.Wait()
	})

	expectedSince := false // an Expect step ran since the last Send
	for _, step := range tr.Steps {
		r.step = step
		switch step.Kind {
		case Send:
			if expectedSince {
				r.noStrayMessage()
			}
			expectedSince = false
			msg := ExpandPidDir(step.JSON, r.pidDir)
			r.record("> " + string(msg))
			if err := r.send(msg); err != nil {
				r.fatalf("write to child: %v", err)
			}
		case Expect:
			expectedSince = true
			r.expect(step.JSON)
		case CloseStdin:
			if expectedSince {
				r.noStrayMessage()
			}
			expectedSince = false
			r.record("> EOF")
			if err := r.p.Stdin.Close(); err != nil {
				r.fatalf("close child's stdin: %v", err)
			}
		case PidFile:
			r.checkPidFile()
		case Exit:
			r.checkExit(step.ExitCode)
		default:
			r.fatalf("unknown step kind %v", step.Kind)
		}
	}
}

// replayer holds the state of one replay.
type replayer struct {
	t       *testing.T
	tr      *Transcript
	p       *Proc
	pidDir  string
	msgpack bool
	// msgs carries the child's messages as JSON text; closed at the end of
	// its output, after readErr is set.
	msgs    chan []byte
	readErr error
	step    Step
	pid     int      // from the last pid reply
	history []string // the last messages exchanged, oldest first
}

func (r *replayer) send(msg []byte) error {
	if !r.msgpack {
		return WriteJSONMessage(r.p.Stdin, msg)
	}
	b, err := JSONToMsgpack(msg)
	if err != nil {
		return err
	}
	_, err = r.p.Stdin.Write(b)
	return err
}

// readAll frames the child's output into r.msgs until it ends or quit closes.
func (r *replayer) readAll(quit <-chan struct{}) {
	defer close(r.msgs)
	br := bufio.NewReaderSize(r.p.Stdout, 1<<20)
	for {
		var msg []byte
		var err error
		if r.msgpack {
			msg, err = MsgpackToJSON(br)
		} else {
			msg, err = ReadJSONMessage(br)
		}
		if err != nil {
			r.readErr = err
			return
		}
		select {
		case r.msgs <- msg:
		case <-quit:
			return
		}
	}
}

func (r *replayer) record(line string) {
	const keep = 12
	r.history = append(r.history, line)
	if len(r.history) > keep {
		r.history = r.history[len(r.history)-keep:]
	}
}

// fatalf fails the test, describing the step, the exchange so far, the
// child's state and its last stderr output.
func (r *replayer) fatalf(format string, args ...any) {
	r.t.Helper()
	var b strings.Builder
	format2 := "JSON"
	if r.msgpack {
		format2 = "MessagePack, shown as JSON"
	}
	fmt.Fprintf(&b, "%s:%d: %s\n%s\n", r.tr.Name+".txt", r.step.Line, r.step, fmt.Sprintf(format, args...))
	fmt.Fprintf(&b, "last messages exchanged (%s; > to the child, < from it):\n", format2)
	for _, h := range r.history {
		b.WriteString("  " + h + "\n")
	}
	fmt.Fprintf(&b, "child: %s\n", r.p.Status())
	if s := strings.TrimSpace(r.p.Stderr.String()); s != "" {
		b.WriteString("child's stderr:\n  " + strings.ReplaceAll(s, "\n", "\n  ") + "\n")
	}
	r.t.Fatal(b.String())
}

// next returns the child's next message, or fails after StepTimeout or at
// the end of its output.
func (r *replayer) next() []byte {
	r.t.Helper()
	timer := time.NewTimer(StepTimeout)
	defer timer.Stop()
	select {
	case msg, ok := <-r.msgs:
		if !ok {
			r.fatalf("the child's output ended (%v) while a message was expected", r.readErr)
		}
		r.record("< " + string(msg))
		return msg
	case <-timer.C:
		r.fatalf("no message from the child within %v", StepTimeout)
	}
	return nil
}

func (r *replayer) expect(want []byte) {
	r.t.Helper()
	got := r.next()
	if err := MatchMessage(want, got); err != nil {
		r.fatalf("message does not match: %v\n  got:  %s", err, got)
	}
	var pid struct{ Pid *int }
	if json.Unmarshal(got, &pid) == nil && pid.Pid != nil {
		r.pid = *pid.Pid
	}
}

// noStrayMessage fails if the child wrote a message nobody expected.
func (r *replayer) noStrayMessage() {
	r.t.Helper()
	select {
	case msg, ok := <-r.msgs:
		if ok {
			r.record("< " + string(msg))
			r.fatalf("unexpected message before the next input: %s", msg)
		}
	default:
	}
}

func (r *replayer) checkPidFile() {
	r.t.Helper()
	if r.pid != r.p.Cmd.Process.Pid {
		r.fatalf("pid reply says %d, the child's pid is %d", r.pid, r.p.Cmd.Process.Pid)
	}
	name := filepath.Join(r.pidDir, strconv.Itoa(r.pid))
	fi, err := os.Stat(name)
	if err != nil {
		r.fatalf("pid file: %v", err)
	}
	if fi.Size() != 0 || !fi.Mode().IsRegular() {
		r.fatalf("pid file %s: want an empty regular file, got mode %v size %d", name, fi.Mode(), fi.Size())
	}
}

func (r *replayer) checkExit(want int) {
	r.t.Helper()
	timer := time.NewTimer(StepTimeout)
	defer timer.Stop()
output:
	for {
		select {
		case msg, ok := <-r.msgs:
			if !ok {
				break output
			}
			r.record("< " + string(msg))
			r.fatalf("unexpected message before exit: %s", msg)
		case <-timer.C:
			r.fatalf("the child did not close its output within %v", StepTimeout)
		}
	}
	code, how, ok := r.p.Exited(StepTimeout)
	if !ok {
		r.fatalf("the child did not exit within %v", StepTimeout)
	}
	if code != want {
		r.fatalf("child's %s, want exit status %d", how, want)
	}
	if want == 0 && strings.TrimSpace(r.p.Stderr.String()) != "" {
		r.fatalf("a clean exit wrote to stderr")
	}
}
