package metrics

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestHistogramBuckets(t *testing.T) {
	values := []float64{1e-9, 1e-6, 0.001, 0.5, 1, 1.1, 1.124, 1.125, 1.9999, 2, 3, 7.5, 1000, 123456789, 1e15, 1.8e19}
	for _, v := range values {
		var h Histogram
		h.Observe(v)
		s := h.Snapshot()
		if len(s.Buckets) != 1 {
			t.Fatalf("Observe(%v): buckets %v, want one", v, s.Buckets)
		}
		lo, hi := BucketBounds(s.Buckets[0].Index)
		if !(lo <= v && v < hi) {
			t.Errorf("Observe(%v) went to bucket %d = [%v, %v)", v, s.Buckets[0].Index, lo, hi)
		}
		if hi > lo*1.126 && s.Buckets[0].Index != 0 && s.Buckets[0].Index != overflowIndex {
			t.Errorf("bucket %d = [%v, %v) is wider than 12.5%%", s.Buckets[0].Index, lo, hi)
		}
	}
}

func TestHistogramBucketsTile(t *testing.T) {
	// Consecutive buckets meet: every value has exactly one bucket.
	for i := 0; i < overflowIndex; i++ {
		_, hi := BucketBounds(i)
		lo, _ := BucketBounds(i + 1)
		if hi != lo {
			t.Fatalf("bucket %d ends at %v, bucket %d starts at %v", i, hi, i+1, lo)
		}
	}
}

func TestHistogramEdges(t *testing.T) {
	tests := []struct {
		name  string
		v     float64
		index int
	}{
		{"zero", 0, 0},
		{"negative", -5, 0},
		{"NaN", math.NaN(), 0},
		{"below the smallest bucket", 1e-12, 0},
		{"smallest bucket", math.Ldexp(1, minExp), 1},
		{"overflow", 1e30, overflowIndex},
		{"infinity", math.Inf(1), overflowIndex},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Histogram
			h.Observe(tt.v)
			s := h.Snapshot()
			if len(s.Buckets) != 1 || s.Buckets[0].Index != tt.index || s.Count != 1 {
				t.Errorf("Observe(%v): %+v, want one value in bucket %d", tt.v, s, tt.index)
			}
		})
	}
}

func TestHistogramQuantiles(t *testing.T) {
	// Latencies from 1µs to 100ms, uniform in log space: the quantiles
	// must be within the histogram's 6.25%.
	r := rand.New(rand.NewPCG(1, 2))
	var h Histogram
	var all []float64
	for range 100000 {
		v := math.Pow(10, 3+5*r.Float64())
		all = append(all, v)
		h.Observe(v)
	}
	slices.Sort(all)
	s := h.Snapshot()
	for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 0.999, 1} {
		want := all[max(int(math.Ceil(q*float64(len(all))))-1, 0)]
		if got := s.Quantile(q); math.Abs(got-want)/want > 0.0625 {
			t.Errorf("Quantile(%v) = %v, want %v within 6.25%%", q, got, want)
		}
	}
	var sum float64
	for _, v := range all {
		sum += v
	}
	if s.Count != int64(len(all)) || math.Abs(s.Sum-sum)/sum > 1e-9 {
		t.Errorf("count, sum = %d, %v; want %d, %v", s.Count, s.Sum, len(all), sum)
	}
	if got, want := s.Mean(), sum/float64(len(all)); math.Abs(got-want)/want > 1e-9 {
		t.Errorf("Mean() = %v, want %v", got, want)
	}
}

func TestHistogramEmpty(t *testing.T) {
	var s HistogramSnapshot
	if s.Quantile(0.99) != 0 || s.Mean() != 0 || s.CountBelow(1) != 0 {
		t.Errorf("empty snapshot: Quantile %v, Mean %v, CountBelow %v; want zeros", s.Quantile(0.99), s.Mean(), s.CountBelow(1))
	}
}

func TestHistogramMerge(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var a, b, both Histogram
	for i := range 5000 {
		v := r.ExpFloat64() * 1e6
		if i%3 == 0 {
			a.Observe(v)
		} else {
			b.Observe(v)
		}
		both.Observe(v)
	}
	got, want := a.Snapshot().Merge(b.Snapshot()), both.Snapshot()
	if got.Count != want.Count || !slices.Equal(got.Buckets, want.Buckets) || math.Abs(got.Sum-want.Sum) > 1e-6*want.Sum {
		t.Errorf("merged %+v\nwant %+v", got, want)
	}
	if got := a.Snapshot().Merge(HistogramSnapshot{}); !slices.Equal(got.Buckets, a.Snapshot().Buckets) {
		t.Errorf("merge with empty changed the buckets: %v", got.Buckets)
	}
}

