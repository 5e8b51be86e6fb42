package prom

import (
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/squallstream/squall/metrics"
)

var t0 = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

// wordCount returns a registry of a spout task and two bolt tasks.
func wordCount(t *testing.T) *metrics.Registry {
	t.Helper()
	r := metrics.NewRegistry(metrics.Config{Topology: "wc-1-1"}, t0)
	spout := r.Task("sentences", 1)
	spout.Counter(metrics.Emitted, "default").Add(100)
	spout.Counter(metrics.Acked, "default").Add(90)
	spout.Histogram(metrics.CompleteLatency, "default").ObserveDuration(3 * time.Millisecond)
	for task, n := range map[int]int64{2: 60, 3: 40} {
		split := r.Task("split", task)
		split.Counter(metrics.Executed, "sentences:default").Add(n)
		lat := split.Histogram(metrics.ExecuteLatency, "sentences:default")
		for range n {
			lat.ObserveDuration(4 * time.Second) // 4s x n over 10 minutes
		}
		split.Gauge(metrics.ReceiveQueuePopulation, "").Set(float64(n))
		split.GaugeFunc(metrics.ChildRSS, "", func() float64 { return 1 << 20 })
		split.CounterFunc(metrics.ChildCPUTime, "", func() int64 { return int64(1500 * time.Millisecond) })
		if err := split.Record("words", n); err != nil {
			t.Fatal(err)
		}
		if err := split.Record("sentence-length", map[string]any{"type": "histogram", "values": []any{3.0, 40.0}}); err != nil {
			t.Fatal(err)
		}
		if err := split.Record("lag", map[string]any{"type": "gauge", "value": 2.5}); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// scrape serves c at /metrics and parses what a scraper gets.
func scrape(t *testing.T, g prometheus.Gatherer) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(Handler(g))
	t.Cleanup(srv.Close)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse exposition: %v", err)
	}
	return families
}

func gatherer(t *testing.T, c prometheus.Collector) prometheus.Gatherer {
	t.Helper()
	reg := prometheus.NewRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	return reg
}

