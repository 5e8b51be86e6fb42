package metrics

import (
	"math"
	"sync/atomic"
	"time"
)

// A Histogram counts non-negative values in log-linear buckets: each power
// of two is split into 8 equal buckets, so a bucket is at most 12.5% of its
// lower bound wide and a quantile read from it (its midpoint) is within
// 6.25% of the truth, whatever the values' magnitude. Values below 2^-30
// count in a zero bucket, values of 2^64 and above in an overflow bucket.
//
// A power of two's buckets are allocated when the first value falls in it,
// so a latency histogram that spans a few decades costs about a kilobyte
// and recording allocates nothing once warm. Observe costs two atomic
// operations; Histograms are safe for concurrent use. The zero value is
// ready to use.
type Histogram struct {
	zero, over atomic.Int64
	octaves    [numOctaves]atomic.Pointer[octave]
	// sum holds the float64 bits of the sum of the observed values.
	sum atomic.Uint64
}

type octave [subBuckets]atomic.Int64

const (
	subBits    = 3
	subBuckets = 1 << subBits
	// minExp and maxExp bound the powers of two that have buckets.
	minExp     = -30
	maxExp     = 63
	numOctaves = maxExp - minExp + 1
	// Bucket indexes: 0 is the zero bucket, 1..numOctaves*subBuckets the
	// log-linear ones, overflowIndex the overflow bucket.
	overflowIndex = numOctaves*subBuckets + 1
)

// Observe records v. Values that are negative or NaN count as zero; the
// user-facing paths (Task.Record) refuse them before they get here.
func (h *Histogram) Observe(v float64) {
	if !(v > 0) { // negative, zero or NaN
		h.zero.Add(1)
		h.addSum(0)
		return
	}
	bits := math.Float64bits(v)
	e := int(bits>>52) - 1023
	switch {
	case e < minExp:
		h.zero.Add(1)
	case e > maxExp:
		h.over.Add(1)
	default:
		o := h.octaves[e-minExp].Load()
		if o == nil {
			o = h.grow(e - minExp)
		}
		o[(bits>>(52-subBits))&(subBuckets-1)].Add(1)
	}
	h.addSum(v)
}

// ObserveDuration records d in nanoseconds, the unit of the built-in
// latency histograms.
func (h *Histogram) ObserveDuration(d time.Duration) { h.Observe(float64(d)) }

func (h *Histogram) grow(i int) *octave {
	o := new(octave)
	if h.octaves[i].CompareAndSwap(nil, o) {
		return o
	}
	return h.octaves[i].Load()
}

func (h *Histogram) addSum(v float64) {
	for {
		old := h.sum.Load()
		if h.sum.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

// Count returns the number of values observed.
func (h *Histogram) Count() int64 {
	n := h.zero.Load() + h.over.Load()
	for i := range h.octaves {
		if o := h.octaves[i].Load(); o != nil {
			for j := range o {
				n += o[j].Load()
			}
		}
	}
	return n
}

// Sum returns the sum of the values observed.
func (h *Histogram) Sum() float64 { return math.Float64frombits(h.sum.Load()) }

// Snapshot returns the histogram's counts. Values observed while it reads
// may be missing from the counts or the sum but not both.
func (h *Histogram) Snapshot() HistogramSnapshot {
	var s HistogramSnapshot
	add := func(i int, n int64) {
		if n != 0 {
			s.Buckets = append(s.Buckets, Bucket{Index: i, Count: n})
			s.Count += n
		}
	}
	add(0, h.zero.Load())
	for i := range h.octaves {
		if o := h.octaves[i].Load(); o != nil {
			for j := range o {
				add(1+i*subBuckets+j, o[j].Load())
			}
		}
	}
	add(overflowIndex, h.over.Load())
	s.Sum = h.Sum()
	return s
}

// HistogramSnapshot is a histogram's counts at one time, mergeable with
// others: the non-empty buckets in increasing order of their index.
type HistogramSnapshot struct {
	Count   int64    `json:"count"`
	Sum     float64  `json:"sum"`
	Buckets []Bucket `json:"buckets,omitempty"`
}

// Bucket is the count of one bucket of a HistogramSnapshot; BucketBounds
// tells which values its Index stands for.
type Bucket struct {
	Index int   `json:"i"`
	Count int64 `json:"n"`
}

// BucketBounds returns the values bucket i counts: lower <= v < upper.
func BucketBounds(i int) (lower, upper float64) {
	switch {
	case i <= 0:
		return 0, math.Ldexp(1, minExp)
	case i >= overflowIndex:
		return math.Ldexp(1, maxExp+1), math.Inf(1)
	}
	o, s := (i-1)/subBuckets, (i-1)%subBuckets
	e := o + minExp
	return math.Ldexp(float64(subBuckets+s), e-subBits), math.Ldexp(float64(subBuckets+s+1), e-subBits)
}

// bucketValue is the value that stands for bucket i in quantiles: its
// midpoint, 0 for the zero bucket, the lower bound for the overflow one.
func bucketValue(i int) float64 {
	lo, hi := BucketBounds(i)
	switch {
	case i <= 0:
		return 0
	case i >= overflowIndex:
		return lo
	}
	return (lo + hi) / 2
}

// Quantile returns the q-quantile (0 <= q <= 1) of the values, within
// 6.25% of the truth; 0 if there are none.
func (s HistogramSnapshot) Quantile(q float64) float64 {
	if s.Count == 0 {
		return 0
	}
	rank := max(int64(math.Ceil(q*float64(s.Count))), 1)
	var seen int64
	for _, b := range s.Buckets {
		seen += b.Count
		if seen >= rank {
			return bucketValue(b.Index)
		}
	}
	return bucketValue(s.Buckets[len(s.Buckets)-1].Index)
}

// Mean returns the average value, 0 if there are none.
func (s HistogramSnapshot) Mean() float64 {
	if s.Count == 0 {
		return 0
	}
	return s.Sum / float64(s.Count)
}

// CountBelow returns how many values are at most v, deciding for the
// bucket that holds v by its midpoint: the answer Prometheus's cumulative
// "le" buckets need, at the histogram's resolution.
func (s HistogramSnapshot) CountBelow(v float64) int64 {
	var n int64
	for _, b := range s.Buckets {
		if bucketValue(b.Index) > v {
			break
		}
		n += b.Count
	}
	return n
}

// Merge returns the sum of s and o.
func (s HistogramSnapshot) Merge(o HistogramSnapshot) HistogramSnapshot {
	out := HistogramSnapshot{Count: s.Count + o.Count, Sum: s.Sum + o.Sum}
	out.Buckets = make([]Bucket, 0, max(len(s.Buckets), len(o.Buckets)))
	i, j := 0, 0
	for i < len(s.Buckets) || j < len(o.Buckets) {
		switch {
		case j == len(o.Buckets) || i < len(s.Buckets) && s.Buckets[i].Index < o.Buckets[j].Index:
			out.Buckets = append(out.Buckets, s.Buckets[i])
			i++
		case i == len(s.Buckets) || o.Buckets[j].Index < s.Buckets[i].Index:
			out.Buckets = append(out.Buckets, o.Buckets[j])
			j++
		default:
			out.Buckets = append(out.Buckets, Bucket{Index: s.Buckets[i].Index, Count: s.Buckets[i].Count + o.Buckets[j].Count})
			i++
			j++
		}
	}
	return out
}
