package metrics

import (
	"cmp"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// DefaultMaxUserMetrics is how many user metric names a task may have
// unless Config says otherwise.
const DefaultMaxUserMetrics = 100

// KeyMaxUserMetrics (squall's) sets how many user metric names a task of
// the topology may have; 0 allows none.
const KeyMaxUserMetrics = "topology.user.metrics.max.names"

// MaxUserMetricsFrom reads KeyMaxUserMetrics from a topology's
// configuration, as Config.MaxUserMetrics takes it.
func MaxUserMetricsFrom(conf map[string]any) (int, error) {
	v, ok := conf[KeyMaxUserMetrics]
	if !ok || v == nil {
		return DefaultMaxUserMetrics, nil
	}
	n, ok := number(v)
	if !ok || n < 0 || n != float64(int(n)) || n > 100000 {
		return 0, fmt.Errorf("%w: %s: %s: want a whole number from 0 to 100000", ErrReporterConfig, KeyMaxUserMetrics, describe(v))
	}
	if n == 0 {
		return -1, nil
	}
	return int(n), nil
}

// Config configures a Registry.
type Config struct {
	// Topology is the topology id (storm id) the registry's tasks belong
	// to, for log lines and reports.
	Topology string
	// MaxUserMetrics bounds the user metric names of one task; 0 means
	// DefaultMaxUserMetrics, a negative value allows none.
	MaxUserMetrics int
	// Logger receives the warnings about user metrics; nil discards them.
	Logger *slog.Logger
}

// Registry holds the metrics of a worker's tasks. Its methods are safe for
// concurrent use.
type Registry struct {
	topology string
	maxUser  int
	log      *slog.Logger
	start    time.Time

	mu sync.Mutex
	// The following fields are guarded by mu, and so is every series'
	// rolling state.
	tasks map[int]*Task
	clock rollClock
}

// NewRegistry returns an empty registry whose windows start at now.
func NewRegistry(cfg Config, now time.Time) *Registry {
	r := &Registry{
		topology: cfg.Topology,
		maxUser:  cfg.MaxUserMetrics,
		log:      cfg.Logger,
		start:    now,
		tasks:    map[int]*Task{},
		clock:    newRollClock(now),
	}
	if r.maxUser == 0 {
		r.maxUser = DefaultMaxUserMetrics
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	return r
}

// Topology returns the topology id the registry was configured with.
func (r *Registry) Topology() string { return r.topology }

// Task returns the metrics of a task of component, creating them on first
// use. A task id names one component; asking again with another component
// returns the task as first created.
func (r *Registry) Task(component string, id int) *Task {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.tasks[id]
	if t == nil {
		t = &Task{reg: r, component: component, id: id, series: map[seriesKey]*series{}}
		r.tasks[id] = t
	}
	return t
}

// sortedTasks returns the tasks in order of their id; mu is held.
func (r *Registry) sortedTasks() []*Task {
	ts := make([]*Task, 0, len(r.tasks))
	for _, t := range r.tasks {
		ts = append(ts, t)
	}
	slices.SortFunc(ts, func(a, b *Task) int { return cmp.Compare(a.id, b.id) })
	return ts
}

// Roll moves what every series recorded since the last roll into the
// rolling buckets, at now. Call it at least every RollInterval (Snapshot
// rolls too).
func (r *Registry) Roll(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.roll(now)
}

// roll is Roll with mu held.
func (r *Registry) roll(now time.Time) {
	r.clock.advance(now)
	for _, t := range r.tasks {
		for _, s := range t.list() {
			if s.kind != KindGauge {
				s.roll.roll(&r.clock, s.cumulative())
			}
			if s.hw != nil {
				s.hw.roll(&r.clock, s.hist)
			}
		}
	}
	r.clock.finish()
}

// Snapshot rolls the buckets at now and returns every task's series in
// every window, one Snapshot per task in order of task id.
func (r *Registry) Snapshot(now time.Time) []Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.roll(now)
	uptime := int64(max(now.Sub(r.start), 0) / time.Second)
	tasks := r.sortedTasks()
	out := make([]Snapshot, 0, len(tasks))
	for _, t := range tasks {
		snap := Snapshot{Component: t.component, FirstTask: t.id, LastTask: t.id, UptimeSecs: uptime}
		list := t.list()
		snap.Series = make([]Series, 0, len(list))
		for _, s := range list {
			snap.Series = append(snap.Series, s.read(&r.clock, now))
		}
		slices.SortFunc(snap.Series, compareSeries)
		out = append(out, snap)
	}
	return out
}

// Task holds one task's metrics. Its methods are safe for concurrent use.
type Task struct {
	reg       *Registry
	component string
	id        int

	mu sync.Mutex
	// The following fields are guarded by mu.
	series map[seriesKey]*series
	// order holds the series in the order they were created.
	order []*series
	// users counts the user series.
	users int
	// warnedDropped and warnedRejected say the one warning about each was
	// logged.
	warnedDropped, warnedRejected bool
}

// Component returns the task's component id.
func (t *Task) Component() string { return t.component }

// ID returns the task id.
func (t *Task) ID() int { return t.id }

type seriesKey struct {
	name, stream string
	user         bool
}

// series is one metric of a task on one stream: exactly one of its
// recorders is set.
type series struct {
	key       seriesKey
	kind      Kind
	counter   *Counter
	gauge     *Gauge
	hist      *Histogram
	counterFn func() int64
	gaugeFn   func() float64
	// roll and hw (built-in histograms: histwindow.go) are guarded by
	// Registry.mu.
	roll rolling
	hw   *histWindows
}

// list returns the task's series.
func (t *Task) list() []*series {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.order)
}