// find returns the metric of family name whose labels include want.
func find(t *testing.T, families map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	t.Helper()
	f := families[name]
	if f == nil {
		t.Fatalf("no family %s; have %v", name, keys(families))
	}
	var found []*dto.Metric
	for _, m := range f.Metric {
		ok := true
		for k, v := range want {
			if label(m, k) != v {
				ok = false
			}
		}
		if ok {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d series of %s with %v, want 1: %v", len(found), name, want, f.Metric)
	}
	return found[0]
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.Label {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func hasLabel(m *dto.Metric, name string) bool {
	for _, l := range m.Label {
		if l.GetName() == name {
			return true
		}
	}
	return false
}

func keys(m map[string]*dto.MetricFamily) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestCollectorPerTask(t *testing.T) {
	c := NewCollector(wordCount(t), Options{Host: "node1", Port: 6700, PerTask: true, Now: func() time.Time { return t0.Add(10 * time.Minute) }})
	fams := scrape(t, gatherer(t, c))

	emitted := find(t, fams, "squall_emitted_total", map[string]string{"component": "sentences", "stream": "default"})
	if emitted.GetCounter().GetValue() != 100 || fams["squall_emitted_total"].GetType() != dto.MetricType_COUNTER {
		t.Errorf("emitted = %v", emitted)
	}
	for k, v := range map[string]string{"topology": "wc-1-1", "component": "sentences", "task": "1", "stream": "default", "host": "node1", "port": "6700"} {
		if label(emitted, k) != v {
			t.Errorf("emitted label %s = %q, want %q", k, label(emitted, k), v)
		}
	}

	exec := find(t, fams, "squall_execute_latency_seconds", map[string]string{"task": "2"})
	h := exec.GetHistogram()
	if h.GetSampleCount() != 60 || math.Abs(h.GetSampleSum()-240) > 1e-6 {
		t.Errorf("execute latency count %d sum %v, want 60 and 240s", h.GetSampleCount(), h.GetSampleSum())
	}
	for _, b := range h.GetBucket() {
		want := uint64(0)
		if b.GetUpperBound() >= 4 {
			want = 60
		}
		if b.GetCumulativeCount() != want {
			t.Errorf("bucket le=%v holds %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want)
		}
	}
	if len(h.GetBucket()) != len(DefaultLatencyBuckets)+1 { // and +Inf
		t.Errorf("%d buckets, want %d", len(h.GetBucket()), len(DefaultLatencyBuckets)+1)
	}

	// 60 x 4s in 10 minutes: 0.4 busy; 40 x 4s: 0.27.
	if got := find(t, fams, "squall_capacity", map[string]string{"task": "2"}).GetGauge().GetValue(); math.Abs(got-0.4) > 1e-9 {
		t.Errorf("capacity of task 2 = %v, want 0.4", got)
	}
	for _, m := range fams["squall_capacity"].Metric {
		if label(m, "component") == "sentences" {
			t.Errorf("a spout has a capacity: %v", m)
		}
	}
	if got := find(t, fams, "squall_child_cpu_time_seconds_total", map[string]string{"task": "3"}).GetCounter().GetValue(); got != 1.5 {
		t.Errorf("child cpu = %v, want 1.5", got)
	}
	rss := find(t, fams, "squall_child_rss_bytes", map[string]string{"task": "3"})
	if rss.GetGauge().GetValue() != 1<<20 || hasLabel(rss, "stream") {
		t.Errorf("child rss = %v, want 1MiB and no stream label", rss)
	}
	if got := find(t, fams, "squall_receive_queue_population", map[string]string{"task": "3"}).GetGauge().GetValue(); got != 40 {
		t.Errorf("queue population = %v, want 40", got)
	}

	words := find(t, fams, "squall_user_counter_total", map[string]string{"task": "2", "metric": "words"})
	if words.GetCounter().GetValue() != 60 {
		t.Errorf("user counter = %v, want 60", words)
	}
	length := find(t, fams, "squall_user_histogram", map[string]string{"task": "2", "metric": "sentence-length"}).GetHistogram()
	if length.GetSampleCount() != 2 || length.GetSampleSum() != 43 {
		t.Errorf("user histogram %v, want 2 values summing to 43", length)
	}
	if got := find(t, fams, "squall_user_gauge", map[string]string{"task": "3", "metric": "lag"}).GetGauge().GetValue(); got != 2.5 {
		t.Errorf("user gauge = %v, want 2.5", got)
	}
}

func TestCollectorPerComponent(t *testing.T) {
	c := NewCollector(wordCount(t), Options{Host: "node1", Port: 6700, Now: func() time.Time { return t0.Add(10 * time.Minute) }})
	fams := scrape(t, gatherer(t, c))
	for name, f := range fams {
		for _, m := range f.Metric {
			if hasLabel(m, "task") {
				t.Errorf("%s has a task label with per-task series off: %v", name, m)
			}
		}
	}
	executed := find(t, fams, "squall_executed_total", map[string]string{"component": "split"})
	if executed.GetCounter().GetValue() != 100 {
		t.Errorf("split executed = %v, want 60 + 40", executed)
	}
	if got := find(t, fams, "squall_capacity", map[string]string{"component": "split"}).GetGauge().GetValue(); math.Abs(got-0.4) > 1e-9 {
		t.Errorf("split capacity = %v, want the larger of 0.4 and 0.27", got)
	}
	if got := find(t, fams, "squall_execute_latency_seconds", map[string]string{"component": "split"}).GetHistogram().GetSampleCount(); got != 100 {
		t.Errorf("split latency count = %d, want 100", got)
	}
	if got := find(t, fams, "squall_user_gauge", map[string]string{"component": "split", "metric": "lag"}).GetGauge().GetValue(); got != 5 {
		t.Errorf("split lag = %v, want 2.5 + 2.5", got)
	}
	if n := len(fams["squall_emitted_total"].Metric); n != 1 {
		t.Errorf("%d emitted series, want 1", n)
	}
}

func TestFamilyNames(t *testing.T) {
	want := map[string]string{
		metrics.Emitted:                "squall_emitted_total",
		metrics.CompleteLatency:        "squall_complete_latency_seconds",
		metrics.ReceiveQueuePopulation: "squall_receive_queue_population",
		metrics.BackpressureTime:       "squall_backpressure_time_seconds_total",
		metrics.ChildRSS:               "squall_child_rss_bytes",
		metrics.ChildRestarts:          "squall_child_restarts_total",
	}
	for name, family := range want {
		b, _ := metrics.LookupBuiltin(name)
		if got := FamilyName(b); got != family {
			t.Errorf("FamilyName(%s) = %q, want %q", name, got, family)
		}
	}
	seen := map[string]string{}
	for _, b := range metrics.Builtins {
		f := FamilyName(b)
		if !model.LegacyValidation.IsValidMetricName(f) {
			t.Errorf("family %q is not a valid metric name", f)
		}
		if other, ok := seen[f]; ok {
			t.Errorf("%s and %s share family %s", b.Name, other, f)
		}
		seen[f] = b.Name
	}
}

// TestUserNamesCannotBreakTheExposition records user metrics whose names
// would be invalid or clashing Prometheus names.
func TestUserNamesCannotBreakTheExposition(t *testing.T) {
	r := metrics.NewRegistry(metrics.Config{Topology: "t"}, t0)
	task := r.Task("c", 1)
	for _, name := range []string{`a"b`, "a b", "x\\y", "日本語", "squall_emitted_total", "le"} {
		if err := task.Record(name, 1); err != nil {
			t.Fatal(err)
		}
	}
	fams := scrape(t, gatherer(t, NewCollector(r, Options{PerTask: true})))
	if n := len(fams["squall_user_counter_total"].Metric); n != 6 {
		t.Errorf("%d user counters, want 6", n)
	}
	find(t, fams, "squall_user_counter_total", map[string]string{"metric": `a"b`})
}

func TestRemote(t *testing.T) {
	// Two workers on loopback, served as one.
	w1 := httptest.NewServer(Handler(gatherer(t, NewCollector(wordCount(t), Options{Host: "node1", Port: 6700, PerTask: true}))))
	t.Cleanup(w1.Close)
	w2 := httptest.NewServer(Handler(gatherer(t, NewCollector(wordCount(t), Options{Host: "node1", Port: 6701, PerTask: true}))))
	t.Cleanup(w2.Close)
	fams := scrape(t, prometheus.Gatherers{Remote{URL: w1.URL}, Remote{URL: w2.URL}})
	for _, port := range []string{"6700", "6701"} {
		m := find(t, fams, "squall_emitted_total", map[string]string{"port": port})
		if m.GetCounter().GetValue() != 100 {
			t.Errorf("port %s emitted %v", port, m)
		}
		if h := find(t, fams, "squall_complete_latency_seconds", map[string]string{"port": port}).GetHistogram(); h.GetSampleCount() != 1 {
			t.Errorf("port %s complete latency %v", port, h)
		}
	}
}

func TestRemoteRefuses(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"status", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "no", http.StatusServiceUnavailable) }},
		{"content type", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<html>"))
		}},
		{"malformed", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			w.Write([]byte("# TYPE x counter\nx{ 1\n"))
		}},
		{"too large", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			line := []byte("# a comment line that goes on and on " + strings.Repeat("x", 4000) + "\n")
			for written := 0; written <= 1<<20; written += len(line) {
				if _, err := w.Write(line); err != nil {
					return
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			t.Cleanup(srv.Close)
			if _, err := (Remote{URL: srv.URL, MaxBytes: 1 << 20}).Gather(); err == nil || !strings.Contains(err.Error(), srv.URL) {
				t.Errorf("Gather = %v, want an error naming the URL", err)
			}
		})
	}
	if _, err := (Remote{URL: "http://127.0.0.1:1/metrics"}).Gather(); err == nil {
		t.Errorf("Gather of a closed port succeeded")
	}
}

