package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/procgroup"
	"github.com/squallstream/squall/internal/procstat"
)

// writeTopology writes a topology directory: sentences (Go) -> a shell
// bolt running sh with script, which it finds in resources/.
func writeTopology(t *testing.T, script string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "resources"), 0o755); err != nil {
		t.Fatal(err)
	}
	yaml := `name: stoptest
spouts:
  - id: sentences
    go: squall.RandomSentences
bolts:
  - id: child
    shell: {command: [sh, child.sh], fields: [word]}
streams:
  - {from: sentences, to: child, grouping: {type: SHUFFLE}}
`
	for name, text := range map[string]string{"topology.yaml": yaml, "resources/child.sh": script} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// summaryErrors returns the errors column of every row of a run summary.
func summaryErrors(t *testing.T, summary string) map[string]int {
	t.Helper()
	out := map[string]int{}
	var header []string
	for _, l := range strings.Split(summary, "\n") {
		f := strings.Fields(l)
		if len(f) > 0 && f[0] == "component" {
			header = f
			continue
		}
		if header != nil && len(f) == len(header) {
			n, _ := strconv.Atoi(f[len(f)-1])
			out[f[0]] = n
		}
	}
	if len(out) == 0 {
		t.Fatalf("no summary in:\n%s", summary)
	}
	return out
}

// TestLocalStopsWhileChildLaunches runs a topology whose shell child never
// answers its handshake for the duration: squall local stops at the end
// of it, not after the startup timeout, and exits cleanly.
func TestLocalStopsWhileChildLaunches(t *testing.T) {
	dir := writeTopology(t, "exec sleep 600\n")
	var stdout, stderr bytes.Buffer
	o := localOptions{duration: time.Second, interval: time.Hour, logLevel: "warn"}
	start := time.Now()
	err := runLocal(t.Context(), o, stockRegistry(&stdout), dir, &stdout, &stderr)
	if err != nil {
		t.Fatalf("runLocal = %v, want a clean exit\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
	}
	// The startup timeout is 30 s; the stop must not wait for it.
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("squall local --duration 1s took %v", d.Round(time.Millisecond))
	}
	for comp, n := range summaryErrors(t, stdout.String()) {
		if n != 0 {
			t.Errorf("%s: %d errors after a clean stop\n%s", comp, n, &stdout)
		}
	}
}

// TestLocalInterrupts checks Ctrl-C: the first says that the topology
// stops, and stops it cleanly; a second, while children ignore SIGTERM,
// kills them at once, and the summary is still printed.
func TestLocalInterrupts(t *testing.T) {
	// The child records its pid and ignores SIGTERM; with a stop grace of
	// a minute, only the second interrupt ends the run in time.
	dir := writeTopology(t, "echo $$ > child.pid\ntrap '' TERM\nexec sleep 600\n")
	sigs := make(chan os.Signal, 2)
	var stdout bytes.Buffer
	stderr := &syncBuffer{}
	o := localOptions{interval: time.Hour, logLevel: "warn", signals: sigs, stopGrace: time.Minute}
	done := make(chan error, 1)
	go func() { done <- runLocal(context.Background(), o, stockRegistry(&stdout), dir, &stdout, stderr) }()

	pidFile := filepath.Join(dir, "resources", "child.pid")
	var pid int
	deadline := time.Now().Add(30 * time.Second)
	for {
		if b, err := os.ReadFile(pidFile); err == nil && bytes.HasSuffix(b, []byte("\n")) {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the child never started; stderr:\n%s", stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })

	sigs <- os.Interrupt
	for !strings.Contains(stderr.String(), "Ctrl-C again to stop at once") {
		if time.Now().After(deadline) {
			t.Fatalf("no notice after the first interrupt; stderr:\n%s", stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	sigs <- os.Interrupt
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("squall local still runs 30 s after the second interrupt")
	}
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitInterrupted {
		t.Errorf("runLocal = %v, want exit code %d", err, exitInterrupted)
	}
	if !regexp.MustCompile(`(?m)^stoptest-1-\d+ ran for `).MatchString(stdout.String()) {
		t.Errorf("no summary after a stop at once:\n%s", &stdout)
	}
	deadline = time.Now().Add(30 * time.Second)
	for procgroup.Alive(pid) && !zombie(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("child %d survived the stop at once", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func zombie(pid int) bool {
	s, err := procstat.Read(pid)
	return err == nil && s.Zombie()
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestLocalSummaryShowsMetrics runs a raw-protocol child that reports a
// metric: the run summary shows it.
func TestLocalSummaryShowsMetrics(t *testing.T) {
	dir := writeTopology(t, `while read line; do [ "$line" = end ] && break; done
echo "{\"pid\": $$}"; echo end
echo '{"command": "metrics", "name": "answers", "params": 42}'; echo end
touch reported
exec cat > /dev/null
`)
	sigs := make(chan os.Signal, 1)
	var stdout bytes.Buffer
	stderr := &syncBuffer{}
	o := localOptions{interval: time.Hour, logLevel: "warn", signals: sigs}
	done := make(chan error, 1)
	go func() { done <- runLocal(context.Background(), o, stockRegistry(&stdout), dir, &stdout, stderr) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir, "resources", "reported")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the child never reported its metric; stderr:\n%s", stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	sigs <- os.Interrupt
	if err := <-done; err != nil {
		t.Fatalf("runLocal = %v\nstderr:\n%s", err, stderr)
	}
	if !regexp.MustCompile(`(?m)^\s+child\s+task \d+\s+answers\s+42$`).MatchString(stdout.String()) {
		t.Errorf("no metric in the summary:\n%s", &stdout)
	}
}

// TestLocalStopsTasksInParallel stops four shell tasks whose children
// ignore SIGTERM: each is killed after the grace period, all at once, so
// the stop takes one grace period, not four.
func TestLocalStopsTasksInParallel(t *testing.T) {
	const grace = 5 * time.Second
	dir := writeTopology(t, "trap '' TERM\necho $$ > child-$$.pid\nexec sleep 600\n")
	yaml := filepath.Join(dir, "topology.yaml")
	b, _ := os.ReadFile(yaml)
	b = bytes.Replace(b, []byte("fields: [word]}"), []byte("fields: [word]}\n    parallelism: 4"), 1)
	os.WriteFile(yaml, b, 0o644)

	sigs := make(chan os.Signal, 1)
	var stdout bytes.Buffer
	stderr := &syncBuffer{}
	o := localOptions{interval: time.Hour, logLevel: "warn", signals: sigs, stopGrace: grace}
	done := make(chan error, 1)
	go func() { done <- runLocal(context.Background(), o, stockRegistry(&stdout), dir, &stdout, stderr) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		pids, _ := filepath.Glob(filepath.Join(dir, "resources", "child-*.pid"))
		if len(pids) == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 4 children started; stderr:\n%s", len(pids), stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	sigs <- os.Interrupt
	if err := <-done; err != nil {
		t.Fatalf("runLocal = %v\nstderr:\n%s", err, stderr)
	}
	if d := time.Since(start); d >= 3*grace {
		t.Errorf("stopping 4 tasks took %v; one after another they take at least %v", d.Round(time.Millisecond), 4*grace)
	}
}
