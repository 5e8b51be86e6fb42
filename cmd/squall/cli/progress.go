package cli

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/squallstream/squall/worker"
)

// progress shows a running topology's statistics: on a terminal a table
// redrawn in place, with log lines printed above it; otherwise one plain
// line per component at every update. It is safe for concurrent use.
type progress struct {
	w       io.Writer
	live    bool
	stormID string
	start   time.Time

	mu sync.Mutex
	// The following fields are guarded by mu.
	// drawn is how many lines the live table takes on screen.
	drawn int
	table []byte
	// prev holds the totals at the last update, for rates.
	prev     map[string]worker.StreamStats
	prevBusy map[string]int64
	prevAt   time.Time
	lastErr  map[string]string
}

func newProgress(w io.Writer, live bool, stormID string) *progress {
	return &progress{w: w, live: live, stormID: stormID, start: time.Now(), prevAt: time.Now(),
		prev: map[string]worker.StreamStats{}, prevBusy: map[string]int64{}, lastErr: map[string]string{}}
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	if !ok {
		return false
	}
	fi, err := file.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Write prints log output: above the live table on a terminal.
func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.live {
		p.clear()
		p.w.Write(b)
		p.w.Write(p.table)
		return len(b), nil
	}
	return p.w.Write(b)
}

// notice prints a line for the user, above the live table on a terminal.
func (p *progress) notice(msg string) { p.Write([]byte(msg + "\n")) }

func (p *progress) clear() {
	if p.drawn > 0 {
		fmt.Fprintf(p.w, "\x1b[%dA\x1b[J", p.drawn)
	}
}

func (p *progress) noteError(r worker.ErrorReport) {
	p.mu.Lock()
	defer p.mu.Unlock()
	msg := r.Err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i] + " ..."
	}
	p.lastErr[r.Component] = fmt.Sprintf("task %d: %s", r.Task, msg)
}

// row is one component's figures over the last interval.
type row struct {
	name, kind                               string
	tasks                                    int
	emitted, executed, acked, failed, errors int64
	rate                                     float64
	latency                                  time.Duration
	capacity                                 float64
}

func (p *progress) rows(stats []worker.ComponentStats, now time.Time, whole bool) []row {
	since := p.prevAt
	if whole {
		since = p.start
	}
	secs := max(now.Sub(since).Seconds(), 1e-9)
	var rows []row
	for _, c := range stats {
		t := c.Totals()
		prev := p.prev[c.Component]
		if whole {
			prev = worker.StreamStats{}
		}
		r := row{name: c.Component, tasks: c.Tasks, emitted: t.Emitted, executed: t.Executed,
			acked: t.Acked, failed: t.Failed, errors: c.Errors}
		if c.Spout {
			r.kind = "spout"
			r.rate = float64(t.Emitted-prev.Emitted) / secs
			r.latency = latencyOf(t.CompleteNanos-prev.CompleteNanos, t.CompleteSamples-prev.CompleteSamples)
		} else {
			r.kind = "bolt"
			r.rate = float64(t.Executed-prev.Executed) / secs
			r.latency = latencyOf(t.ExecuteNanos-prev.ExecuteNanos, t.ExecuteSamples-prev.ExecuteSamples)
			busy := c.BusyNanos - p.prevBusy[c.Component]
			if whole {
				busy = c.BusyNanos
			}
			r.capacity = float64(busy) / (secs * 1e9 * float64(max(c.Tasks, 1)))
		}
		rows = append(rows, r)
	}
	return rows
}

func latencyOf(nanos, samples int64) time.Duration {
	if samples <= 0 {
		return 0
	}
	return time.Duration(nanos / samples)
}

// update shows the statistics now.
func (p *progress) update(stats []worker.ComponentStats) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	rows := p.rows(stats, now, false)
	for _, c := range stats {
		p.prev[c.Component] = c.Totals()
		p.prevBusy[c.Component] = c.BusyNanos
	}
	p.prevAt = now
	up := now.Sub(p.start).Round(time.Second)
	if !p.live {
		fmt.Fprintf(p.w, "%s %s rss=%s\n", up, p.stormID, strings.ReplaceAll(rss(), " ", ""))
		for _, r := range rows {
			fmt.Fprintf(p.w, "%s %s %s emitted=%d executed=%d acked=%d failed=%d rate=%.0f/s latency=%s", up, r.name, r.kind,
				r.emitted, r.executed, r.acked, r.failed, r.rate, fmtLatency(r.latency))
			if r.errors > 0 {
				fmt.Fprintf(p.w, " errors=%d", r.errors)
			}
			fmt.Fprintln(p.w)
		}
		return
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s   up %s   rss %s   (Ctrl-C stops)\n", p.stormID, up, rss())
	writeTable(&b, rows, "rate/s")
	for _, r := range rows {
		if e, ok := p.lastErr[r.name]; ok {
			fmt.Fprintf(&b, "  last error of %s: %s\n", r.name, e)
		}
	}
	p.clear()
	p.table = b.Bytes()
	p.w.Write(p.table)
	p.drawn = bytes.Count(p.table, []byte{'\n'})
}

// summary prints the totals of a finished run, with rates over the whole
// run, the errors and the metrics the tasks recorded.
func (p *progress) summary(w io.Writer, stats []worker.ComponentStats, errs map[string][]worker.ErrorReport, metrics []worker.UserMetric) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if p.live {
		p.clear()
		p.drawn, p.table = 0, nil
	}
	fmt.Fprintf(w, "%s ran for %s\n", p.stormID, now.Sub(p.start).Round(time.Millisecond))
	writeTable(w, p.rows(stats, now, true), "avg/s")
	for _, comp := range sortedKeys(errs) {
		rs := errs[comp]
		fmt.Fprintf(w, "%s reported errors; the last:\n  %s\n", comp, strings.ReplaceAll(rs[len(rs)-1].Err.Error(), "\n", "\n  "))
	}
	if len(metrics) > 0 {
		fmt.Fprintln(w, "metrics (last value of each task):")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, m := range metrics {
			fmt.Fprintf(tw, "  %s\ttask %d\t%s\t%v\n", m.Component, m.Task, m.Name, m.Value)
		}
		tw.Flush()
	}
}

func writeTable(w io.Writer, rows []row, rateTitle string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "component\tkind\ttasks\temitted\texecuted\tacked\tfailed\t%s\tlatency\tcapacity\terrors\t\n", rateTitle)
	for _, r := range rows {
		capacity := "-"
		if r.kind == "bolt" {
			capacity = fmt.Sprintf("%.3f", r.capacity)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%.0f\t%s\t%s\t%d\t\n", r.name, r.kind, r.tasks, r.emitted, r.executed,
			r.acked, r.failed, r.rate, fmtLatency(r.latency), capacity, r.errors)
	}
	tw.Flush()
}

func fmtLatency(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return strconv.FormatFloat(float64(d)/1e6, 'f', 3, 64) + "ms"
}

// rss returns the process's resident set size, from /proc.
func rss() string {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return "?"
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return fmt.Sprintf("%.1f MiB", kb/1024)
		}
	}
	return "?"
}
