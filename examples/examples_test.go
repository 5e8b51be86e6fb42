// Package examples_test runs every example topology through the squall
// command line, as a user would, and checks its results.
package examples_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/squallstream/squall/cmd/squall/cli"
	"github.com/squallstream/squall/internal/testenv"
)

func needPython(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		if testenv.CI() {
			t.Fatalf("python3 is required: %v", err)
		}
		t.Skipf("python3 not found: %v", err)
	}
}

// watchWriter collects output and cancels a context once done says the
// output holds what the test waits for.
type watchWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	done   func(output string) bool
	cancel context.CancelFunc
	seen   bool
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if w.done != nil && !w.seen && w.done(w.buf.String()) {
		w.seen = true
		w.cancel()
	}
	return len(p), nil
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func (w *watchWriter) reached() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seen
}

// patience is how long an example may take to reach its result: long, as
// interpreters start slowly on a busy machine; longer where CI is set.
func patience() time.Duration { return testenv.Patience(3 * time.Minute) }

// run runs squall with args until what says, from its stderr, that the
// run reached its result (then it is stopped as Ctrl-C would), or until
// patience runs out, which fails the test. The progress lines squall
// prints every 200ms (--interval) carry each component's counts.
func run(t *testing.T, what string, done func(stderr string) bool, args ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience())
	defer cancel()
	out := &watchWriter{}
	errw := &watchWriter{done: done, cancel: cancel}
	args = append([]string{args[0], "--interval", "200ms"}, args[1:]...)
	if code := cli.Main(ctx, args, out, errw); code != 0 {
		t.Fatalf("squall %s exited with %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errw)
	}
	if !errw.reached() {
		t.Fatalf("squall %s: no %s within %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), what, patience(), out, errw)
	}
	return out.String(), errw.String()
}

// progressCount returns the last value of a count (emitted, executed,
// acked...) that the progress lines show for component, -1 if none.
func progressCount(stderr, component, count string) int64 {
	re := regexp.MustCompile(`(?m)^\S+ ` + regexp.QuoteMeta(component) + ` (?:spout|bolt) .*\b` + count + `=(\d+)`)
	m := re.FindAllStringSubmatch(stderr, -1)
	if m == nil {
		return -1
	}
	n, _ := strconv.ParseInt(m[len(m)-1][1], 10, 64)
	return n
}

// summaryRow returns the figures of a component in the run summary.
func summaryRow(t *testing.T, summary, component string) map[string]int64 {
	t.Helper()
	lines := strings.Split(summary, "\n")
	var header []string
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) > 0 && f[0] == "component" {
			header = f
			continue
		}
		if header != nil && len(f) == len(header) && f[0] == component {
			row := map[string]int64{}
			for i, h := range header {
				if n, err := strconv.ParseInt(f[i], 10, 64); err == nil {
					row[h] = n
				}
			}
			return row
		}
	}
	t.Fatalf("no summary row for %s in:\n%s", component, summary)
	return nil
}

func TestWordCount(t *testing.T) {
	needPython(t)
	// A shell bolt's "executed" counts the tuples handed to its child, which
	// a child still starting (seconds, on a busy machine) has not read: wait
	// for the words to have gone all the way through instead.
	stdout, stderr := run(t, "500 sentences split and their words ranked", func(stderr string) bool {
		return progressCount(stderr, "split", "acked") >= 500 && progressCount(stderr, "top", "executed") >= 1000
	}, "local", "../examples/wordcount")
	if !strings.Contains(stdout, `top 10 of "top":`) {
		t.Fatalf("no top-10 printed:\n%s\n%s", stdout, stderr)
	}
	// The most frequent word of the five sentences is "the".
	if !regexp.MustCompile(`(?m)^\s+1\. the\s+\d+$`).MatchString(stdout) {
		t.Errorf("the top word is not \"the\":\n%s", stdout)
	}
	for _, c := range []string{"sentences", "split", "count", "top"} {
		row := summaryRow(t, stdout, c)
		if row["failed"] != 0 || row["errors"] != 0 {
			t.Errorf("%s: %v", c, row)
		}
	}
	if row := summaryRow(t, stdout, "split"); row["executed"] < 500 {
		t.Errorf("the Python split bolt executed only %d sentences", row["executed"])
	}
}

func TestReliable(t *testing.T) {
	needPython(t)
	stdout, _ := run(t, `the log line "all 1000 messages acked"`, func(stderr string) bool {
		return strings.Contains(stderr, "all 1000 messages acked")
	}, "local", "--log-level", "info", "../examples/reliable")
	spout := summaryRow(t, stdout, "numbers")
	if spout["acked"] != 1000 {
		t.Errorf("numbers acked %d, want every one of the 1000 messages", spout["acked"])
	}
	if spout["failed"] == 0 {
		t.Errorf("no failures: the flaky bolt should fail about a fifth of the tuples")
	}
	if count := summaryRow(t, stdout, "count"); count["executed"] != 1000 {
		t.Errorf("count executed %d, want exactly the 1000 messages that got through", count["executed"])
	}
}

func needInterpreter(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if testenv.CI() {
			t.Fatalf("%s is required: %v", name, err)
		}
		t.Skipf("%s not found: %v", name, err)
	}
}

// expectedWords counts the words of an example's sentences.txt.
func expectedWords(t *testing.T, example string, lower bool) map[string]int64 {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(example, "resources", "sentences.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if lower {
		data = bytes.ToLower(data)
	}
	want := map[string]int64{}
	for _, w := range strings.Fields(string(data)) {
		want[w]++
	}
	return want
}

// sentenceCount returns how many sentences (lines) an example's
// sentences.txt holds.
func sentenceCount(t *testing.T, example string) int64 {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(example, "resources", "sentences.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, l := range strings.Split(string(data), "\n") {
		if l != "" {
			n++
		}
	}
	return n
}

var rankLine = regexp.MustCompile(`(?m)^\s*\d+\. (\S+)\s+(\d+)$`)

// ranking reads what squall.TopN printed.
func ranking(out string) map[string]int64 {
	got := map[string]int64{}
	for _, m := range rankLine.FindAllStringSubmatch(out, -1) {
		n, _ := strconv.ParseInt(m[2], 10, 64)
		got[m[1]] = n
	}
	return got
}

// TestExactWordCounts runs the word counts over a fixed input in Ruby,
// Node, and all languages at once, and checks every word's count.
func TestExactWordCounts(t *testing.T) {
	tests := []struct {
		example string
		spout   string
		needs   []string
		lower   bool
	}{
		{"wordcount-ruby", "lines", []string{"ruby"}, false},
		{"wordcount-node", "sentences", []string{"node"}, false},
		{"polyglot", "sentences", []string{"node", "python3", "ruby"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.example, func(t *testing.T) {
			t.Parallel()
			for _, n := range tt.needs {
				needInterpreter(t, n)
			}
			// Every sentence acked means every word counted.
			lines := sentenceCount(t, tt.example)
			stdout, stderr := run(t, fmt.Sprintf("%d sentences acked", lines), func(stderr string) bool {
				return progressCount(stderr, tt.spout, "acked") == lines
			}, "local", tt.example)
			if got, want := ranking(stdout), expectedWords(t, tt.example, tt.lower); !maps.Equal(got, want) {
				t.Errorf("counts = %v\nwant %v\nstderr:\n%s", got, want, stderr)
			}
		})
	}
}