func TestHistogramCountBelow(t *testing.T) {
	var h Histogram
	for _, d := range []time.Duration{100 * time.Microsecond, 900 * time.Microsecond, 2 * time.Millisecond, 40 * time.Millisecond} {
		h.ObserveDuration(d)
	}
	s := h.Snapshot()
	tests := []struct {
		le   float64
		want int64
	}{
		{float64(50 * time.Microsecond), 0},
		{float64(time.Millisecond), 2},
		{float64(5 * time.Millisecond), 3},
		{math.Inf(1), 4},
	}
	for _, tt := range tests {
		if got := s.CountBelow(tt.le); got != tt.want {
			t.Errorf("CountBelow(%v) = %d, want %d", tt.le, got, tt.want)
		}
	}
}

func TestHistogramConcurrent(t *testing.T) {
	var h Histogram
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 10000 {
				h.Observe(float64(g*10000 + i))
			}
		})
	}
	wg.Go(func() {
		for range 100 {
			h.Snapshot()
		}
	})
	wg.Wait()
	if got := h.Count(); got != 40000 {
		t.Errorf("Count() = %d, want 40000", got)
	}
	if got, want := h.Sum(), float64(39999*40000/2); got != want {
		t.Errorf("Sum() = %v, want %v", got, want)
	}
}

func TestRecordingAllocatesNothing(t *testing.T) {
	var c Counter
	var g Gauge
	var h Histogram
	h.ObserveDuration(time.Millisecond) // allocates its power of two
	tests := []struct {
		name string
		f    func()
	}{
		{"Counter.Inc", c.Inc},
		{"Gauge.Set", func() { g.Set(3) }},
		{"Histogram.ObserveDuration", func() { h.ObserveDuration(time.Millisecond + 7) }},
	}
	for _, tt := range tests {
		if n := testing.AllocsPerRun(1000, tt.f); n != 0 {
			t.Errorf("%s allocates %v times per call", tt.name, n)
		}
	}
}

func BenchmarkCounterAdd(b *testing.B) {
	var c Counter
	for b.Loop() {
		c.Add(1)
	}
}

// BenchmarkCounterBatch counts as an executor should on the tuple path:
// locally, adding to the shared counter once per batch of 256.
func BenchmarkCounterBatch(b *testing.B) {
	var c Counter
	var local int64
	for b.Loop() {
		local++
		if local == 256 {
			c.Add(local)
			local = 0
		}
	}
	c.Add(local)
}

func BenchmarkCounterAddParallel(b *testing.B) {
	var c Counter
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Add(1)
		}
	})
}

func BenchmarkHistogramObserveDuration(b *testing.B) {
	var h Histogram
	d := []time.Duration{800, 1200, 15000, 90000, 1200000}
	i := 0
	for b.Loop() {
		h.ObserveDuration(d[i])
		i = (i + 1) % len(d)
	}
}

func BenchmarkHistogramObserveParallel(b *testing.B) {
	var h Histogram
	b.RunParallel(func(pb *testing.PB) {
		v := 1000.0
		for pb.Next() {
			h.Observe(v)
		}
	})
}

func BenchmarkGaugeSet(b *testing.B) {
	var g Gauge
	for b.Loop() {
		g.Set(42)
	}
}

// The built-in metrics of one tuple through a spout and a bolt, as the
// worker should record them: counts kept locally and added once per batch
// of 256, latencies sampled one tuple in 20 (topology.stats.sample.rate
// 0.05). BenchmarkTupleMetricsAtomic adds every count at once instead, for
// comparison.
func BenchmarkTupleMetricsBatched(b *testing.B) {
	r := NewRegistry(Config{}, t0)
	spout, bolt := r.Task("spout", 1), r.Task("bolt", 2)
	emitted, transferred := spout.Counter(Emitted, "default"), spout.Counter(Transferred, "default")
	executed, acked := bolt.Counter(Executed, "spout:default"), bolt.Counter(Acked, "spout:default")
	execLat := bolt.Histogram(ExecuteLatency, "spout:default")
	var n, sample int64
	for b.Loop() {
		n++
		if n == 256 {
			emitted.Add(n)
			transferred.Add(n)
			executed.Add(n)
			acked.Add(n)
			n = 0
		}
		if sample++; sample == 20 {
			sample = 0
			execLat.ObserveDuration(1200)
		}
	}
}

func BenchmarkTupleMetricsAtomic(b *testing.B) {
	r := NewRegistry(Config{}, t0)
	spout, bolt := r.Task("spout", 1), r.Task("bolt", 2)
	emitted, transferred := spout.Counter(Emitted, "default"), spout.Counter(Transferred, "default")
	executed, acked := bolt.Counter(Executed, "spout:default"), bolt.Counter(Acked, "spout:default")
	execLat := bolt.Histogram(ExecuteLatency, "spout:default")
	var sample int64
	for b.Loop() {
		emitted.Inc()
		transferred.Inc()
		executed.Inc()
		acked.Inc()
		if sample++; sample == 20 {
			sample = 0
			execLat.ObserveDuration(1200)
		}
	}
}
