// Package examples_test runs every example topology through the squall
// command line, as a user would, and checks its results.
package examples_test

import (
	"bytes"
	"context"
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
)

func needPython(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("python3 is required: %v", err)
		}
		t.Skipf("python3 not found: %v", err)
	}
}

// watchWriter collects output and cancels a context once it holds a
// given text.
type watchWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	want   string
	cancel context.CancelFunc
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if w.want != "" && strings.Contains(w.buf.String(), w.want) {
		w.cancel()
	}
	return len(p), nil
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// run runs squall with args until it exits, or until stderr holds stopAt,
// or for at most limit.
func run(t *testing.T, limit time.Duration, stopAt string, args ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	out := &watchWriter{}
	errw := &watchWriter{want: stopAt, cancel: cancel}
	if code := cli.Main(ctx, args, out, errw); code != 0 {
		t.Fatalf("squall %s exited with %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errw)
	}
	if stopAt != "" && !strings.Contains(errw.String(), stopAt) {
		t.Fatalf("squall %s never logged %q within %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), stopAt, limit, out, errw)
	}
	return out.String(), errw.String()
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
	stdout, stderr := run(t, 60*time.Second, "", "local", "--duration", "4s", "../examples/wordcount")
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
	if row := summaryRow(t, stdout, "split"); row["executed"] < 100 {
		t.Errorf("the Python split bolt executed only %d sentences in 4 s", row["executed"])
	}
}

func TestReliable(t *testing.T) {
	needPython(t)
	stdout, _ := run(t, 90*time.Second, "all 1000 messages acked", "local", "--log-level", "info", "../examples/reliable")
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
		if os.Getenv("CI") != "" {
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
		needs   []string
		lower   bool
	}{
		{"wordcount-ruby", []string{"ruby"}, false},
		{"wordcount-node", []string{"node"}, false},
		{"polyglot", []string{"node", "python3", "ruby"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.example, func(t *testing.T) {
			t.Parallel()
			for _, n := range tt.needs {
				needInterpreter(t, n)
			}
			stdout, stderr := run(t, 60*time.Second, "", "local", "--duration", "5s", tt.example)
			if got, want := ranking(stdout), expectedWords(t, tt.example, tt.lower); !maps.Equal(got, want) {
				t.Errorf("counts = %v\nwant %v\nstderr:\n%s", got, want, stderr)
			}
		})
	}
}
