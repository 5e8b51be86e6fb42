package examples_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/squallstream/squall/cmd/squall/cli"
	"github.com/squallstream/squall/internal/fakekafka"
	"github.com/squallstream/squall/internal/testenv"
)

// runAsSquall makes this test binary the squall command when a test runs
// it as a child, so that a test can kill -9 a whole `squall local`.
const runAsSquall = "SQUALL_EXAMPLES_RUN_AS_SQUALL"

func TestMain(m *testing.M) {
	if os.Getenv(runAsSquall) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// kafkaBroker starts a fake broker with the example's topics and loads
// lines (or the example's sentences) into `sentences`.
func kafkaBroker(t *testing.T, lines []string) (*fakekafka.Broker, []string) {
	t.Helper()
	b, err := fakekafka.Start(fakekafka.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	if err := b.CreateTopic("sentences", 4); err != nil {
		t.Fatal(err)
	}
	if err := b.CreateTopic("sentences-enriched", 2); err != nil {
		t.Fatal(err)
	}
	if lines == nil {
		data, err := os.ReadFile(filepath.Join("kafka-python", "resources", "sentences.txt"))
		if err != nil {
			t.Fatal(err)
		}
		lines = strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	n, err := fakekafka.LoadLines(ctx, b.Addr(), "sentences", 4, strings.NewReader(strings.Join(lines, "\n")+"\n"))
	if err != nil || n != len(lines) {
		t.Fatalf("load: %d, %v", n, err)
	}
	return b, lines
}

// enriched is what the example's Python bolt writes.
type enriched struct {
	Sentence, Longest, Upper, Source string
	Words                            int
}

// outputs collects the records of sentences-enriched by key.
type outputs struct {
	mu   sync.Mutex
	byID map[string][]enriched
	n    int
	err  error
}

func (o *outputs) distinct() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.byID)
}

// watchOutput reads sentences-enriched until ctx ends.
func watchOutput(ctx context.Context, addr string) *outputs {
	o := &outputs{byID: map[string][]enriched{}}
	cl, err := fakekafka.Client(addr, kgo.ConsumeTopics("sentences-enriched"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		o.err = err
		return o
	}
	go func() {
		defer cl.Close()
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			fs.EachRecord(func(r *kgo.Record) {
				var e enriched
				err := json.Unmarshal(r.Value, &e)
				o.mu.Lock()
				defer o.mu.Unlock()
				if err != nil && o.err == nil {
					o.err = fmt.Errorf("record %s: %q is not the enriched JSON: %v", r.Key, r.Value, err)
				}
				o.byID[string(r.Key)] = append(o.byID[string(r.Key)], e)
				o.n++
			})
		}
	}()
	return o
}

// check verifies that every line came out, enriched right.
func (o *outputs) check(t *testing.T, lines []string) {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil {
		t.Fatal(o.err)
	}
	for i, line := range lines {
		key := strconv.Itoa(i + 1)
		got := o.byID[key]
		if len(got) == 0 {
			t.Errorf("line %s %q never came out", key, line)
			continue
		}
		e := got[0]
		if e.Sentence != line || e.Words != len(strings.Fields(line)) || e.Upper != strings.ToUpper(line) ||
			!strings.HasPrefix(e.Source, "sentences/") {
			t.Errorf("line %s came out as %+v", key, e)
		}
	}
	t.Logf("%d lines, %d records out (%d duplicates)", len(lines), o.n, o.n-len(lines))
}

// TestKafkaPython runs the example with `squall local` against a fake
// broker given on the command line, and checks every sentence came out of
// Kafka enriched.
func TestKafkaPython(t *testing.T) {
	needPython(t)
	b, lines := kafkaBroker(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out := watchOutput(ctx, b.Addr())
	var stdout, stderr syncBuf
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(ctx, []string{"local", "kafka-python", "-c", "kafka.bootstrap.servers=" + b.Addr()}, &stdout, &stderr)
	}()
	testenv.WaitUntil(t, 60*time.Second, "every sentence enriched", func() bool { return out.distinct() == len(lines) })
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("squall local exited with %d\nstderr:\n%s", code, stderr.String())
	}
	out.check(t, lines)
	if row := summaryRow(t, stdout.String(), "to-kafka"); row["failed"] != 0 {
		t.Errorf("to-kafka: %v", row)
	}
}

