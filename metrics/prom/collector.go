// Package prom exposes a metrics.Registry to Prometheus: a collector that
// reads the registry at each scrape, an HTTP handler for /metrics, and a
// gatherer that reads another process's /metrics, so that one endpoint can
// serve a node's workers.
//
// Every built-in metric is a family named after it, "squall_" + its name
// with dashes as underscores + a unit suffix (_seconds for durations,
// _bytes) + _total for counters: squall_emitted_total,
// squall_execute_latency_seconds, squall_child_rss_bytes. User metrics are
// three families, squall_user_counter_total, squall_user_gauge and
// squall_user_histogram, with the metric's name in a "metric" label, so
// that no name a component chooses can clash with another or break the
// exposition. Labels: topology, component, task (unless per-task series
// are off), stream (for metrics of a stream), host and port.
package prom

import (
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/squallstream/squall/metrics"
)

// DefaultLatencyBuckets are the upper bounds, in seconds, of the built-in
// latency histograms' buckets: 10µs to 30s.
var DefaultLatencyBuckets = []float64{
	0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
	0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
}

// DefaultUserBuckets are the upper bounds of user histograms' buckets,
// whose unit is the component's choice: 0.001 to 1,000,000 in steps of
// 1, 2.5, 5.
var DefaultUserBuckets = []float64{
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
	1, 2.5, 5, 10, 25, 50, 100, 250, 500,
	1e3, 2.5e3, 5e3, 1e4, 2.5e4, 5e4, 1e5, 2.5e5, 5e5, 1e6,
}

// Options configure a Collector.
type Options struct {
	// Host and Port label every series: the worker's node and slot.
	Host string
	Port int
	// PerTask keeps a series per task. Off, a component's tasks add up
	// into one series (capacity takes the largest), which bounds the
	// series by the number of components.
	PerTask bool
	// LatencyBuckets are the bucket bounds, in seconds, of the built-in
	// latency histograms; nil means DefaultLatencyBuckets.
	LatencyBuckets []float64
	// UserBuckets are the bucket bounds of user histograms; nil means
	// DefaultUserBuckets.
	UserBuckets []float64
	// Now is the clock that reads the windows (for capacity); nil means
	// time.Now.
	Now func() time.Time
}

// Collector is a prometheus.Collector over a metrics.Registry. It reads
// the registry at every scrape and is safe for concurrent use.
type Collector struct {
	reg  *metrics.Registry
	opts Options
	// descs holds the built-in families' descriptions, by metric name.
	descs       map[string]*prometheus.Desc
	capacity    *prometheus.Desc
	userCounter *prometheus.Desc
	userGauge   *prometheus.Desc
	userHist    *prometheus.Desc
}

// NewCollector returns a collector of reg.
func NewCollector(reg *metrics.Registry, opts Options) *Collector {
	if opts.LatencyBuckets == nil {
		opts.LatencyBuckets = DefaultLatencyBuckets
	}
	if opts.UserBuckets == nil {
		opts.UserBuckets = DefaultUserBuckets
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Collector{reg: reg, opts: opts, descs: map[string]*prometheus.Desc{}}
	labels := func(extra ...string) []string {
		ls := []string{"topology", "component"}
		if opts.PerTask {
			ls = append(ls, "task")
		}
		return append(ls, extra...)
	}
	consts := prometheus.Labels{"host": opts.Host, "port": strconv.Itoa(opts.Port)}
	for _, b := range metrics.Builtins {
		var ls []string
		if b.Stream == metrics.NoStream {
			ls = labels()
		} else {
			ls = labels("stream")
		}
		help := b.Help
		if b.Storm != "" {
			help += " Storm: " + b.Storm + "."
		}
		c.descs[b.Name] = prometheus.NewDesc(FamilyName(b), help, ls, consts)
	}
	c.capacity = prometheus.NewDesc("squall_capacity",
		"Share of the last 10 minutes a bolt task spent executing, as Storm's UI computes capacity; near 1 it cannot keep up.", labels(), consts)
	c.userCounter = prometheus.NewDesc("squall_user_counter_total", "User counters.", labels("metric"), consts)
	c.userGauge = prometheus.NewDesc("squall_user_gauge", "User gauges.", labels("metric"), consts)
	c.userHist = prometheus.NewDesc("squall_user_histogram", "User histograms.", labels("metric"), consts)
	return c
}

// FamilyName returns the Prometheus family of a built-in metric.
func FamilyName(b metrics.Builtin) string {
	name := "squall_" + strings.ReplaceAll(b.Name, "-", "_")
	switch b.Unit {
	case metrics.UnitNanoseconds:
		name += "_seconds"
	case metrics.UnitBytes:
		name += "_bytes"
	}
	if b.Kind == metrics.KindCounter {
		name += "_total"
	}
	return name
}

// Describe sends nothing: the series depend on what the tasks record, so
// the collector is unchecked.
func (c *Collector) Describe(chan<- *prometheus.Desc) {}

// Collect sends every series of the registry.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	snaps := c.reg.Snapshot(c.opts.Now())
	capacities := make([]float64, len(snaps))
	for i, s := range snaps {
		capacities[i] = metrics.Capacity(s)
	}
	if !c.opts.PerTask {
		snaps, capacities = byComponent(snaps, capacities)
	}
	for i, s := range snaps {
		base := []string{c.reg.Topology(), s.Component}
		if c.opts.PerTask {
			base = append(base, strconv.Itoa(s.FirstTask))
		}
		if hasInputs(s) {
			ch <- prometheus.MustNewConstMetric(c.capacity, prometheus.GaugeValue, capacities[i], base...)
		}
		for _, x := range s.Series {
			c.collect(ch, x, base)
		}
	}
}

