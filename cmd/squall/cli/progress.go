package cli

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/squallstream/squall/metrics"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/worker"
)

// progress shows a running topology's statistics. On a terminal it is a
// table redrawn in place below everything else printed: log lines and
// component output go through Write, which clears the table, prints them
// and draws the table again under them, so nothing printed is ever
// erased. Elsewhere it prints one plain line per component at every
// update. It is safe for concurrent use.
type progress struct {
	w       io.Writer
	live    bool
	stormID string
	start   time.Time
	// rank orders the components: spouts first, then bolts, each in
	// topology order (upstream first).
	rank map[string]int
	// columns returns the terminal's width, 0 if unknown; lines of the
	// table are cut to it, since a wrapped line would throw the redraw
	// off by a row.
	columns func() int

	mu sync.Mutex
	// The following fields are guarded by mu.
	// drawn is how many lines the live table takes on screen.
	drawn int
	table []byte
	// partial is the start of a line written without its end yet: it is
	// held until the line is complete, so that the table never lands in
	// the middle of a line.
	partial []byte
	hist    map[string]*history
	lastErr map[string]string
}

// Rates, percentiles and capacity are over the last rateWindow of
// updates; the sparkline shows the last sparkWidth updates' rates.
const (
	rateWindow = 10 * time.Second
	sparkWidth = 16
	// bottleneck is the capacity from which a bolt is highlighted, as
	// Storm's UI colours it.
	bottleneck = 0.8
)

func newProgress(w io.Writer, live bool, stormID string, topo *topology.Topology) *progress {
	return &progress{w: w, live: live, stormID: stormID, start: time.Now(), rank: componentRanks(topo),
		hist: map[string]*history{}, lastErr: map[string]string{}}
}

// componentRanks orders a topology's components: spouts first, then bolts
// so that each comes after those it subscribes to, ties (and cycles) in
// definition order.
func componentRanks(topo *topology.Topology) map[string]int {
	rank := map[string]int{}
	if topo == nil {
		return rank
	}
	for _, c := range topo.Components {
		if c.Kind == topology.KindSpout {
			rank[c.ID] = len(rank)
		}
	}
	for len(rank) < len(topo.Components) {
		progressed := false
		for _, c := range topo.Components {
			if _, done := rank[c.ID]; done {
				continue
			}
			ready := true
			for _, in := range c.Inputs {
				if _, done := rank[in.From]; !done && in.From != c.ID && known(topo, in.From) {
					ready = false
					break
				}
			}
			if ready {
				rank[c.ID] = len(rank)
				progressed = true
			}
		}
		if !progressed { // a cycle: the rest in definition order
			for _, c := range topo.Components {
				if _, done := rank[c.ID]; !done {
					rank[c.ID] = len(rank)
				}
			}
		}
	}
	return rank
}

func known(topo *topology.Topology, id string) bool {
	return slices.ContainsFunc(topo.Components, func(c *topology.Component) bool { return c.ID == id })
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

// Write prints log lines and component output: above the live table on a
// terminal, whole lines only.
func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.live {
		return p.w.Write(b)
	}
	data := b
	if len(p.partial) > 0 {
		data = append(p.partial, b...)
	}
	end := bytes.LastIndexByte(data, '\n') + 1
	p.partial = append(p.partial[:0:0], data[end:]...)
	if end == 0 {
		return len(b), nil
	}
	var out bytes.Buffer
	p.clear(&out)
	out.Write(data[:end])
	out.Write(p.table)
	// One write: the terminal gets the erase, the lines and the table
	// together.
	_, err := p.w.Write(out.Bytes())
	return len(b), err
}

// flushPartial prints a line left without its end.
func (p *progress) flushPartial() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.partial) == 0 {
		return
	}
	var out bytes.Buffer
	p.clear(&out)
	out.Write(p.partial)
	out.WriteByte('\n')
	out.Write(p.table)
	p.partial = nil
	p.w.Write(out.Bytes())
}

// notice prints a line for the user, above the live table on a terminal.
func (p *progress) notice(msg string) { p.Write([]byte(msg + "\n")) }

