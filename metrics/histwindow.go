package metrics

import "time"

// Percentiles per window. A built-in histogram (the latencies) keeps, for
// each bucket of the three timed windows, the histogram as it was when
// the bucket started: a window's histogram is the histogram now less the
// one at the start of the oldest bucket the window reaches, the same
// bucket its counts and sums reach (latencies take it whole, as Storm
// does). Those differences are what heartbeats carry, beside the all-time
// buckets, and they add up across executors like any histogram, so nimbus
// still only merges: four sparse histograms per series, not the twenty
// buckets of each window. The starts share one snapshot per roll in which
// any window starts a bucket, at most one per RollInterval per series.
// User histograms have all-time percentiles only: a task may have a
// hundred of them.

// histWindows holds the histogram at the start of every bucket of the
// timed windows; nil for a bucket not started since the series was made.
type histWindows struct {
	starts [timedWindows][numStatBuckets]*HistogramSnapshot
}

// roll records, during a roll of c, the histogram at the start of the
// buckets that start now.
func (hw *histWindows) roll(c *rollClock, h *Histogram) {
	var snap *HistogramSnapshot
	for w := range timedWindows {
		if !c.shift[w] {
			continue
		}
		if snap == nil {
			s := h.Snapshot()
			snap = &s
		}
		hw.starts[w][c.oldest(w)] = snap
	}
}

// read returns the histogram of each timed window at now, cur being the
// histogram now; nil for a window that counted nothing.
func (hw *histWindows) read(c *rollClock, now time.Time, cur HistogramSnapshot) []*HistogramSnapshot {
	out := make([]*HistogramSnapshot, timedWindows)
	counted := false
	for w := range timedWindows {
		start := hw.windowStart(c, now, w)
		d := cur
		if start != nil {
			d = cur.Minus(*start)
		}
		if d.Count > 0 {
			out[w] = &d
			counted = true
		}
	}
	if !counted {
		return nil
	}
	return out
}

// windowStart returns the histogram at the start of the oldest bucket of
// window w that a read at now reaches, nil for the series' start.
func (hw *histWindows) windowStart(c *rollClock, now time.Time, w int) *HistogramSnapshot {
	need := windowLengths[w] - c.spent(now)
	var start *HistogramSnapshot
	for k := 0; k < numStatBuckets && need > 0; k++ {
		slot := (c.head[w] + k) % numStatBuckets
		start = hw.starts[w][slot]
		need -= c.times[w][slot]
	}
	if need > 0 {
		return nil // the buckets do not cover the window yet
	}
	return start
}

// Minus returns s less o, an earlier snapshot of the same histogram: what
// it counted in between. Buckets o has more of than s (a torn read) count
// as none.
func (s HistogramSnapshot) Minus(o HistogramSnapshot) HistogramSnapshot {
	out := HistogramSnapshot{Sum: s.Sum - o.Sum}
	j := 0
	for _, b := range s.Buckets {
		for j < len(o.Buckets) && o.Buckets[j].Index < b.Index {
			j++
		}
		n := b.Count
		if j < len(o.Buckets) && o.Buckets[j].Index == b.Index {
			n -= o.Buckets[j].Count
		}
		if n > 0 {
			out.Buckets = append(out.Buckets, Bucket{Index: b.Index, Count: n})
			out.Count += n
		}
	}
	if out.Count == 0 {
		out.Sum = 0
	}
	out.Sum = max(out.Sum, 0)
	return out
}
