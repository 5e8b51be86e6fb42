package metrics

import (
	"cmp"
	"fmt"
	"slices"
)

// Snapshot is the metrics of a task, or of an executor's tasks merged, in
// every window: what a worker ships in its heartbeat, and what nimbus
// merges (with Merge) to answer for a component or a topology. It is a
// plain value, so nimbus keeps nothing: another nimbus reads the same
// heartbeats and answers the same.
//
// Windows are read where the buckets are, in the worker, as Storm's
// executors read theirs before they heartbeat: rolling buckets of
// different workers start at different times and would not add up
// bucket by bucket, and twenty of them per window would weigh twenty times
// as much.
type Snapshot struct {
	Component string `json:"component"`
	// FirstTask and LastTask are the task ids covered, as Storm's
	// executor ids [start-task end-task].
	FirstTask int `json:"firstTask"`
	LastTask  int `json:"lastTask"`
	// UptimeSecs is how long the tasks have run, for capacity.
	UptimeSecs int64 `json:"uptimeSecs"`
	// Series are sorted by user (built-in first), name and stream.
	Series []Series `json:"series,omitempty"`
}

// Series is one metric of a snapshot.
type Series struct {
	Name string `json:"name"`
	// Stream is an output stream's id, a bolt input's "component:stream",
	// or "" for a metric of the task.
	Stream string `json:"stream,omitempty"`
	// User is set for user metrics, which have their own names.
	User bool `json:"user,omitempty"`
	Kind Kind `json:"kind"`
	// Counts are, in each window, a counter's increase, or how many values
	// a histogram counted.
	Counts Counts `json:"counts,omitzero"`
	// Sums are, in each window, the sum of the values a histogram counted
	// (nanoseconds for the built-in latencies).
	Sums Sums `json:"sums,omitzero"`
	// Value is a gauge's value; merged gauges add up.
	Value float64 `json:"value,omitzero"`
	// Histogram holds a histogram's buckets, all time, for percentiles;
	// nil before it counted a value. Heartbeats carry it, so that nimbus
	// answers percentiles of merged executors (buckets add up).
	Histogram *HistogramSnapshot `json:"histogram,omitempty"`
	// Windowed holds, for the built-in histograms (latencies), the
	// buckets of the values counted in each timed window (10m, 3h, 1d),
	// nil for a window that counted none: percentiles per window
	// (histwindow.go). Nil when no window counted anything.
	Windowed []*HistogramSnapshot `json:"windowed,omitempty"`
}

// WindowHistogram returns the histogram of window w: Windowed's for a
// timed window, Histogram for all time; nil if there is none.
func (s Series) WindowHistogram(w Window) *HistogramSnapshot {
	if w == WindowAllTime {
		return s.Histogram
	}
	if int(w) < len(s.Windowed) {
		return s.Windowed[w]
	}
	return nil
}

// Mean returns a histogram's average value in window w, 0 if it counted
// none.
func (s Series) Mean(w Window) float64 {
	if s.Counts[w] == 0 {
		return 0
	}
	return s.Sums[w] / float64(s.Counts[w])
}

func compareSeries(a, b Series) int {
	if a.User != b.User {
		if a.User {
			return 1
		}
		return -1
	}
	return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Stream, b.Stream))
}

// sort puts the series in order, on a copy if they are not: snapshots
// read from elsewhere might not be.
func (s *Snapshot) sort() {
	if !slices.IsSortedFunc(s.Series, compareSeries) {
		s.Series = slices.Clone(s.Series)
		slices.SortFunc(s.Series, compareSeries)
	}
}

// Find returns the series name on stream: a built-in one, or with user
// set a user metric.
func (s Snapshot) Find(name, stream string, user bool) (Series, bool) {
	s.sort()
	i, ok := slices.BinarySearchFunc(s.Series, Series{Name: name, Stream: stream, User: user}, compareSeries)
	if !ok {
		return Series{}, false
	}
	return s.Series[i], true
}

