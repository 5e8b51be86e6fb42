package metrics

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

func newTestRegistry(t *testing.T, maxUser int) (*Registry, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	r := NewRegistry(Config{Topology: "wc-1-1", MaxUserMetrics: maxUser, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, t0)
	return r, &logs
}

func TestRegistrySnapshot(t *testing.T) {
	r, _ := newTestRegistry(t, 0)
	split := r.Task("split", 5)
	split.Counter(Emitted, "default").Add(30)
	split.Counter(Transferred, "default").Add(60)
	split.Counter(Executed, "spout:default").Add(10)
	split.Histogram(ExecuteLatency, "spout:default").ObserveDuration(2 * time.Millisecond)
	split.Gauge(ReceiveQueuePopulation, "").Set(7)
	split.GaugeFunc(ChildRSS, "", func() float64 { return 1 << 20 })
	split.CounterFunc(ChildCPUTime, "", func() int64 { return int64(3 * time.Second) })
	if err := split.Record("words", 4); err != nil {
		t.Fatal(err)
	}
	r.Task("spout", 9).Counter(Emitted, "default").Inc()

	snaps := r.Snapshot(t0.Add(5 * time.Minute))
	if len(snaps) != 2 || snaps[0].FirstTask != 5 || snaps[1].FirstTask != 9 {
		t.Fatalf("snapshots %+v, want tasks 5 and 9 in order", snaps)
	}
	s := snaps[0]
	if s.Component != "split" || s.LastTask != 5 || s.UptimeSecs != 300 {
		t.Errorf("snapshot head %+v", s)
	}
	tests := []struct {
		name, stream string
		user         bool
		counts       Counts
		value        float64
	}{
		{Emitted, "default", false, Counts{30, 30, 30, 30}, 0},
		{Transferred, "default", false, Counts{60, 60, 60, 60}, 0},
		{Executed, "spout:default", false, Counts{10, 10, 10, 10}, 0},
		{ExecuteLatency, "spout:default", false, Counts{1, 1, 1, 1}, 0},
		{ReceiveQueuePopulation, "", false, Counts{}, 7},
		{ChildRSS, "", false, Counts{}, 1 << 20},
		{ChildCPUTime, "", false, Counts{3e9, 3e9, 3e9, 3e9}, 0},
		{"words", "", true, Counts{4, 4, 4, 4}, 0},
	}
	for _, tt := range tests {
		got, ok := s.Find(tt.name, tt.stream, tt.user)
		if !ok || got.Counts != tt.counts || got.Value != tt.value {
			t.Errorf("Find(%q, %q, %v) = %+v, %v; want counts %v value %v", tt.name, tt.stream, tt.user, got, ok, tt.counts, tt.value)
		}
	}
	lat, _ := s.Find(ExecuteLatency, "spout:default", false)
	if lat.Mean(Window10m) != float64(2*time.Millisecond) || lat.Histogram == nil || lat.Histogram.Count != 1 {
		t.Errorf("execute latency %+v, want one 2ms value with its buckets", lat)
	}
	if len(s.Series) != len(tests) {
		t.Errorf("%d series, want %d", len(s.Series), len(tests))
	}
}

// TestRegistryWindows drives a registry as a worker does, rolling every
// few seconds, and reads windows that differ.
func TestRegistryWindows(t *testing.T) {
	r, _ := newTestRegistry(t, 0)
	c := r.Task("count", 3).Counter(Acked, "split:default")
	now := t0
	for now.Sub(t0) < 2*time.Hour {
		c.Add(10) // 10 every 5 seconds: 1200 per 10 minutes
		now = now.Add(5 * time.Second)
		r.Roll(now)
	}
	got, _ := r.Snapshot(now)[0].Find(Acked, "split:default", false)
	if want := (Counts{1200, 14400, 14400, 14400}); got.Counts != want {
		t.Errorf("counts after 2h = %v, want %v", got.Counts, want)
	}
}

func TestBuiltinMisuse(t *testing.T) {
	r, _ := newTestRegistry(t, 0)
	task := r.Task("split", 1)
	tests := []struct {
		name string
		f    func()
	}{
		{"unknown name", func() { task.Counter("emited", "default") }},
		{"wrong kind", func() { task.Gauge(Emitted, "default") }},
		{"counter over a counter function", func() {
			task.CounterFunc(ChildRestarts, "", func() int64 { return 0 })
			task.Counter(ChildRestarts, "")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("no panic")
				}
			}()
			tt.f()
		})
	}
}

