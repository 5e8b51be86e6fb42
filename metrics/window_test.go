package metrics

import (
	"errors"
	"math"
	"testing"
	"time"
)

// stat is one rolled series on its own clock, as a test drives it.
type stat struct {
	clock rollClock
	r     rolling
	cur   cell
}

func newStat(start time.Time) *stat { return &stat{clock: newRollClock(start)} }

func (s *stat) add(n int64, sum float64) { s.cur.n += n; s.cur.sum += sum }

func (s *stat) roll(now time.Time) {
	s.clock.advance(now)
	s.r.roll(&s.clock, s.cur)
	s.clock.finish()
}

func (s *stat) counts(now time.Time) Counts {
	c, _ := s.r.read(&s.clock, now, s.cur, true)
	return c
}

func (s *stat) means(now time.Time) [NumWindows]float64 {
	c, sums := s.r.read(&s.clock, now, s.cur, false)
	var out [NumWindows]float64
	for w := range out {
		out[w] = sums[w] / float64(c[w])
	}
	return out
}

var t0 = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

// TestCountWindows follows a counter counting 100 every 30 seconds for a
// day, as Storm's CountStatTest does: each window holds exactly its share.
func TestCountWindows(t *testing.T) {
	const perStep = 100
	step := 30 * time.Second
	s := newStat(t0)
	now := t0
	run := func(until time.Duration, rollEvery int) {
		for i := 0; now.Sub(t0) < until; i++ {
			s.add(perStep/2, 0)
			now = now.Add(step / 2)
			if i%rollEvery == 0 {
				s.roll(now)
			}
			s.add(perStep/2, 0)
			now = now.Add(step / 2)
		}
	}
	per := func(d time.Duration) int64 { return perStep * int64(d/step) }

	run(10*time.Minute, 1)
	if got, want := s.counts(now), (Counts{per(10 * time.Minute), per(10 * time.Minute), per(10 * time.Minute), per(10 * time.Minute)}); got != want {
		t.Errorf("after 10 minutes: %v, want %v", got, want)
	}
	run(3*time.Hour, 1)
	if got, want := s.counts(now), (Counts{per(10 * time.Minute), per(3 * time.Hour), per(3 * time.Hour), per(3 * time.Hour)}); got != want {
		t.Errorf("after 3 hours: %v, want %v", got, want)
	}
	run(24*time.Hour, 3) // rolling less often than Storm changes nothing at an even rate
	if got, want := s.counts(now), (Counts{per(10 * time.Minute), per(3 * time.Hour), per(24 * time.Hour), per(24 * time.Hour)}); got != want {
		t.Errorf("after a day: %v, want %v", got, want)
	}
	run(30*time.Hour, 1)
	if got, want := s.counts(now), (Counts{per(10 * time.Minute), per(3 * time.Hour), per(24 * time.Hour), per(30 * time.Hour)}); got != want {
		t.Errorf("after 30 hours: %v, want %v", got, want)
	}
}

// TestLatencyWindows follows a latency that changes, as Storm's
// LatencyStatTest does: latencies take whole buckets, so the 10-minute
// average after three hours is the new latency alone.
func TestLatencyWindows(t *testing.T) {
	step := 30 * time.Second
	s := newStat(t0)
	now := t0
	run := func(until time.Duration, lat float64) {
		for now.Sub(t0) < until {
			s.add(1, lat)
			now = now.Add(step)
			s.roll(now)
		}
	}
	near := func(got, want [NumWindows]float64) bool {
		for w := range got {
			if math.Abs(got[w]-want[w]) > 0.01 {
				return false
			}
		}
		return true
	}
	steps := func(d time.Duration) float64 { return float64(d / step) }

	run(10*time.Minute, 100)
	if got := s.means(now); !near(got, [NumWindows]float64{100, 100, 100, 100}) {
		t.Errorf("after 10 minutes: %v, want 100 everywhere", got)
	}
	run(3*time.Hour, 200)
	mixed := (100*steps(10*time.Minute) + 200*(steps(3*time.Hour)-steps(10*time.Minute))) / steps(3*time.Hour)
	if got := s.means(now); !near(got, [NumWindows]float64{200, mixed, mixed, mixed}) {
		t.Errorf("after 3 hours: %v, want [200 %v %v %v]", got, mixed, mixed, mixed)
	}
	run(24*time.Hour, 300)
	day := (100*steps(10*time.Minute) + 200*(steps(3*time.Hour)-steps(10*time.Minute)) + 300*(steps(24*time.Hour)-steps(3*time.Hour))) / steps(24*time.Hour)
	if got := s.means(now); !near(got, [NumWindows]float64{300, 300, day, day}) {
		t.Errorf("after a day: %v, want [300 300 %v %v]", got, day, day)
	}
}

