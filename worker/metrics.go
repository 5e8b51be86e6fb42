package worker

import (
	"math"
	"time"

	"github.com/squallstream/squall/metrics"
)

// counters are one task's series on one stream, in the worker's metrics
// registry: on an output stream (emitted, transferred; for spouts also
// acked, failed and the complete latency of its tuples) or on one input
// of a bolt (executed, acked, failed, execute and process latency).
// Series a stream never has are nil. Updates are atomic: a collector may
// be used from several goroutines.
type counters struct {
	emitted, transferred       *metrics.Counter
	executed, acked, failed    *metrics.Counter
	execute, process, complete *metrics.Histogram
}

// outputCounters registers the series of a task's output stream.
func outputCounters(t *metrics.Task, stream string, spout bool) *counters {
	c := &counters{emitted: t.Counter(metrics.Emitted, stream), transferred: t.Counter(metrics.Transferred, stream)}
	if spout {
		c.acked, c.failed = t.Counter(metrics.Acked, stream), t.Counter(metrics.Failed, stream)
		c.complete = t.Histogram(metrics.CompleteLatency, stream)
	}
	return c
}

// inputCounters registers the series of a bolt task's input, keyed as
// Storm keys it, "component:stream".
func inputCounters(t *metrics.Task, key string) *counters {
	return &counters{
		executed: t.Counter(metrics.Executed, key),
		acked:    t.Counter(metrics.Acked, key),
		failed:   t.Counter(metrics.Failed, key),
		execute:  t.Histogram(metrics.ExecuteLatency, key),
		process:  t.Histogram(metrics.ProcessLatency, key),
	}
}

// value returns c's count, 0 for a series the stream does not have.
func value(c *metrics.Counter) int64 {
	if c == nil {
		return 0
	}
	return c.Value()
}

// StreamStats are cumulative statistics of a component's tasks on one
// stream in this worker. Latency fields are sums over sampled tuples
// (topology.stats.sample.rate) with their sample counts; the histograms
// hold the same samples, for percentiles.
type StreamStats struct {
	Emitted, Transferred, Executed, Acked, Failed int64
	ExecuteNanos, ExecuteSamples                  int64
	ProcessNanos, ProcessSamples                  int64
	CompleteNanos, CompleteSamples                int64
	// ExecuteHistogram (bolts) and CompleteHistogram (spouts) hold the
	// sampled latencies in nanoseconds.
	ExecuteHistogram, CompleteHistogram metrics.HistogramSnapshot
}

func (s *StreamStats) add(c *counters) {
	s.Emitted += value(c.emitted)
	s.Transferred += value(c.transferred)
	s.Executed += value(c.executed)
	s.Acked += value(c.acked)
	s.Failed += value(c.failed)
	if c.execute != nil {
		h := c.execute.Snapshot()
		s.ExecuteNanos += int64(h.Sum)
		s.ExecuteSamples += h.Count
		s.ExecuteHistogram = s.ExecuteHistogram.Merge(h)
	}
	if c.process != nil {
		s.ProcessNanos += int64(c.process.Sum())
		s.ProcessSamples += c.process.Count()
	}
	if c.complete != nil {
		h := c.complete.Snapshot()
		s.CompleteNanos += int64(h.Sum)
		s.CompleteSamples += h.Count
		s.CompleteHistogram = s.CompleteHistogram.Merge(h)
	}
}

// Average latencies; 0 without samples.
func (s StreamStats) ExecuteLatency() time.Duration  { return avg(s.ExecuteNanos, s.ExecuteSamples) }
func (s StreamStats) ProcessLatency() time.Duration  { return avg(s.ProcessNanos, s.ProcessSamples) }
func (s StreamStats) CompleteLatency() time.Duration { return avg(s.CompleteNanos, s.CompleteSamples) }

// ExecutePercentile and CompletePercentile return the q-quantile (0..1)
// of the sampled execute and complete latencies, within 6.25%; 0 without
// samples.
func (s StreamStats) ExecutePercentile(q float64) time.Duration {
	return time.Duration(s.ExecuteHistogram.Quantile(q))
}
func (s StreamStats) CompletePercentile(q float64) time.Duration {
	return time.Duration(s.CompleteHistogram.Quantile(q))
}

func avg(sum, n int64) time.Duration {
	if n == 0 {
		return 0
	}
	return time.Duration(sum / n)
}

// ComponentStats are cumulative statistics of one component's tasks in
// this worker. Streams are keyed as Storm keys them: output streams by
// stream id, a bolt's inputs by "component:stream".
type ComponentStats struct {
	Component string
	Spout     bool
	Tasks     int
	Streams   map[string]*StreamStats
	// BusyNanos is the time the component's executors spent executing
	// (sampled executes scaled up), for Storm's capacity.
	BusyNanos int64
	// Errors counts the errors the component reported.
	Errors int64
}

// Totals adds up the component's streams: for a spout its output streams,
// for a bolt its inputs (plus emitted/transferred from its outputs).
func (c *ComponentStats) Totals() StreamStats {
	var t StreamStats
	for _, s := range c.Streams {
		t.Emitted += s.Emitted
		t.Transferred += s.Transferred
		t.Executed += s.Executed
		t.Acked += s.Acked
		t.Failed += s.Failed
		t.ExecuteNanos += s.ExecuteNanos
		t.ExecuteSamples += s.ExecuteSamples
		t.ProcessNanos += s.ProcessNanos
		t.ProcessSamples += s.ProcessSamples
		t.CompleteNanos += s.CompleteNanos
		t.CompleteSamples += s.CompleteSamples
		t.ExecuteHistogram = t.ExecuteHistogram.Merge(s.ExecuteHistogram)
		t.CompleteHistogram = t.CompleteHistogram.Merge(s.CompleteHistogram)
	}
	return t
}

// sampler decides which tuples get their latencies measured, every n-th
// as Storm's topology.stats.sample.rate does. One per executor goroutine.
type sampler struct {
	every, n uint32
}

func newSampler(rate float64) sampler {
	if rate <= 0 || rate > 1 {
		rate = 0.05
	}
	return sampler{every: uint32(math.Round(1 / rate))}
}

func (s *sampler) sample() bool {
	s.n++
	if s.n >= s.every {
		s.n = 0
		return true
	}
	return false
}

// tally adds up counts for one of a task's counters as plain numbers, and
// adds them to the counters' atomics when flushed, or when counts for
// other counters come: the tuple path pays a plain addition, the shared
// atomics are touched once per batch. Its owner serialises its use.
type tally struct {
	c                                             *counters
	emitted, transferred, executed, acked, failed int64
}

// to returns t ready to count for c.
func (t *tally) to(c *counters) *tally {
	if t.c != c {
		t.flush()
		t.c = c
	}
	return t
}

// flush adds what t counted to its counters.
func (t *tally) flush() {
	c := t.c
	if c == nil {
		return
	}
	for _, f := range [...]struct {
		n *int64
		a *metrics.Counter
	}{{&t.emitted, c.emitted}, {&t.transferred, c.transferred}, {&t.executed, c.executed}, {&t.acked, c.acked}, {&t.failed, c.failed}} {
		if *f.n != 0 {
			f.a.Add(*f.n)
			*f.n = 0
		}
	}
}