func TestRecord(t *testing.T) {
	tests := []struct {
		name   string
		params []any // applied in order
		kind   Kind
		counts Counts
		sums   Sums
		value  float64
	}{
		{"null counts one", []any{nil, nil}, KindCounter, Counts{2, 2, 2, 2}, Sums{}, 0},
		{"integer", []any{int64(3), 4.0, json.Number("5")}, KindCounter, Counts{12, 12, 12, 12}, Sums{}, 0},
		{"counter object", []any{map[string]any{"type": "counter"}, map[string]any{"type": "counter", "value": int64(9)}}, KindCounter, Counts{10, 10, 10, 10}, Sums{}, 0},
		{"gauge", []any{map[string]any{"type": "gauge", "value": 2.5}, map[string]any{"type": "gauge", "value": int64(-4)}}, KindGauge, Counts{}, Sums{}, -4},
		{"histogram value", []any{map[string]any{"type": "histogram", "value": 0.25}}, KindHistogram, Counts{1, 1, 1, 1}, Sums{0.25, 0.25, 0.25, 0.25}, 0},
		{"histogram values", []any{map[string]any{"type": "histogram", "values": []any{1.0, int64(2), uint8(3)}}}, KindHistogram, Counts{3, 3, 3, 3}, Sums{6, 6, 6, 6}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, logs := newTestRegistry(t, 0)
			task := r.Task("bolt", 2)
			for _, p := range tt.params {
				if err := task.Record("m", p); err != nil {
					t.Fatalf("Record(%v) = %v", p, err)
				}
			}
			got, ok := r.Snapshot(t0.Add(time.Second))[0].Find("m", "", true)
			if !ok || got.Kind != tt.kind || got.Counts != tt.counts || got.Sums != tt.sums || got.Value != tt.value {
				t.Errorf("series %+v, want kind %v counts %v sums %v value %v", got, tt.kind, tt.counts, tt.sums, tt.value)
			}
			if logs.Len() != 0 {
				t.Errorf("logged %q", logs)
			}
		})
	}
}

