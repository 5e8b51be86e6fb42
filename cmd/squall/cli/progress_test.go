package cli

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/squallstream/squall/internal/testenv"
	"github.com/squallstream/squall/metrics"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/worker"
)

// threeStage is spout -> a -> b, with the bolts defined downstream first.
func threeStage() *topology.Topology {
	return &topology.Topology{Components: []*topology.Component{
		{ID: "b", Kind: topology.KindBolt, Inputs: []topology.Input{{From: "a"}}},
		{ID: "a", Kind: topology.KindBolt, Inputs: []topology.Input{{From: "s"}}},
		{ID: "s", Kind: topology.KindSpout},
	}}
}

func TestComponentRanks(t *testing.T) {
	tests := []struct {
		name string
		topo *topology.Topology
		want []string
	}{
		{"upstream first", threeStage(), []string{"s", "a", "b"}},
		{"a cycle keeps definition order", &topology.Topology{Components: []*topology.Component{
			{ID: "x", Kind: topology.KindBolt, Inputs: []topology.Input{{From: "y"}}},
			{ID: "y", Kind: topology.KindBolt, Inputs: []topology.Input{{From: "x"}}},
			{ID: "s", Kind: topology.KindSpout},
		}}, []string{"s", "x", "y"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rank := componentRanks(tt.topo)
			for i, id := range tt.want {
				if rank[id] != i {
					t.Errorf("componentRanks()[%q] = %d, want %d (%v)", id, rank[id], i, rank)
				}
			}
		})
	}
}

// hist returns a latency histogram of n samples of d each.
func hist(d time.Duration, n int64) metrics.HistogramSnapshot {
	var h metrics.Histogram
	for range n {
		h.ObserveDuration(d)
	}
	return h.Snapshot()
}

func stats(spoutEmitted, boltExecuted, busy int64, spoutLat, boltLat metrics.HistogramSnapshot) []worker.ComponentStats {
	return []worker.ComponentStats{
		{Component: "b", Tasks: 1, BusyNanos: busy, Streams: map[string]*worker.StreamStats{
			"a:default": {Executed: boltExecuted, ExecuteHistogram: boltLat}}},
		{Component: "s", Spout: true, Tasks: 1, Streams: map[string]*worker.StreamStats{
			"default": {Emitted: spoutEmitted, CompleteHistogram: spoutLat}}},
		{Component: "a", Tasks: 2, Streams: map[string]*worker.StreamStats{"s:default": {Executed: boltExecuted}}},
	}
}

// TestProgressObserve checks the rows: order, rates over the window (not
// since the start), percentiles of the window's samples only, capacity
// and crash-looping flags.
func TestProgressObserve(t *testing.T) {
	p := newProgress(io.Discard, false, "t-1-1", threeStage())
	t0 := p.start
	var rows []row
	// 1000 tuples a second for 20 s, slow at first (100 ms) then fast
	// (1 ms): the window sees the fast ones only.
	for i := int64(1); i <= 20; i++ {
		lat := hist(100*time.Millisecond, min(i, 10)*100)
		if i > 10 {
			lat = lat.Merge(hist(time.Millisecond, (i-10)*100))
		}
		rows = p.observe(stats(i*1000, i*500, i*int64(800*time.Millisecond), lat, lat), map[string]string{"a": "task 3: 5 failures"},
			t0.Add(time.Duration(i)*time.Second))
	}
	var names []string
	for _, r := range rows {
		names = append(names, r.name)
	}
	if strings.Join(names, ",") != "s,a,b" {
		t.Fatalf("rows in order %v, want s,a,b", names)
	}
	s, a, b := rows[0], rows[1], rows[2]
	if s.rate < 999 || s.rate > 1001 || b.rate < 499 || b.rate > 501 {
		t.Errorf("rates s=%v b=%v, want 1000 and 500", s.rate, b.rate)
	}
	if s.p50 > 2*time.Millisecond || s.p99 > 2*time.Millisecond {
		t.Errorf("spout p50 %v p99 %v over the last 10 s, want about 1ms", s.p50, s.p99)
	}
	if b.capacity < 0.79 || b.capacity > 0.81 {
		t.Errorf("capacity of b = %v, want 0.8", b.capacity)
	}
	if a.crashing == "" || s.crashing != "" {
		t.Errorf("crash-looping flags a=%q s=%q", a.crashing, s.crashing)
	}
	if n := len([]rune(s.spark)); n != sparkWidth {
		t.Errorf("sparkline %q has %d bars, want %d", s.spark, n, sparkWidth)
	}
}

