package worker

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// counters are one task's cumulative counts on one stream: on an output
// stream (emitted, transferred; for spouts also acked, failed and the
// complete latency of its tuples) or on one input of a bolt (executed,
// acked, failed, execute and process latency). Updates are atomic: a
// collector may be used from several goroutines.
type counters struct {
	emitted, transferred       atomic.Int64
	executed, acked, failed    atomic.Int64
	execute, process, complete latency
}

// latency accumulates sampled durations. Its histogram (4 KB) is made at
// the first sample: most streams of most tasks never record one.
type latency struct {
	nanos, samples atomic.Int64
	hist           atomic.Pointer[histogram]
}

func (l *latency) record(d time.Duration) {
	l.nanos.Add(int64(d))
	l.samples.Add(1)
	h := l.hist.Load()
	if h == nil {
		l.hist.CompareAndSwap(nil, new(histogram))
		h = l.hist.Load()
	}
	h.record(d)
}

// snapshot returns the histogram's bucket counts, nil before any sample.
func (l *latency) snapshot() []int64 {
	if h := l.hist.Load(); h != nil {
		return h.snapshot()
	}
	return nil
}

// histogram counts durations in log-linear buckets: 8 per power of two,
// so any percentile is within 12.5% of the truth.
type histogram struct {
	buckets [64 * subBuckets]atomic.Int64
}

const subBuckets = 8

func bucketOf(d time.Duration) int {
	n := uint64(max(d, 1))
	exp := 63 - bits.LeadingZeros64(n) // n in [2^exp, 2^(exp+1))
	if exp < 3 {
		return int(n)
	}
	sub := (n >> (exp - 3)) & (subBuckets - 1)
	return exp*subBuckets + int(sub)
}

// bucketFloor is the smallest duration in bucket b.
func bucketFloor(b int) time.Duration {
	if b < 8 {
		return time.Duration(b)
	}
	exp, sub := b/subBuckets, b%subBuckets
	return time.Duration((uint64(subBuckets + sub)) << (exp - 3))
}

func (h *histogram) record(d time.Duration) { h.buckets[bucketOf(d)].Add(1) }

// snapshot returns the bucket counts.
func (h *histogram) snapshot() []int64 {
	out := make([]int64, len(h.buckets))
	for i := range h.buckets {
		out[i] = h.buckets[i].Load()
	}
	return out
}

// Percentile returns the q-th quantile (0..1) of the recorded durations,
// 0 if there are none.
func Percentile(counts []int64, q float64) time.Duration {
	var total int64
	for _, c := range counts {
		total += c
	}
	if total == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(total)))
	var seen int64
	for b, c := range counts {
		seen += c
		if seen >= max(rank, 1) {
			return bucketFloor(b)
		}
	}
	return bucketFloor(len(counts) - 1)
}

// StreamStats are cumulative statistics of a component's tasks on one
// stream in this worker. Latency fields are sums over sampled tuples
// (topology.stats.sample.rate) with their sample counts.
type StreamStats struct {
	Emitted, Transferred, Executed, Acked, Failed int64
	ExecuteNanos, ExecuteSamples                  int64
	ProcessNanos, ProcessSamples                  int64
	CompleteNanos, CompleteSamples                int64
	// CompleteHistogram holds sampled complete latencies (spouts), for
	// Percentile.
	CompleteHistogram []int64
	// ExecuteHistogram holds sampled execute latencies (bolts' inputs),
	// for Percentile.
	ExecuteHistogram []int64
}

// addHistogram adds the bucket counts of src to *dst.
func addHistogram(dst *[]int64, src []int64) {
	if src == nil {
		return
	}
	if *dst == nil {
		*dst = make([]int64, len(src))
	}
	for i, n := range src {
		(*dst)[i] += n
	}
}

func (s *StreamStats) add(c *counters) {
	s.Emitted += c.emitted.Load()
	s.Transferred += c.transferred.Load()
	s.Executed += c.executed.Load()
	s.Acked += c.acked.Load()
	s.Failed += c.failed.Load()
	s.ExecuteNanos += c.execute.nanos.Load()
	s.ExecuteSamples += c.execute.samples.Load()
	addHistogram(&s.ExecuteHistogram, c.execute.snapshot())
	s.ProcessNanos += c.process.nanos.Load()
	s.ProcessSamples += c.process.samples.Load()
	s.CompleteNanos += c.complete.nanos.Load()
	if n := c.complete.samples.Load(); n > 0 {
		s.CompleteSamples += n
		h := c.complete.snapshot()
		if h == nil {
			return
		}
		if s.CompleteHistogram == nil {
			s.CompleteHistogram = h
		} else {
			for i := range h {
				s.CompleteHistogram[i] += h[i]
			}
		}
	}
}

// Average latencies; 0 without samples.
func (s StreamStats) ExecuteLatency() time.Duration  { return avg(s.ExecuteNanos, s.ExecuteSamples) }
func (s StreamStats) ProcessLatency() time.Duration  { return avg(s.ProcessNanos, s.ProcessSamples) }
func (s StreamStats) CompleteLatency() time.Duration { return avg(s.CompleteNanos, s.CompleteSamples) }

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
		addHistogram(&t.ExecuteHistogram, s.ExecuteHistogram)
		if s.CompleteHistogram != nil {
			if t.CompleteHistogram == nil {
				t.CompleteHistogram = make([]int64, len(s.CompleteHistogram))
			}
			for i, n := range s.CompleteHistogram {
				t.CompleteHistogram[i] += n
			}
		}
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
		a *atomic.Int64
	}{{&t.emitted, &c.emitted}, {&t.transferred, &c.transferred}, {&t.executed, &c.executed}, {&t.acked, &c.acked}, {&t.failed, &c.failed}} {
		if *f.n != 0 {
			f.a.Add(*f.n)
			*f.n = 0
		}
	}
}