func TestRecordRefused(t *testing.T) {
	long := strings.Repeat("x", MaxNameBytes+1)
	tests := []struct {
		name   string
		metric string
		params any
		want   error
	}{
		{"empty name", "", 1, ErrBadName},
		{"long name", long, 1, ErrBadName},
		{"control character", "a\nb", 1, ErrBadName},
		{"invalid UTF-8", "a\xffb", 1, ErrBadName},
		{"string", "m", "1", ErrBadParams},
		{"bool", "m", true, ErrBadParams},
		{"list", "m", []any{1}, ErrBadParams},
		{"negative count", "m", int64(-1), ErrBadParams},
		{"fractional count", "m", 0.5, ErrBadParams},
		{"huge count", "m", 1e30, ErrBadParams},
		{"unknown type", "m", map[string]any{"type": "meter", "value": 1}, ErrBadParams},
		{"no type", "m", map[string]any{"value": 1}, ErrBadParams},
		{"unknown key", "m", map[string]any{"type": "gauge", "value": 1, "unit": "ms"}, ErrBadParams},
		{"gauge without value", "m", map[string]any{"type": "gauge"}, ErrBadParams},
		{"gauge string", "m", map[string]any{"type": "gauge", "value": "3"}, ErrBadParams},
		{"histogram negative", "m", map[string]any{"type": "histogram", "value": -1.0}, ErrBadParams},
		{"histogram both", "m", map[string]any{"type": "histogram", "value": 1.0, "values": []any{1.0}}, ErrBadParams},
		{"histogram neither", "m", map[string]any{"type": "histogram"}, ErrBadParams},
		{"histogram bad element", "m", map[string]any{"type": "histogram", "values": []any{1.0, "x"}}, ErrBadParams},
		{"histogram batch too big", "m", map[string]any{"type": "histogram", "values": make([]any, MaxHistogramBatch+1)}, ErrBadParams},
		{"counter as gauge", "c", map[string]any{"type": "gauge", "value": 1}, ErrKindMismatch},
		{"gauge as counter", "g", 1, ErrKindMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, logs := newTestRegistry(t, 0)
			task := r.Task("bolt", 2)
			if err := task.Record("c", 1); err != nil {
				t.Fatal(err)
			}
			if err := task.Record("g", map[string]any{"type": "gauge", "value": 1}); err != nil {
				t.Fatal(err)
			}
			err := task.Record(tt.metric, tt.params)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Record(%q, %v) = %v, want %v", tt.metric, tt.params, err, tt.want)
			}
			if err := task.Record(tt.metric, tt.params); !errors.Is(err, tt.want) {
				t.Fatalf("second Record = %v, want %v", err, tt.want)
			}
			s := r.Snapshot(t0)[0]
			if got, _ := s.Find(UserMetricsRejected, "", false); got.Counts[WindowAllTime] != 2 {
				t.Errorf("user-metrics-rejected = %v, want 2", got.Counts)
			}
			if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
				t.Errorf("%d warnings, want 1: %s", n, logs)
			}
			if _, ok := s.Find("m", "", true); ok {
				t.Errorf("a refused update registered metric m")
			}
		})
	}
}

func TestRecordCap(t *testing.T) {
	r, logs := newTestRegistry(t, 3)
	task := r.Task("bolt", 2)
	for _, name := range []string{"a", "b", "c"} {
		if err := task.Record(name, 1); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"d", "e", "d"} {
		if err := task.Record(name, 1); !errors.Is(err, ErrTooManyMetrics) {
			t.Errorf("Record(%q) = %v, want ErrTooManyMetrics", name, err)
		}
	}
	if _, err := task.UserHistogram("f"); !errors.Is(err, ErrTooManyMetrics) {
		t.Errorf("UserHistogram past the cap = %v, want ErrTooManyMetrics", err)
	}
	if err := task.Record("a", 1); err != nil {
		t.Errorf("a known metric past the cap: %v", err)
	}
	// Built-in metrics do not count against the cap.
	task.Counter(Emitted, "default").Inc()
	s := r.Snapshot(t0)[0]
	if got, _ := s.Find(UserMetricsDropped, "", false); got.Counts[WindowAllTime] != 4 {
		t.Errorf("user-metrics-dropped = %v, want 4", got.Counts)
	}
	if got, _ := s.Find("a", "", true); got.Counts[WindowAllTime] != 2 {
		t.Errorf("a = %v, want 2", got.Counts)
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Errorf("%d warnings about the cap, want 1: %s", n, logs)
	}
	if !strings.Contains(logs.String(), "limit=3") || !strings.Contains(logs.String(), "task=2") {
		t.Errorf("warning does not name the limit and task: %s", logs)
	}
}

