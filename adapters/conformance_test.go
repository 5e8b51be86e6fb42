package adapters

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

	"github.com/squallstream/squall/internal/transcript"
)

// transcriptsDir holds the transcripts every adapter must replay.
var transcriptsDir = filepath.Join("..", "multilang", "testdata", "transcripts")

// TestConformancePython replays every transcript against python3 running the
// Python reference component it names, with the adapter installed by Install.
func TestConformancePython(t *testing.T) {
	ts, err := transcript.ParseDir(transcriptsDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) == 0 {
		t.Fatalf("no transcripts in %s", transcriptsDir)
	}
	py := python3(t)
	env := installAdapters(t)
	for _, tr := range ts {
		t.Run(tr.Name, func(t *testing.T) {
			t.Parallel()
			script, err := filepath.Abs(filepath.Join(componentsDir, tr.Component+".py"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(script); err != nil {
				t.Fatalf("transcript %s names component %q: %v", tr.Name, tr.Component, err)
			}
			replay(t, tr, []string{py, script}, env)
		})
	}
}

// replay runs argv and plays tr against it, failing t at the first
// difference with the messages exchanged so far.
func replay(t *testing.T, tr *transcript.Transcript, argv []string, env []string) {
	t.Helper()
	r := &replayer{t: t, tr: tr, pidDir: t.TempDir()}
	r.p = startProc(t, argv, t.TempDir(), env)
	r.msgs = make(chan []byte, 64)
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { r.readAll(quit) })
	// Registered after startProc's cleanup, so it runs first: the reader
	// stops before the child is killed and its pipe closed.
	t.Cleanup(func() {
		close(quit)
		r.p.kill()
		wg.Wait()
	})

	expectedSince := false // an Expect step ran since the last Send
	for _, step := range tr.Steps {
		r.step = step
		switch step.Kind {
		case transcript.Send:
			if expectedSince {
				r.noStrayMessage()
			}
			expectedSince = false
			msg := transcript.ExpandPidDir(step.JSON, r.pidDir)
			r.record("> " + string(msg))
			if err := writeMsg(r.p.stdin, msg); err != nil {
				r.fatalf("write to child: %v", err)
			}
		case transcript.Expect:
			expectedSince = true
			r.expect(step.JSON)
		case transcript.CloseStdin:
			if expectedSince {
				r.noStrayMessage()
			}
			expectedSince = false
			r.record("> EOF")
			if err := r.p.stdin.Close(); err != nil {
				r.fatalf("close child's stdin: %v", err)
			}
		case transcript.PidFile:
			r.checkPidFile()
		case transcript.Exit:
			r.checkExit(step.ExitCode)
		default:
			r.fatalf("unknown step kind %v", step.Kind)
		}
	}
}

// replayer holds the state of one replay.
type replayer struct {
	t      *testing.T
	tr     *transcript.Transcript
	p      *proc
	pidDir string
	msgs   chan []byte // the child's messages; closed at the end of its output
	// readErr is set before msgs is closed.
	readErr error
	step    transcript.Step
	pid     int      // from the last pid reply
	history []string // the last messages exchanged, oldest first
}

// readAll frames the child's output into r.msgs until it ends or quit closes.
func (r *replayer) readAll(quit <-chan struct{}) {
	defer close(r.msgs)
	br := bufio.NewReaderSize(r.p.stdout, 1<<20)
	for {
		msg, err := readMsg(br)
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
	fmt.Fprintf(&b, "%s:%d: %s\n%s\n", r.tr.Name+".txt", r.step.Line, r.step, fmt.Sprintf(format, args...))
	b.WriteString("last messages exchanged (> to the child, < from it):\n")
	for _, h := range r.history {
		b.WriteString("  " + h + "\n")
	}
	fmt.Fprintf(&b, "child: %s\n", r.p.status())
	if s := strings.TrimSpace(r.p.stderr.String()); s != "" {
		b.WriteString("child's stderr:\n  " + strings.ReplaceAll(s, "\n", "\n  ") + "\n")
	}
	r.t.Fatal(b.String())
}

// next returns the child's next message, or fails after stepTimeout or at
// the end of its output.
func (r *replayer) next() []byte {
	r.t.Helper()
	timer := time.NewTimer(stepTimeout)
	defer timer.Stop()
	select {
	case msg, ok := <-r.msgs:
		if !ok {
			r.fatalf("the child's output ended (%v) while a message was expected", r.readErr)
		}
		r.record("< " + string(msg))
		return msg
	case <-timer.C:
		r.fatalf("no message from the child within %v", stepTimeout)
	}
	return nil
}

func (r *replayer) expect(want []byte) {
	r.t.Helper()
	got := r.next()
	if err := transcript.MatchMessage(want, got); err != nil {
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
	if r.pid != r.p.cmd.Process.Pid {
		r.fatalf("pid reply says %d, the child's pid is %d", r.pid, r.p.cmd.Process.Pid)
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
	timer := time.NewTimer(stepTimeout)
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
			r.fatalf("the child did not close its output within %v", stepTimeout)
		}
	}
	code, how, ok := r.p.exited(stepTimeout)
	if !ok {
		r.fatalf("the child did not exit within %v", stepTimeout)
	}
	if code != want {
		r.fatalf("child's %s, want exit status %d", how, want)
	}
	if want == 0 && strings.Contains(r.p.stderr.String(), "Traceback") {
		r.fatalf("clean exit wrote a traceback to stderr")
	}
}
