package metrics

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"gopkg.in/yaml.v3"
)

func yamlConf(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestParseReporters(t *testing.T) {
	conf := yamlConf(t, `
topology.builtin.metrics.bucket.size.secs: 30
topology.metrics.reporters:
  - class: "org.apache.storm.metrics2.reporters.ConsoleStormReporter"
    report.period: 10
    report.period.units: "SECONDS"
    locale: "en-US"
    filter:
      class: "org.apache.storm.metrics2.filters.RegexFilter"
      expression: ".*split.*emitted.*"
  - class: console
  - class: log
    report.period: 2
    report.period.units: minutes
  - class: prometheus
    per.task: false
`)
	got, err := ParseReporters(conf)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("%d reporters, want 4", len(got))
	}
	want := []struct {
		kind    ReporterKind
		period  time.Duration
		filter  bool
		perTask bool
	}{
		{ReporterConsole, 10 * time.Second, true, true},
		{ReporterConsole, 30 * time.Second, false, true},
		{ReporterConsole, 2 * time.Minute, false, true},
		{ReporterPrometheus, 30 * time.Second, false, false},
	}
	for i, w := range want {
		g := got[i]
		if g.Kind != w.kind || g.Period != w.period || (g.Filter != nil) != w.filter || g.PerTask != w.perTask {
			t.Errorf("reporter %d = %+v, want %+v", i, g, w)
		}
	}
	name := LongName("wc-1-1", "node1", "split", 5, 6700, "emitted", "default")
	if name != "storm.topology.wc-1-1.node1.split.5.6700-emitted-default" {
		t.Errorf("LongName = %q", name)
	}
	if !got[0].Keep(name) || got[0].Keep(LongName("wc-1-1", "node1", "count", 5, 6700, "emitted", "default")) {
		t.Errorf("filter keeps the wrong names")
	}
	// Storm's filter matches whole names.
	if !got[0].Keep("xsplitxemitted") || mustFilter(t, "split").Keep(name) {
		t.Errorf("filter is not anchored to the whole name")
	}
}

func mustFilter(t *testing.T, expr string) ReporterConfig {
	t.Helper()
	rs, err := ParseReporters(map[string]any{KeyReporters: []any{map[string]any{"class": "console", "filter": map[string]any{"class": "regex", "expression": expr}}}})
	if err != nil {
		t.Fatal(err)
	}
	return rs[0]
}

func TestParseReportersNone(t *testing.T) {
	for _, conf := range []map[string]any{nil, {}, {KeyReporters: nil}} {
		if got, err := ParseReporters(conf); err != nil || len(got) != 0 {
			t.Errorf("ParseReporters(%v) = %v, %v; want none", conf, got, err)
		}
	}
}

func TestParseReportersRefuses(t *testing.T) {
	tests := []struct {
		name string
		conf string
		want string // in the error, which names the entry
	}{
		{"not a list", "topology.metrics.reporters: console", "want a list"},
		{"entry not a map", "topology.metrics.reporters: [console]", "[0]"},
		{"unknown class", "topology.metrics.reporters: [{class: org.apache.storm.metrics2.reporters.GraphiteStormReporter}]", "unknown reporter"},
		{"no class", "topology.metrics.reporters: [{report.period: 10}]", "unknown reporter"},
		{"bad period", "topology.metrics.reporters: [{class: console, report.period: -1}]", "report.period"},
		{"fractional period", "topology.metrics.reporters: [{class: console, report.period: 1.5}]", "report.period"},
		{"period below a second", "topology.metrics.reporters: [{class: console, report.period: 10, report.period.units: MILLISECONDS}]", "at least a second"},
		{"bad units", "topology.metrics.reporters: [{class: console, report.period: 10, report.period.units: FORTNIGHTS}]", "units"},
		{"unknown key", "topology.metrics.reporters: [{class: console, graphite.host: x}]", "graphite.host"},
		{"per.task on console", "topology.metrics.reporters: [{class: console, per.task: false}]", "per.task"},
		{"per.task not bool", "topology.metrics.reporters: [{class: prometheus, per.task: 'no'}]", "per.task"},
		{"bad filter class", "topology.metrics.reporters: [{class: console, filter: {class: x, expression: y}}]", "filter class"},
		{"bad regex", "topology.metrics.reporters: [{class: console, filter: {class: regex, expression: '('}}]", "filter expression"},
		{"second entry", "topology.metrics.reporters: [{class: console}, {class: nope}]", "[1]"},
		{"bucket size zero", "topology.builtin.metrics.bucket.size.secs: 0", "bucket.size.secs"},
		{"bucket size text", "topology.builtin.metrics.bucket.size.secs: soon", "bucket.size.secs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseReporters(yamlConf(t, tt.conf))
			if !errors.Is(err, ErrReporterConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseReporters = %v, want ErrReporterConfig mentioning %q", err, tt.want)
			}
		})
	}
	many := make([]any, MaxReporters+1)
	for i := range many {
		many[i] = map[string]any{"class": "console"}
	}
	if _, err := ParseReporters(map[string]any{KeyReporters: many}); !errors.Is(err, ErrReporterConfig) {
		t.Errorf("%d reporters: %v, want ErrReporterConfig", len(many), err)
	}
}

func TestConsoleReporter(t *testing.T) {
	r, _ := newTestRegistry(t, 0)
	task := r.Task("split", 5)
	task.Counter(Emitted, "default").Add(40)
	task.Histogram(ExecuteLatency, "spout:default").ObserveDuration(1500 * time.Microsecond)
	task.Gauge(ReceiveQueuePopulation, "").Set(3)
	task.Record("words", map[string]any{"type": "histogram", "value": 12.0})
	r.Task("count", 7).Counter(Emitted, "default").Inc()

	var out bytes.Buffer
	filter := mustFilter(t, ".*split.*")
	c := NewConsoleReporter(r, filter, "node1", 6700, slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})))
	c.Report(t0.Add(time.Minute))
	task.Counter(Emitted, "default").Add(2)
	c.Report(t0.Add(2 * time.Minute))

	want := `level=INFO msg=metric component=split task=5 name=emitted stream=default kind=counter value=40 delta=40
level=INFO msg=metric component=split task=5 name=execute-latency stream=spout:default kind=histogram count=1 delta=1 mean=1.5ms p50=1.507328ms p99=1.507328ms
level=INFO msg=metric component=split task=5 name=receive-queue-population kind=gauge value=3
level=INFO msg=metric component=split task=5 name=words user=true kind=histogram count=1 delta=1 mean=12 p50=12.5 p99=12.5
level=INFO msg=metric component=split task=5 name=emitted stream=default kind=counter value=42 delta=2
`
	if got := out.String(); !strings.HasPrefix(got, want) {
		t.Errorf("report:\n%s\nwant it to start with\n%s", got, want)
	}
	if strings.Contains(out.String(), "component=count") {
		t.Errorf("the filter let component count through:\n%s", out.String())
	}
}

func TestConsoleReporterRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := NewRegistry(Config{Topology: "wc-1-1"}, time.Now())
		r.Task("split", 5).Counter(Emitted, "default").Inc()
		var out bytes.Buffer
		c := NewConsoleReporter(r, ReporterConfig{Kind: ReporterConsole, Period: 10 * time.Second}, "node1", 6700, slog.New(slog.NewTextHandler(&out, nil)))
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- c.Run(ctx) }()
		time.Sleep(35 * time.Second)
		synctest.Wait()
		if n := strings.Count(out.String(), "msg=metric"); n != 3 {
			t.Errorf("%d reports in 35s at a 10s period, want 3", n)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})
}
