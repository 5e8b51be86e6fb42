package metrics

import (
	"math"
	"testing"
	"time"
)

// TestWindowedPercentiles: a latency histogram's windows hold the values
// of their time only, agree with the windows' counts, and add up across
// executors.
func TestWindowedPercentiles(t *testing.T) {
	start := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	now := start
	reg := NewRegistry(Config{}, start)
	h := reg.Task("split", 1).Histogram(ExecuteLatency, "spout:default")
	for range 100 {
		h.ObserveDuration(time.Millisecond)
	}
	// Twenty minutes later, rolled as a worker rolls: the first values
	// are out of the 10-minute window, in the 3-hour one.
	for range 40 {
		now = now.Add(30 * time.Second)
		reg.Roll(now)
	}
	for range 10 {
		h.ObserveDuration(10 * time.Millisecond)
	}
	snap := reg.Snapshot(now)[0]
	x, ok := snap.Find(ExecuteLatency, "spout:default", false)
	if !ok {
		t.Fatal("no execute latency")
	}
	near := func(got, want float64) bool { return math.Abs(got-want) <= want*0.0625 }
	for _, tc := range []struct {
		w        Window
		count    int64
		p50, p99 time.Duration
	}{
		{Window10m, 10, 10 * time.Millisecond, 10 * time.Millisecond},
		{Window3h, 110, time.Millisecond, 10 * time.Millisecond},
		{Window1d, 110, time.Millisecond, 10 * time.Millisecond},
		{WindowAllTime, 110, time.Millisecond, 10 * time.Millisecond},
	} {
		wh := x.WindowHistogram(tc.w)
		if wh == nil || wh.Count != tc.count || x.Counts[tc.w] != tc.count {
			t.Errorf("window %s: histogram %+v, count %d; want %d values", tc.w, wh, x.Counts[tc.w], tc.count)
			continue
		}
		if p50, p99 := wh.Quantile(0.5), wh.Quantile(0.99); !near(p50, float64(tc.p50)) || !near(p99, float64(tc.p99)) {
			t.Errorf("window %s: p50 %v p99 %v, want %v %v", tc.w, time.Duration(p50), time.Duration(p99), tc.p50, tc.p99)
		}
		if math.Abs(wh.Sum-x.Sums[tc.w]) > 1 {
			t.Errorf("window %s: histogram sum %v, window sum %v", tc.w, wh.Sum, x.Sums[tc.w])
		}
	}
	// Two executors' windows add up.
	merged, err := Merge(snap, snap)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := merged.Find(ExecuteLatency, "spout:default", false)
	if m.WindowHistogram(Window10m).Count != 20 || m.WindowHistogram(Window3h).Count != 220 {
		t.Errorf("merged windows count %d and %d, want 20 and 220", m.WindowHistogram(Window10m).Count, m.WindowHistogram(Window3h).Count)
	}
	// Two days later with nothing recorded, no window holds anything.
	for range 2 * 24 * 60 {
		now = now.Add(time.Minute)
		reg.Roll(now)
	}
	x, _ = reg.Snapshot(now)[0].Find(ExecuteLatency, "spout:default", false)
	if x.Windowed != nil || x.Histogram.Count != 110 {
		t.Errorf("after two idle days: windowed %v, all time %d; want none and 110", x.Windowed, x.Histogram.Count)
	}
	// User histograms have all-time percentiles only.
	u := reg.Task("split", 1)
	if err := u.Record("parse-ms", map[string]any{"type": "histogram", "value": 0.5}); err != nil {
		t.Fatal(err)
	}
	if y, _ := reg.Snapshot(now)[0].Find("parse-ms", "", true); y.Windowed != nil || y.Histogram == nil {
		t.Errorf("user histogram: windowed %v, all time %v; want all time only", y.Windowed, y.Histogram)
	}
}

func TestHistogramMinus(t *testing.T) {
	var h Histogram
	h.Observe(1)
	h.Observe(100)
	before := h.Snapshot()
	h.Observe(100)
	h.Observe(1000)
	d := h.Snapshot().Minus(before)
	if d.Count != 2 || d.Sum != 1100 || len(d.Buckets) != 2 {
		t.Errorf("difference %+v, want the 100 and the 1000", d)
	}
	if z := before.Minus(h.Snapshot()); z.Count != 0 || z.Sum != 0 || len(z.Buckets) != 0 {
		t.Errorf("an older snapshot less a newer = %+v, want empty", z)
	}
}