// TestCountProrates checks the arithmetic of one read by hand: the oldest
// bucket a window reaches counts for the part of it inside the window.
func TestCountProrates(t *testing.T) {
	b := bucketLengths[0]
	s := newStat(t0)
	now := t0
	// 19 full buckets of b, the first with 1900 counts, the rest 100 each.
	for i := range 19 {
		s.add(map[bool]int64{true: 1900, false: 100}[i == 0], 0)
		now = now.Add(b)
		s.roll(now)
	}
	// The window now ends b/2 into the buckets' span: 10m = 19 b, the
	// newest 18 buckets and half of the oldest are in it, plus the 10
	// counted since the last roll, a quarter of a bucket ago.
	s.add(10, 0)
	now = now.Add(b / 4)
	got := s.counts(now)[Window10m]
	want := int64(10 + 18*100 + 1900*3/4)
	if got != want {
		t.Errorf("10m count = %d, want %d", got, want)
	}
}

func TestWindowNotRolledForLong(t *testing.T) {
	s := newStat(t0)
	s.add(6000, 0)
	now := t0.Add(time.Hour) // never rolled: 6000 over an hour
	if got := s.counts(now); got != (Counts{1000, 6000, 6000, 6000}) {
		t.Errorf("counts = %v, want [1000 6000 6000 6000]", got)
	}
}

func TestWindowClockStepsBack(t *testing.T) {
	s := newStat(t0)
	s.add(5, 0)
	s.roll(t0.Add(10 * time.Second))
	s.add(5, 0)
	s.roll(t0) // a step back spends no time, and loses none
	s.roll(t0.Add(10 * time.Second))
	if got := s.counts(t0.Add(-time.Hour)); got != (Counts{10, 10, 10, 10}) {
		t.Errorf("counts = %v, want 10 everywhere", got)
	}
	if s.clock.times[0][s.clock.head[0]] != 10*time.Second {
		t.Errorf("newest bucket spans %v, want 10s", s.clock.times[0][s.clock.head[0]])
	}
}

func TestWindowNames(t *testing.T) {
	tests := []struct {
		w              Window
		id, pretty     string
		length         time.Duration
		parsedFromName bool
	}{
		{Window10m, "600", "10m 0s", 10 * time.Minute, true},
		{Window3h, "10800", "3h 0m 0s", 3 * time.Hour, true},
		{Window1d, "86400", "1d 0h 0m 0s", 24 * time.Hour, true},
		{WindowAllTime, ":all-time", "All time", 0, true},
	}
	for _, tt := range tests {
		if tt.w.String() != tt.id || tt.w.Pretty() != tt.pretty || tt.w.Length() != tt.length {
			t.Errorf("window %d: %q %q %v, want %q %q %v", tt.w, tt.w, tt.w.Pretty(), tt.w.Length(), tt.id, tt.pretty, tt.length)
		}
		if w, err := ParseWindow(tt.id); err != nil || w != tt.w {
			t.Errorf("ParseWindow(%q) = %v, %v; want %v", tt.id, w, err, tt.w)
		}
	}
	if w, err := ParseWindow(""); err != nil || w != WindowAllTime {
		t.Errorf("ParseWindow(\"\") = %v, %v; want all time", w, err)
	}
	for _, bad := range []string{"60", "all-time", "600s", " 600"} {
		if _, err := ParseWindow(bad); !errors.Is(err, ErrUnknownWindow) {
			t.Errorf("ParseWindow(%q) error = %v, want ErrUnknownWindow", bad, err)
		}
	}
}
