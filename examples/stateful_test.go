package examples_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/squallstream/squall/state/provider"
)

// TestStatefulPython runs examples/stateful-python twice on one state
// directory, on sentences 0-199 and then 200-499, and checks that the
// committed counts, read from the state file once squall local has exited,
// are those of every sentence so far: the second run continued the first's
// counts.
func TestStatefulPython(t *testing.T) {
	needPython(t)
	data, err := os.ReadFile(filepath.Join("stateful-python", "resources", "sentences.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	dir := t.TempDir()
	for round, r := range []struct{ from, to int }{{0, 200}, {200, 500}} {
		n := r.to - r.from
		stdout, stderr := run(t, "every sentence acked and one more checkpoint committed", func(stderr string) bool {
			return committedAfter(stderr, fmt.Sprintf("all %d sentences acked", n))
		}, "local", "--log-level", "info",
			"-c", "storm.local.dir="+dir,
			"-c", "stateful.from="+strconv.Itoa(r.from), "-c", "stateful.to="+strconv.Itoa(r.to),
			"../examples/stateful-python")

		want := map[string]int64{}
		for i := range r.to {
			for _, w := range strings.Fields(lines[i%len(lines)]) {
				want[w]++
			}
		}
		got := committedCounts(t, filepath.Join(dir, "state", "stateful-python", "local.db"), "stateful-python", "count")
		if !maps.Equal(got, want) {
			t.Fatalf("round %d: committed counts after sentences 0-%d:\n got %v\nwant %v\nstderr:\n%s", round, r.to-1, got, want, stderr)
		}
		if row := summaryRow(t, stdout, "sentences"); row["acked"] != int64(n) || row["failed"] != 0 {
			t.Errorf("round %d: sentences: %v, want %d acked, none failed", round, row, n)
		}
		if row := summaryRow(t, stdout, "count"); row["failed"] != 0 || row["errors"] != 0 {
			t.Errorf("round %d: count: %v\nstderr:\n%s", round, row, stderr)
		}
	}
}

// committedAfter reports whether, after the line logged, the checkpoint
// spout's progress shows a whole transaction more acked (its prepare and
// commit): acks wait for the commit holding them, so the input is committed
// once logged; this waits for one more commit, as an operator would.
func committedAfter(stderr, logged string) bool {
	i := strings.Index(stderr, logged)
	if i < 0 {
		return false
	}
	re := regexp.MustCompile(`(?m)^\S+ \$checkpointspout spout .*\backed=(\d+)`)
	m := re.FindAllStringSubmatch(stderr[i:], -1)
	if len(m) < 2 {
		return false
	}
	first, _ := strconv.Atoi(m[0][1])
	last, _ := strconv.Atoi(m[len(m)-1][1])
	return last-first >= 2
}

// committedCounts reads the word counts of every task of a component from
// the embedded state file, summed (each word lives in one task). A
// transaction prepared after the last input holds no count.
func committedCounts(t *testing.T, path, topo, comp string) map[string]int64 {
	t.Helper()
	p, err := provider.New(provider.Config{Kind: provider.Embedded}, provider.Options{EmbeddedPath: path})
	if err != nil {
		t.Fatalf("open the state file: %v", err)
	}
	defer p.Close()
	counts := map[string]int64{}
	// Task ids are small; a namespace nobody wrote reads empty.
	for task := 1; task <= 32; task++ {
		st, err := p.State(provider.Namespace(topo, comp, task))
		if err != nil {
			t.Fatal(err)
		}
		err = st.Range(func(k string, v []byte) bool {
			if strings.HasPrefix(k, "\x00") {
				return true // squall's own keys
			}
			// A shell bolt's keys and values are JSON.
			var word string
			var n int64
			if err := json.Unmarshal([]byte(k), &word); err != nil {
				t.Errorf("task %d: key %q: %v", task, k, err)
			}
			if err := json.Unmarshal(v, &n); err != nil {
				t.Errorf("task %d: count of %q is %q: %v", task, k, v, err)
			}
			counts[word] += n
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return counts
}