// TestKafkaPythonKill9 runs the example as a separate `squall local`
// process over 100,000 records (20,000 with -short), kills it with SIGKILL
// part-way, waits for its Python children to go, and starts it again: the
// new run resumes from the committed offsets, and every record comes out at
// least once.
func TestKafkaPythonKill9(t *testing.T) {
	needPython(t)
	n := 100_000
	if testing.Short() {
		n = 20_000
	}
	lines := make([]string, n)
	for i := range lines {
		lines[i] = fmt.Sprintf("record %d of the kill test", i)
	}
	b, _ := kafkaBroker(t, lines)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out := watchOutput(ctx, b.Addr())
	tmp := t.TempDir()

	first := startSquall(t, tmp, "local", "kafka-python", "-c", "kafka.bootstrap.servers="+b.Addr())
	// Kill it once it has committed a quarter, to see the restart resume
	// from there.
	var commits map[int32]int64
	var committedAtKill int64
	testenv.WaitUntil(t, 120*time.Second, "a quarter of the records committed", func() bool {
		var err error
		commits, err = fakekafka.Committed(ctx, b.Addr(), "kafka-python", "sentences", 4)
		committedAtKill = 0
		for _, off := range commits {
			committedAtKill += off
		}
		return err == nil && committedAtKill >= int64(n/4)
	})
	children := first.children(t)
	if err := syscall.Kill(first.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.wait(t)
	// The Python children see their stdin close and exit.
	testenv.WaitUntil(t, 30*time.Second, "the killed worker's Python children to exit", func() bool {
		for _, pid := range children {
			if syscall.Kill(pid, 0) == nil {
				return false
			}
		}
		return true
	})
	atKill := out.distinct()
	t.Logf("killed squall local (pid %d) with %d of %d records out, %d committed before; its %d children exited",
		first.cmd.Process.Pid, atKill, n, committedAtKill, len(children))

	second := startSquall(t, tmp, "local", "kafka-python", "-c", "kafka.bootstrap.servers="+b.Addr())
	testenv.WaitUntil(t, 300*time.Second, "every record", func() bool { return out.distinct() == n })
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := second.wait(t); code != 0 {
		t.Errorf("the second squall local exited with %d after SIGTERM\nstderr:\n%s", code, second.stderr.String())
	}
	out.check(t, lines)
	// The second run resumed from the commits: what the first had
	// committed came out once.
	out.mu.Lock()
	defer out.mu.Unlock()
	for key, es := range out.byID {
		var p int32
		var off int64
		if _, err := fmt.Sscanf(es[0].Source, "sentences/%d@%d", &p, &off); err != nil {
			t.Fatalf("record %s: source %q", key, es[0].Source)
		}
		if off < commits[p] && len(es) != 1 {
			t.Errorf("record %s (sentences/%d@%d), committed before the kill, came out %d times", key, p, off, len(es))
		}
	}
}

// squallProc is a `squall local` child process.
type squallProc struct {
	cmd    *exec.Cmd
	stderr *syncBuf
	tmp    string
	done   chan int
}

func startSquall(t *testing.T, tmp string, args ...string) *squallProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), runAsSquall+"=1", "TMPDIR="+tmp)
	p := &squallProc{cmd: cmd, stderr: &syncBuf{}, tmp: tmp, done: make(chan int, 1)}
	cmd.Stdout, cmd.Stderr = &syncBuf{}, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		cmd.Wait()
		p.done <- cmd.ProcessState.ExitCode()
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		p.wait(t)
	})
	return p
}

func (p *squallProc) wait(t *testing.T) int {
	t.Helper()
	select {
	case code := <-p.done:
		p.done <- code
		return code
	case <-time.After(60 * time.Second):
		t.Fatalf("squall did not exit")
		return -1
	}
}

// children returns the pids the process's shell children recorded in its
// pid directory ($TMPDIR/squall-local-*/pids).
func (p *squallProc) children(t *testing.T) []int {
	t.Helper()
	var pids []int
	testenv.WaitUntil(t, 30*time.Second, "the Python children's pid files", func() bool {
		pids = pids[:0]
		files, _ := filepath.Glob(filepath.Join(p.tmp, "squall-local-*", "pids", "*"))
		for _, f := range files {
			if pid, err := strconv.Atoi(filepath.Base(f)); err == nil {
				pids = append(pids, pid)
			}
		}
		return len(pids) >= 2
	})
	return pids
}

// syncBuf is a buffer safe for concurrent writes.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