func BenchmarkScrape(b *testing.B) {
	r := metrics.NewRegistry(metrics.Config{Topology: "t"}, t0)
	for task := range 20 {
		tk := r.Task("bolt", task)
		for _, s := range []string{"a:default", "b:default"} {
			tk.Counter(metrics.Executed, s).Add(10)
			tk.Histogram(metrics.ExecuteLatency, s).ObserveDuration(time.Millisecond)
		}
	}
	g := prometheus.NewRegistry()
	g.MustRegister(NewCollector(r, Options{PerTask: true}))
	for b.Loop() {
		if _, err := g.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDashboardFamilies keeps docs/grafana-squall.json in step with the
// families the collector writes.
func TestDashboardFamilies(t *testing.T) {
	b, err := os.ReadFile("../../docs/grafana-squall.json")
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{"squall_capacity": true, "squall_user_counter_total": true, "squall_user_gauge": true, "squall_user_histogram": true}
	for _, bi := range metrics.Builtins {
		known[FamilyName(bi)] = true
	}
	used := regexp.MustCompile(`squall_[a-z_]+`).FindAllString(string(b), -1)
	if len(used) < 10 {
		t.Fatalf("the dashboard uses %d squall families", len(used))
	}
	for _, name := range used {
		base := name
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if trimmed, ok := strings.CutSuffix(name, suffix); ok && known[trimmed] {
				base = trimmed
			}
		}
		if !known[base] {
			t.Errorf("the dashboard uses %s, which the collector does not write", name)
		}
	}
}