// hasInputs reports whether a snapshot is a bolt's: it executed something.
func hasInputs(s metrics.Snapshot) bool {
	for _, x := range s.Series {
		if !x.User && x.Name == metrics.Executed {
			return true
		}
	}
	return false
}

func (c *Collector) collect(ch chan<- prometheus.Metric, x metrics.Series, base []string) {
	labels := base
	var desc *prometheus.Desc
	scale, bounds := 1.0, c.opts.UserBuckets
	if x.User {
		labels = append(labels[:len(labels):len(labels)], x.Name)
		desc = map[metrics.Kind]*prometheus.Desc{metrics.KindCounter: c.userCounter, metrics.KindGauge: c.userGauge, metrics.KindHistogram: c.userHist}[x.Kind]
	} else {
		b, ok := metrics.LookupBuiltin(x.Name)
		if !ok {
			return
		}
		desc = c.descs[x.Name]
		if b.Stream != metrics.NoStream {
			labels = append(labels[:len(labels):len(labels)], x.Stream)
		}
		if b.Unit == metrics.UnitNanoseconds {
			scale, bounds = 1e-9, c.opts.LatencyBuckets
		}
	}
	if desc == nil {
		return
	}
	var m prometheus.Metric
	var err error
	switch x.Kind {
	case metrics.KindCounter:
		m, err = prometheus.NewConstMetric(desc, prometheus.CounterValue, float64(x.Counts[metrics.WindowAllTime])*scale, labels...)
	case metrics.KindGauge:
		m, err = prometheus.NewConstMetric(desc, prometheus.GaugeValue, x.Value*scale, labels...)
	case metrics.KindHistogram:
		if x.Histogram == nil {
			return
		}
		buckets := make(map[float64]uint64, len(bounds))
		for _, le := range bounds {
			buckets[le] = uint64(x.Histogram.CountBelow(le / scale))
		}
		m, err = prometheus.NewConstHistogram(desc, uint64(x.Histogram.Count), x.Histogram.Sum*scale, buckets, labels...)
	}
	if err != nil {
		m = prometheus.NewInvalidMetric(desc, err)
	}
	ch <- m
}

// byComponent adds up the snapshots of each component's tasks, keeping
// the largest capacity.
func byComponent(snaps []metrics.Snapshot, capacities []float64) ([]metrics.Snapshot, []float64) {
	var outS []metrics.Snapshot
	var outC []float64
	index := map[string]int{}
	for i, s := range snaps {
		j, ok := index[s.Component]
		if !ok {
			index[s.Component] = len(outS)
			outS = append(outS, s)
			outC = append(outC, capacities[i])
			continue
		}
		merged, err := metrics.Merge(outS[j], s)
		if err != nil {
			continue // a series of two kinds: keep the first task's
		}
		outS[j] = merged
		outC[j] = max(outC[j], capacities[i])
	}
	return outS, outC
}
