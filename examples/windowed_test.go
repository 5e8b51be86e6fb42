package examples_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestWindowedPython runs examples/windowed-python and checks every
// window's top words against those computed here from the same sentences
// and event times: sentence i at start + i*250 ms, windows of 10 s ending
// every second, (end - 10 s, end].
func TestWindowedPython(t *testing.T) {
	needPython(t)
	const (
		total = 200
		start = int64(1700000000000)
		step  = 250
	)
	data, err := os.ReadFile(filepath.Join("windowed-python", "resources", "sentences.txt"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Fields(strings.ReplaceAll(string(data), " ", "_"))
	var want []string
	for end := start; end <= start+int64(total-1)*step+9999; end += 1000 {
		counts := map[string]int{}
		for i := range total {
			if ts := start + int64(i)*step; ts > end-10000 && ts <= end {
				for _, w := range strings.Split(lines[i%len(lines)], "_") {
					counts[w]++
				}
			}
		}
		if len(counts) == 0 {
			continue
		}
		words := make([]string, 0, len(counts))
		for w := range counts {
			words = append(words, w)
		}
		slices.SortFunc(words, func(a, b string) int {
			if counts[a] != counts[b] {
				return counts[b] - counts[a]
			}
			return strings.Compare(a, b)
		})
		var top []string
		for _, w := range words[:min(3, len(words))] {
			top = append(top, fmt.Sprintf("%s=%d", w, counts[w]))
		}
		want = append(want, fmt.Sprintf("[%d %s]", end, strings.Join(top, " ")))
	}
	stdout, stderr := run(t, `every sentence acked and every window printed`, func(stderr string) bool {
		return strings.Contains(stderr, fmt.Sprintf("all %d sentences acked", total)) &&
			progressCount(stderr, "print", "executed") >= int64(len(want))
	}, "local", "--log-level", "info", "../examples/windowed-python")

	got := regexp.MustCompile(`(?m)^top:\d+ default (\[.*\])$`).FindAllStringSubmatch(stdout, -1)
	var windows []string
	for _, m := range got {
		windows = append(windows, m[1])
	}
	if len(windows) < 3 || !slices.Equal(windows[:3], want[:3]) {
		t.Fatalf("first windows = %q\nwant %q\nstdout:\n%s", windows[:min(3, len(windows))], want[:3], stdout)
	}
	if !slices.Equal(windows, want) {
		t.Errorf("windows = %q\nwant %q", windows, want)
	}
	if row := summaryRow(t, stdout, "sentences"); row["acked"] != total || row["failed"] != 0 {
		t.Errorf("sentences: %v, want %d acked (every one but the last, which moves the watermark), none failed", row, total)
	}
	if row := summaryRow(t, stdout, "top"); row["failed"] != 0 || row["errors"] != 0 {
		t.Errorf("top: %v\nstderr:\n%s", row, stderr)
	}
}