// Total adds up the built-in series name over the streams for which keep
// returns true (every stream if keep is nil), e.g. a component's emitted
// tuples without its system streams.
func (s Snapshot) Total(name string, keep func(stream string) bool) Series {
	out := Series{Name: name}
	if b, ok := LookupBuiltin(name); ok {
		out.Kind = b.Kind
	}
	for _, x := range s.Series {
		if x.User || x.Name != name || keep != nil && !keep(x.Stream) {
			continue
		}
		out = addSeries(out, x)
	}
	out.Stream = ""
	return out
}

// Merge adds b to a: counts, sums, gauges and histograms add up, the tasks
// and uptime widen. Both must be of one component.
func Merge(a, b Snapshot) (Snapshot, error) {
	a.sort()
	b.sort()
	if a.Component != b.Component {
		return a, fmt.Errorf("%w: component %q with %q", ErrMerge, a.Component, b.Component)
	}
	out := Snapshot{
		Component:  a.Component,
		FirstTask:  min(a.FirstTask, b.FirstTask),
		LastTask:   max(a.LastTask, b.LastTask),
		UptimeSecs: max(a.UptimeSecs, b.UptimeSecs),
		Series:     make([]Series, 0, max(len(a.Series), len(b.Series))),
	}
	i, j := 0, 0
	for i < len(a.Series) || j < len(b.Series) {
		var c int
		switch {
		case i == len(a.Series):
			c = 1
		case j == len(b.Series):
			c = -1
		default:
			c = compareSeries(a.Series[i], b.Series[j])
		}
		switch {
		case c < 0:
			out.Series = append(out.Series, a.Series[i])
			i++
		case c > 0:
			out.Series = append(out.Series, b.Series[j])
			j++
		default:
			x, y := a.Series[i], b.Series[j]
			if x.Kind != y.Kind {
				return a, fmt.Errorf("%w: %s %q is a %v in one and a %v in the other", ErrMerge, a.Component, x.Name, x.Kind, y.Kind)
			}
			out.Series = append(out.Series, addSeries(x, y))
			i++
			j++
		}
	}
	return out, nil
}

// addSeries adds y to x.
func addSeries(x, y Series) Series {
	if x.Kind == 0 {
		x.Kind = y.Kind
	}
	for w := range x.Counts {
		x.Counts[w] += y.Counts[w]
		x.Sums[w] += y.Sums[w]
	}
	x.Value += y.Value
	switch {
	case y.Histogram == nil:
	case x.Histogram == nil:
		h := *y.Histogram
		h.Buckets = slices.Clone(h.Buckets)
		x.Histogram = &h
	default:
		h := x.Histogram.Merge(*y.Histogram)
		x.Histogram = &h
	}
	if len(y.Windowed) > 0 {
		merged := make([]*HistogramSnapshot, max(len(x.Windowed), len(y.Windowed)))
		for w := range merged {
			var a, b *HistogramSnapshot
			if w < len(x.Windowed) {
				a = x.Windowed[w]
			}
			if w < len(y.Windowed) {
				b = y.Windowed[w]
			}
			switch {
			case a == nil && b == nil:
			case a == nil:
				h := b.Merge(HistogramSnapshot{})
				merged[w] = &h
			case b == nil:
				merged[w] = a
			default:
				h := a.Merge(*b)
				merged[w] = &h
			}
		}
		x.Windowed = merged
	}
	return x
}

// Capacity returns a bolt executor's capacity as Storm's UI computes it:
// the share of the last 10 minutes (or of its uptime, if shorter) it spent
// executing, estimated as the tuples it executed times their average
// execute latency, over all its inputs. Near 1 means it cannot keep up. A
// component's capacity is the largest of its executors'; compute it per
// executor, before merging.
func Capacity(s Snapshot) float64 {
	window := min(s.UptimeSecs, int64(windowLengths[0].Seconds()))
	if window <= 0 {
		return 0
	}
	var busyNanos float64
	for _, lat := range s.Series {
		if lat.User || lat.Name != ExecuteLatency {
			continue
		}
		executed, _ := s.Find(Executed, lat.Stream, false)
		busyNanos += float64(executed.Counts[Window10m]) * lat.Mean(Window10m)
	}
	return busyNanos / (float64(window) * 1e9)
}