// get returns the series of key, creating it with mk if there is none.
func (t *Task) get(key seriesKey, kind Kind, mk func(*series)) *series {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.series[key]; s != nil {
		return s
	}
	s := &series{key: key, kind: kind}
	mk(s)
	t.series[key] = s
	t.order = append(t.order, s)
	return s
}

// Counter returns the built-in counter name on stream ("" for a metric of
// the task), creating it on first use. name must be a built-in counter's
// (see Builtins).
func (t *Task) Counter(name, stream string) *Counter {
	builtin(name, KindCounter)
	s := t.get(seriesKey{name: name, stream: stream}, KindCounter, func(s *series) { s.counter = new(Counter) })
	if s.counter == nil {
		panic("metrics: " + name + " is registered as a counter function")
	}
	return s.counter
}

// CounterFunc registers f as the built-in counter name on stream: f is
// called, from any goroutine, whenever the registry reads the counter, and
// must never return less than it returned before. A second registration
// of the same counter is ignored.
func (t *Task) CounterFunc(name, stream string, f func() int64) {
	builtin(name, KindCounter)
	t.get(seriesKey{name: name, stream: stream}, KindCounter, func(s *series) { s.counterFn = f })
}

// Gauge returns the built-in gauge name on stream, creating it on first
// use.
func (t *Task) Gauge(name, stream string) *Gauge {
	builtin(name, KindGauge)
	s := t.get(seriesKey{name: name, stream: stream}, KindGauge, func(s *series) { s.gauge = new(Gauge) })
	if s.gauge == nil {
		panic("metrics: " + name + " is registered as a gauge function")
	}
	return s.gauge
}

// GaugeFunc registers f as the built-in gauge name on stream: f is called,
// from any goroutine, whenever the registry reads the gauge. A second
// registration of the same gauge is ignored.
func (t *Task) GaugeFunc(name, stream string, f func() float64) {
	builtin(name, KindGauge)
	t.get(seriesKey{name: name, stream: stream}, KindGauge, func(s *series) { s.gaugeFn = f })
}

// Histogram returns the built-in histogram name on stream, creating it on
// first use.
func (t *Task) Histogram(name, stream string) *Histogram {
	builtin(name, KindHistogram)
	return t.get(seriesKey{name: name, stream: stream}, KindHistogram, func(s *series) {
		s.hist, s.hw = new(Histogram), new(histWindows)
	}).hist
}

// cumulative returns what a counter or histogram has recorded so far.
func (s *series) cumulative() cell {
	switch {
	case s.counter != nil:
		return cell{n: s.counter.Value()}
	case s.counterFn != nil:
		return cell{n: s.counterFn()}
	case s.hist != nil:
		return cell{n: s.hist.Count(), sum: s.hist.Sum()}
	}
	return cell{}
}

// read returns the series in every window; Registry.mu is held.
func (s *series) read(c *rollClock, now time.Time) Series {
	out := Series{Name: s.key.name, Stream: s.key.stream, User: s.key.user, Kind: s.kind}
	switch s.kind {
	case KindGauge:
		if s.gaugeFn != nil {
			out.Value = s.gaugeFn()
		} else {
			out.Value = s.gauge.Value()
		}
	case KindCounter:
		out.Counts, _ = s.roll.read(c, now, s.cumulative(), true)
	case KindHistogram:
		// Read the buckets first and take count and sum from them, so
		// that the windows' all-time figures agree with the buckets.
		h := s.hist.Snapshot()
		if h.Count > 0 {
			out.Histogram = &h
		}
		out.Counts, out.Sums = s.roll.read(c, now, cell{n: h.Count, sum: h.Sum}, false)
		if s.hw != nil {
			out.Windowed = s.hw.read(c, now, h)
		}
	}
	return out
}