func TestUserMetricsGoAPI(t *testing.T) {
	r, _ := newTestRegistry(t, 0)
	task := r.Task("bolt", 2)
	c, err := task.UserCounter("hits")
	if err != nil {
		t.Fatal(err)
	}
	c.Add(2)
	if err := task.Record("hits", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := task.UserGauge("hits"); !errors.Is(err, ErrKindMismatch) {
		t.Errorf("UserGauge of a counter = %v, want ErrKindMismatch", err)
	}
	// A user metric may share a built-in's name without touching it.
	if err := task.Record(Emitted, 5); err != nil {
		t.Fatal(err)
	}
	task.Counter(Emitted, "").Inc()
	s := r.Snapshot(t0)[0]
	user, _ := s.Find("hits", "", true)
	builtin, _ := s.Find(Emitted, "", false)
	userEmitted, _ := s.Find(Emitted, "", true)
	if user.Counts[WindowAllTime] != 3 || builtin.Counts[WindowAllTime] != 1 || userEmitted.Counts[WindowAllTime] != 5 {
		t.Errorf("hits %v, built-in emitted %v, user emitted %v; want 3, 1, 5", user.Counts, builtin.Counts, userEmitted.Counts)
	}
}

func TestRegistryConcurrent(t *testing.T) {
	r, _ := newTestRegistry(t, 0)
	var wg sync.WaitGroup
	for task := range 4 {
		wg.Go(func() {
			tk := r.Task("bolt", task)
			c := tk.Counter(Executed, "spout:default")
			h := tk.Histogram(ExecuteLatency, "spout:default")
			for i := range 2000 {
				c.Inc()
				h.ObserveDuration(time.Duration(i))
				if i%100 == 0 {
					tk.Record("m", 1)
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 50 {
			r.Snapshot(t0.Add(time.Duration(i) * time.Second))
		}
	})
	wg.Wait()
	for _, s := range r.Snapshot(t0.Add(time.Minute)) {
		if got, _ := s.Find(Executed, "spout:default", false); got.Counts != (Counts{2000, 2000, 2000, 2000}) {
			t.Errorf("task %d executed %v, want 2000 everywhere", s.FirstTask, got.Counts)
		}
	}
}

func BenchmarkRecordMultilang(b *testing.B) {
	r := NewRegistry(Config{}, t0)
	task := r.Task("bolt", 1)
	p := map[string]any{"type": "histogram", "value": 12.5}
	for b.Loop() {
		task.Record("latency", p)
	}
}

func BenchmarkSnapshot(b *testing.B) {
	// A worker of 20 tasks with 3 streams each.
	r := NewRegistry(Config{}, t0)
	for task := range 20 {
		tk := r.Task("bolt", task)
		for _, s := range []string{"a:default", "b:default", "c:default"} {
			tk.Counter(Executed, s).Add(100)
			tk.Counter(Acked, s).Add(100)
			tk.Histogram(ExecuteLatency, s).ObserveDuration(time.Millisecond)
			tk.Histogram(ProcessLatency, s).ObserveDuration(time.Millisecond)
		}
		tk.Counter(Emitted, "default").Add(100)
		tk.Counter(Transferred, "default").Add(100)
	}
	now := t0
	for b.Loop() {
		now = now.Add(time.Second)
		r.Snapshot(now)
	}
}

func TestMaxUserMetricsFrom(t *testing.T) {
	tests := []struct {
		conf map[string]any
		want int
		ok   bool
	}{
		{nil, DefaultMaxUserMetrics, true},
		{map[string]any{KeyMaxUserMetrics: 5}, 5, true},
		{map[string]any{KeyMaxUserMetrics: int64(0)}, -1, true},
		{map[string]any{KeyMaxUserMetrics: -1}, 0, false},
		{map[string]any{KeyMaxUserMetrics: 2.5}, 0, false},
		{map[string]any{KeyMaxUserMetrics: "many"}, 0, false},
	}
	for _, tt := range tests {
		got, err := MaxUserMetricsFrom(tt.conf)
		if (err == nil) != tt.ok || got != tt.want || err != nil && !errors.Is(err, ErrReporterConfig) {
			t.Errorf("MaxUserMetricsFrom(%v) = %d, %v; want %d, ok %v", tt.conf, got, err, tt.want, tt.ok)
		}
	}
	// 0 configured: no user metric at all.
	r := NewRegistry(Config{MaxUserMetrics: -1}, t0)
	if err := r.Task("c", 1).Record("m", 1); !errors.Is(err, ErrTooManyMetrics) {
		t.Errorf("Record with none allowed = %v, want ErrTooManyMetrics", err)
	}
}