func TestFmtLatency(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "-"},
		{850 * time.Nanosecond, "850ns"},
		{12400 * time.Nanosecond, "12.4µs"},
		{27263 * time.Microsecond, "27.3ms"},
		{268435 * time.Microsecond, "268ms"},
		{1270 * time.Millisecond, "1.27s"},
	}
	for _, tt := range tests {
		if got := fmtLatency(tt.d); got != tt.want {
			t.Errorf("fmtLatency(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestSparkline(t *testing.T) {
	tests := []struct {
		rates []float64
		want  string
	}{
		{[]float64{0, 0}, "▁▁"},
		{[]float64{0, 50, 100}, "▁▅█"},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := sparkline(tt.rates); got != tt.want {
			t.Errorf("sparkline(%v) = %q, want %q", tt.rates, got, tt.want)
		}
	}
}

// TestProgressLive checks the live table: lines written go above it and
// it is drawn again under them, a partial line waits for its end, the
// table fits the terminal's width and a bottleneck is highlighted.
func TestProgressLive(t *testing.T) {
	var out bytes.Buffer
	p := newProgress(&out, true, "t-1-1", threeStage())
	p.start = time.Now().Add(-time.Second)
	p.columns = func() int { return 60 }
	p.update(stats(100, 50, int64(900*time.Millisecond), metrics.HistogramSnapshot{}, metrics.HistogramSnapshot{}), nil)
	table := out.String()
	if !strings.Contains(table, "\x1b[1;41;97m") {
		t.Errorf("a bolt at capacity 0.9 is not highlighted:\n%q", table)
	}
	for _, l := range strings.Split(stripEscapes(table), "\n") {
		if n := len([]rune(l)); n > 59 {
			t.Errorf("line of %d columns on a 60-column terminal: %q", n, l)
		}
	}
	out.Reset()
	p.Write([]byte("half a "))
	if out.Len() != 0 {
		t.Fatalf("a partial line was written: %q", out.String())
	}
	p.Write([]byte("line\nnext line\n"))
	got := out.String()
	if !strings.HasPrefix(got, "\r\x1b[") || !strings.Contains(got, "half a line\nnext line\n") || !strings.HasSuffix(got, string(p.table)) {
		t.Errorf("Write printed %q, want the erase, the lines, then the table", got)
	}
}

func stripEscapes(s string) string {
	return regexp.MustCompile("\x1b\\[[0-9;]*[A-Za-z]").ReplaceAllString(s, "")
}

// screen is a terminal's screen as far as squall local's output needs: it
// applies printable text, CR, LF, cursor up, erase to the end of the
// screen or line, and ignores colours. Lines above the top stay
// (scrollback), as on a terminal.
type screen struct {
	lines    [][]rune
	row, col int
	width    int
}

func (s *screen) apply(b []byte) {
	text := []rune(string(b))
	for i := 0; i < len(text); i++ {
		for s.row >= len(s.lines) {
			s.lines = append(s.lines, nil)
		}
		switch r := text[i]; r {
		case '\r':
			s.col = 0
		case '\n':
			s.row++
			s.col = 0 // the pty's ONLCR
		case '\x1b':
			j := i + 1
			if j < len(text) && text[j] == '[' {
				j++
				start := j
				for j < len(text) && (text[j] >= '0' && text[j] <= '9' || text[j] == ';') {
					j++
				}
				if j >= len(text) {
					return
				}
				n, _ := strconv.Atoi(string(text[start:j]))
				switch text[j] {
				case 'A':
					s.row = max(s.row-max(n, 1), 0)
				case 'J':
					s.lines[s.row] = s.lines[s.row][:min(s.col, len(s.lines[s.row]))]
					s.lines = s.lines[:s.row+1]
				case 'K':
					s.lines[s.row] = s.lines[s.row][:min(s.col, len(s.lines[s.row]))]
				}
			}
			i = j
		default:
			if r < ' ' {
				continue
			}
			if s.col >= s.width { // auto-wrap
				s.row++
				s.col = 0
				for s.row >= len(s.lines) {
					s.lines = append(s.lines, nil)
				}
			}
			line := s.lines[s.row]
			for len(line) <= s.col {
				line = append(line, ' ')
			}
			line[s.col] = r
			s.lines[s.row] = line
			s.col++
		}
	}
}

func (s *screen) String() string {
	var b strings.Builder
	for _, l := range s.lines {
		b.WriteString(strings.TrimRight(string(l), " ") + "\n")
	}
	return b.String()
}

// lockedBuffer is a bytes.Buffer safe for a reader goroutine and a test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

// TestLocalTerminalKeepsOutput runs squall local under a real terminal (a
// pty) with a bolt that prints every tuple while the live table redraws
// every 50 ms, stops it with ^C typed on the terminal, and checks the
// screen: every printed line is still there, and the notice and the
// summary are whole (no ^C or table left in them).
func TestLocalTerminalKeepsOutput(t *testing.T) {
	const words = 60
	dir := t.TempDir()
	yaml := `name: printer
spouts:
  - id: words
    go: squall.TestWordSpout
    args: {intervalMs: 20, limit: ` + strconv.Itoa(words) + `}
bolts:
  - id: print
    go: squall.Log
    args: {stdout: true}
streams:
  - {from: words, to: print, grouping: {type: SHUFFLE}}
`
	if err := os.WriteFile(filepath.Join(dir, "topology.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "local", "--interval", "50ms", filepath.Join(dir, "topology.yaml"))
	cmd.Env = append(os.Environ(), envAsSquall+"=1")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 132})
	if err != nil {
		t.Fatalf("start under a pty: %v", err)
	}
	t.Cleanup(func() {
		tty.Close()
		_ = cmd.Process.Kill()
	})
	var raw lockedBuffer
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		io.Copy(&raw, tty) // ends with EIO once the child is gone
	}()
	printed := regexp.MustCompile(`words:\d+ default \[\w+\]`)
	deadline := time.Now().Add(testenv.Patience(90 * time.Second))
	for len(printed.FindAll(raw.Bytes(), -1)) < words {
		if time.Now().After(deadline) {
			t.Fatalf("the bolt printed %d lines of %d in time; output:\n%q", len(printed.FindAll(raw.Bytes(), -1)), words, raw.Bytes())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Let the table redraw a few times over the last lines, then type ^C.
	time.Sleep(300 * time.Millisecond)
	if _, err := tty.Write([]byte{3}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		if err != nil {
			t.Errorf("squall local after ^C: %v", err)
		}
	case <-time.After(testenv.Patience(60 * time.Second)):
		t.Fatalf("squall local did not stop after ^C; output:\n%q", raw.Bytes())
	}
	select {
	case <-copied:
	case <-time.After(10 * time.Second):
	}
	scr := &screen{width: 132}
	scr.apply(raw.Bytes())
	final := scr.String()
	if got := len(printed.FindAllString(final, -1)); got != words {
		t.Errorf("the screen shows %d of the %d printed lines:\n%s", got, words, final)
	}
	var notice, ran, header bool
	for _, l := range strings.Split(final, "\n") {
		notice = notice || strings.HasPrefix(l, "squall: stopping: spouts are deactivated")
		ran = ran || regexp.MustCompile(`^printer-1-\d+ ran for `).MatchString(l)
		header = header || regexp.MustCompile(`^\s*component\s+kind\s+tasks\s+emitted`).MatchString(l)
		if strings.Contains(l, "(Ctrl-C stops)") || strings.Contains(l, "trend") {
			t.Errorf("the live table is left on the screen: %q", l)
		}
	}
	if !notice || !ran || !header {
		t.Errorf("the stop notice (%v), the summary's first line (%v) or its header (%v) is not whole:\n%s", notice, ran, header, final)
	}
}