// clear erases the table. The cursor is below it, at the start of a line
// unless the terminal echoed something there (^C): hence the carriage
// return first.
func (p *progress) clear(out *bytes.Buffer) {
	if p.drawn > 0 {
		fmt.Fprintf(out, "\r\x1b[%dA\x1b[J", p.drawn)
	} else {
		out.WriteString("\r\x1b[K")
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

// history is what the last updates saw of one component.
type history struct {
	points []point   // oldest first, spanning rateWindow
	rates  []float64 // the rate at each of the last sparkWidth updates
}

// point is a component's cumulative figures at one update.
type point struct {
	at    time.Time
	count int64                     // emitted (spouts) or executed (bolts)
	busy  int64                     // BusyNanos
	lat   metrics.HistogramSnapshot // latency: complete (spouts), execute (bolts)
}

// row is one component's line of the table.
type row struct {
	name, kind                               string
	tasks                                    int
	emitted, executed, acked, failed, errors int64
	rate                                     float64 // per second, over the window
	spark                                    string
	p50, p99                                 time.Duration
	capacity                                 float64
	crashing                                 string // why its children are crash-looping, "" if not
}

// observe records the components' figures at now and returns their rows,
// in display order. crashing maps a component to the reason its children
// are crash-looping.
func (p *progress) observe(stats []worker.ComponentStats, crashing map[string]string, now time.Time) []row {
	var rows []row
	for _, c := range stats {
		t := c.Totals()
		pt := point{at: now, busy: c.BusyNanos}
		if c.Spout {
			pt.count, pt.lat = t.Emitted, t.CompleteHistogram
		} else {
			pt.count, pt.lat = t.Executed, t.ExecuteHistogram
		}
		h := p.hist[c.Component]
		if h == nil {
			h = &history{points: []point{{at: p.start}}}
			p.hist[c.Component] = h
		}
		last := h.points[len(h.points)-1]
		h.rates = append(h.rates, perSecond(pt.count-last.count, now.Sub(last.at)))
		if len(h.rates) > sparkWidth {
			h.rates = h.rates[len(h.rates)-sparkWidth:]
		}
		h.points = append(h.points, pt)
		// Keep one point at or before the window's start.
		for len(h.points) > 2 && !h.points[1].at.After(now.Add(-rateWindow)) {
			h.points = h.points[1:]
		}
		first := h.points[0]
		elapsed := now.Sub(first.at)
		r := row{name: c.Component, kind: "bolt", tasks: c.Tasks, emitted: t.Emitted, executed: t.Executed,
			acked: t.Acked, failed: t.Failed, errors: c.Errors, crashing: crashing[c.Component],
			rate: perSecond(pt.count-first.count, elapsed), spark: sparkline(h.rates)}
		recent := histogramDelta(pt.lat, first.lat)
		r.p50, r.p99 = time.Duration(recent.Quantile(0.5)), time.Duration(recent.Quantile(0.99))
		if c.Spout {
			r.kind = "spout"
		} else if elapsed > 0 {
			r.capacity = float64(pt.busy-first.busy) / (elapsed.Seconds() * 1e9 * float64(max(c.Tasks, 1)))
		}
		rows = append(rows, r)
	}
	p.sort(rows)
	return rows
}

// sort puts rows in the topology's order; components it does not know
// (none, normally) go last, by name.
func (p *progress) sort(rows []row) {
	slices.SortStableFunc(rows, func(a, b row) int {
		ra, oka := p.rank[a.name]
		rb, okb := p.rank[b.name]
		switch {
		case oka && okb:
			return ra - rb
		case oka:
			return -1
		case okb:
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
}

func perSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// histogramDelta returns the samples of now that then had not seen. A
// bucket that shrank (a restarted worker) counts nothing.
func histogramDelta(now, then metrics.HistogramSnapshot) metrics.HistogramSnapshot {
	if then.Count == 0 {
		return now
	}
	seen := make(map[int]int64, len(then.Buckets))
	for _, b := range then.Buckets {
		seen[b.Index] = b.Count
	}
	out := metrics.HistogramSnapshot{Sum: max(now.Sum-then.Sum, 0)}
	for _, b := range now.Buckets {
		if n := b.Count - seen[b.Index]; n > 0 {
			out.Buckets = append(out.Buckets, metrics.Bucket{Index: b.Index, Count: n})
			out.Count += n
		}
	}
	return out
}

// sparkline draws rates as bars scaled to their maximum, oldest first.
func sparkline(rates []float64) string {
	const bars = "▁▂▃▄▅▆▇█"
	levels := []rune(bars)
	peak := slices.Max(append([]float64{0}, rates...))
	var b strings.Builder
	for _, r := range rates {
		i := 0
		if peak > 0 {
			i = min(int(r/peak*float64(len(levels)-1)+0.5), len(levels)-1)
		}
		b.WriteRune(levels[i])
	}
	return b.String()
}

// update shows the statistics now: crashing maps components to the
// reason their children are crash-looping.
func (p *progress) update(stats []worker.ComponentStats, crashing map[string]string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	rows := p.observe(stats, crashing, now)
	up := now.Sub(p.start).Round(time.Second)
	if !p.live {
		fmt.Fprintf(p.w, "%s %s rss=%s\n", up, p.stormID, strings.ReplaceAll(rss(), " ", ""))
		for _, r := range rows {
			fmt.Fprintf(p.w, "%s %s %s emitted=%d executed=%d acked=%d failed=%d rate=%.0f/s p50=%s p99=%s", up, r.name, r.kind,
				r.emitted, r.executed, r.acked, r.failed, r.rate, fmtLatency(r.p50), fmtLatency(r.p99))
			if r.kind == "bolt" {
				fmt.Fprintf(p.w, " capacity=%.3f", r.capacity)
				if r.capacity >= bottleneck {
					fmt.Fprint(p.w, " bottleneck")
				}
			}
			if r.errors > 0 {
				fmt.Fprintf(p.w, " errors=%d", r.errors)
			}
			if r.crashing != "" {
				fmt.Fprintf(p.w, " crash_looping=%q", r.crashing)
			}
			fmt.Fprintln(p.w)
		}
		return
	}
	width := 0
	if p.columns != nil {
		width = p.columns()
	}
	var b bytes.Buffer
	fit(&b, fmt.Sprintf("%s   up %s   rss %s   (Ctrl-C stops)", p.stormID, up, rss()), width)
	liveTable(&b, rows, width)
	for _, r := range rows {
		if r.crashing != "" {
			fit(&b, fmt.Sprintf("\x1b[1;31m%s is crash-looping\x1b[0m: %s", r.name, r.crashing), width)
		}
		if e, ok := p.lastErr[r.name]; ok {
			fit(&b, fmt.Sprintf("  last error of %s: %s", r.name, e), width)
		}
	}
	var out bytes.Buffer
	p.clear(&out)
	p.table = b.Bytes()
	out.Write(p.table)
	p.w.Write(out.Bytes())
	p.drawn = bytes.Count(p.table, []byte{'\n'})
}

// liveTable writes the live table: rates over the window, totals, a
// sparkline, percentiles, capacity (highlighted from bottleneck on) and
// the crash-looping flag.
func liveTable(b *bytes.Buffer, rows []row, width int) {
	// Capacity comes early: a narrow terminal cuts the columns at the end.
	cells := [][]string{{"component", "kind", "tasks", "rate/s", "total", "capacity", "p50", "p99", "trend", "acked", "failed", "errors"}}
	for _, r := range rows {
		total, capacity := r.executed, "-"
		if r.kind == "spout" {
			total = r.emitted
		} else {
			capacity = fmt.Sprintf("%.3f", r.capacity)
		}
		name := r.name
		if r.crashing != "" {
			name += " !"
		}
		cells = append(cells, []string{name, r.kind, strconv.Itoa(r.tasks), fmt.Sprintf("%.0f", r.rate), strconv.FormatInt(total, 10),
			capacity, fmtLatency(r.p50), fmtLatency(r.p99), r.spark, strconv.FormatInt(r.acked, 10), strconv.FormatInt(r.failed, 10),
			strconv.FormatInt(r.errors, 10)})
	}
	const capCol, trendCol = 5, 8
	widths := make([]int, len(cells[0]))
	for _, line := range cells {
		for i, c := range line {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	for n, line := range cells {
		var s strings.Builder
		capStart, capEnd := 0, 0
		for i, c := range line {
			if i > 0 {
				s.WriteString("  ")
			}
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			if i == capCol {
				capStart = utf8.RuneCountInString(s.String())
			}
			if i < 2 || i == trendCol { // names and the sparkline to the left
				s.WriteString(c + pad)
			} else {
				s.WriteString(pad + c)
			}
			if i == capCol {
				capEnd = utf8.RuneCountInString(s.String())
			}
		}
		text := []rune(strings.TrimRight(s.String(), " "))
		if width > 0 && len(text) > width-1 {
			text = text[:width-1]
		}
		hot := n > 0 && rows[n-1].kind == "bolt" && rows[n-1].capacity >= bottleneck
		if hot && capStart < len(text) {
			capEnd = min(capEnd, len(text))
			b.WriteString(string(text[:capStart]) + "\x1b[1;41;97m" + string(text[capStart:capEnd]) + "\x1b[0m" + string(text[capEnd:]))
		} else {
			b.WriteString(string(text))
		}
		b.WriteByte('\n')
	}
}

// fit writes a line cut to the terminal's width (escape sequences do not
// count; one is cut off only with what follows it).
func fit(b *bytes.Buffer, line string, width int) {
	if width <= 0 {
		b.WriteString(line + "\n")
		return
	}
	visible, inEscape := 0, false
	for i, r := range line {
		switch {
		case inEscape:
			inEscape = !(r >= '@' && r <= '~' && r != '[')
		case r == '\x1b':
			inEscape = true
		default:
			visible++
			if visible > width-1 {
				b.WriteString(line[:i] + "\x1b[0m\n")
				return
			}
		}
	}
	b.WriteString(line + "\n")
}

// summary prints the totals of a finished run, with rates over the whole
// run, the errors and the metrics the tasks recorded.
func (p *progress) summary(w io.Writer, stats []worker.ComponentStats, errs map[string][]worker.ErrorReport, metrics []worker.UserMetric) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if p.live {
		var out bytes.Buffer
		p.clear(&out)
		p.w.Write(out.Bytes())
		p.drawn, p.table = 0, nil
	}
	fmt.Fprintf(w, "%s ran for %s\n", p.stormID, now.Sub(p.start).Round(time.Millisecond))
	rows := make([]row, 0, len(stats))
	secs := max(now.Sub(p.start).Seconds(), 1e-9)
	for _, c := range stats {
		t := c.Totals()
		r := row{name: c.Component, kind: "bolt", tasks: c.Tasks, emitted: t.Emitted, executed: t.Executed,
			acked: t.Acked, failed: t.Failed, errors: c.Errors}
		if c.Spout {
			r.kind, r.rate = "spout", float64(t.Emitted)/secs
			r.p50, r.p99 = t.CompletePercentile(0.5), t.CompletePercentile(0.99)
		} else {
			r.rate = float64(t.Executed) / secs
			r.capacity = float64(c.BusyNanos) / (secs * 1e9 * float64(max(c.Tasks, 1)))
			r.p50, r.p99 = t.ExecutePercentile(0.5), t.ExecutePercentile(0.99)
		}
		rows = append(rows, r)
	}
	p.sort(rows)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "component\tkind\ttasks\temitted\texecuted\tacked\tfailed\tavg/s\tp50\tp99\tcapacity\terrors\t\n")
	for _, r := range rows {
		capacity := "-"
		if r.kind == "bolt" {
			capacity = fmt.Sprintf("%.3f", r.capacity)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%.0f\t%s\t%s\t%s\t%d\t\n", r.name, r.kind, r.tasks, r.emitted, r.executed,
			r.acked, r.failed, r.rate, fmtLatency(r.p50), fmtLatency(r.p99), capacity, r.errors)
	}
	tw.Flush()
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

// fmtLatency shows a latency with three significant digits in a unit
// that suits it: 850ns, 12.4µs, 27.3ms, 1.27s.
func fmtLatency(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < time.Microsecond:
		return strconv.FormatInt(int64(d), 10) + "ns"
	case d < time.Millisecond:
		return threeDigits(float64(d)/1e3) + "µs"
	case d < time.Second:
		return threeDigits(float64(d)/1e6) + "ms"
	}
	return threeDigits(d.Seconds()) + "s"
}

func threeDigits(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
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
