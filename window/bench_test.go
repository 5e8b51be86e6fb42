package window_test

import (
	"testing"
	"time"

	"github.com/squallstream/squall/window"
)

// BenchmarkSliding10s1s adds tuples to Storm's usual 10 s window sliding
// every 1 s, at 100k tuples a second of processing time, handling what
// each Add returns as an executor would (touching every window's tuples).
func BenchmarkSliding10s1s(b *testing.B) {
	m := window.New[int](window.Spec{LengthDuration: 10 * time.Second, SlideDuration: time.Second, MaxTuples: 2_000_000})
	step := 10 * time.Microsecond
	now := t0
	sum := 0
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		now = now.Add(step)
		r := m.Add(now, i, 0, "")
		for _, w := range r.Windows {
			sum += len(w.Tuples) + len(w.New)
		}
		sum += len(r.Expired)
	}
	if sum < 0 {
		b.Fatal(sum)
	}
}

// BenchmarkCount1000by100 is a count window of 1000 sliding every 100.
func BenchmarkCount1000by100(b *testing.B) {
	m := window.New[int](window.Spec{LengthCount: 1000, SlideCount: 100})
	sum := 0
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r := m.Add(t0, i, 0, "")
		for _, w := range r.Windows {
			sum += len(w.Tuples)
		}
	}
	if sum < 0 {
		b.Fatal(sum)
	}
}
