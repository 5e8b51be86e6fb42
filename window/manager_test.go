package window_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/window"
)

// t0 is where the injected clock starts; times in the tests are offsets.
var t0 = time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// format renders a result as one line per item, for comparing.
func format[T any](r window.Result[T]) []string {
	var out []string
	if len(r.Dropped) > 0 {
		out = append(out, fmt.Sprint("dropped ", r.Dropped))
	}
	if len(r.Late) > 0 {
		out = append(out, fmt.Sprint("late ", r.Late))
	}
	for _, w := range r.Windows {
		out = append(out, fmt.Sprintf("window %v new %v expired %v", w.Tuples, w.New, w.Expired))
	}
	if len(r.Expired) > 0 {
		out = append(out, fmt.Sprint("expired ", r.Expired))
	}
	return out
}

// step is one call on a manager and the lines its result must give.
type step struct {
	at  time.Duration
	add string // tuple to add, or "" for a Tick
	// restore: add it with Restore, as evaluated before.
	restore bool
	ts      int64  // event time, ms
	input   string // stream, event time only
	want    []string
}

func run(t *testing.T, spec window.Spec, steps []step) *window.Manager[string] {
	t.Helper()
	m := window.New[string](spec)
	for i, s := range steps {
		var r window.Result[string]
		switch {
		case s.restore:
			r = m.Restore(at(s.at), s.add, s.ts, s.input)
		case s.add != "":
			r = m.Add(at(s.at), s.add, s.ts, s.input)
		default:
			r = m.Tick(at(s.at))
		}
		if got := format(r); !slices.Equal(got, s.want) {
			what := "Tick"
			switch {
			case s.restore:
				what = "Restore " + s.add
			case s.add != "":
				what = "Add " + s.add
			}
			t.Fatalf("step %d (%s at %v): got\n  %s\nwant\n  %s", i, what, s.at, strings.Join(got, "\n  "), strings.Join(s.want, "\n  "))
		}
		if spec.LengthCount > 0 && !spec.EventTime() && m.Stats().Held > spec.LengthCount {
			t.Fatalf("step %d: a count window of %d holds %d tuples", i, spec.LengthCount, m.Stats().Held)
		}
	}
	return m
}

func TestCountWindows(t *testing.T) {
	t.Run("sliding", func(t *testing.T) {
		run(t, window.Spec{LengthCount: 3, SlideCount: 2}, []step{
			{add: "a"},
			{add: "b", want: []string{"window [a b] new [a b] expired []"}},
			{add: "c"},
			{add: "d", want: []string{"window [b c d] new [c d] expired [a]", "expired [a]"}},
			{add: "e", want: []string{"expired [b]"}},
			{add: "f", want: []string{"window [d e f] new [e f] expired [b c]", "expired [c]"}},
			{at: time.Hour}, // time alone does nothing
		})
	})
	t.Run("tumbling", func(t *testing.T) {
		run(t, window.Spec{LengthCount: 2, SlideCount: 2}, []step{
			{add: "a"},
			{add: "b", want: []string{"window [a b] new [a b] expired []"}},
			{add: "c", want: []string{"expired [a]"}},
			{add: "d", want: []string{"window [c d] new [c d] expired [a b]", "expired [b]"}},
		})
	})
	t.Run("Storm's default slide of one tuple", func(t *testing.T) {
		run(t, window.Spec{LengthCount: 2}, []step{
			{add: "a", want: []string{"window [a] new [a] expired []"}},
			{add: "b", want: []string{"window [a b] new [b] expired []"}},
			{add: "c", want: []string{"window [b c] new [c] expired [a]", "expired [a]"}},
		})
	})
	t.Run("sliding by time", func(t *testing.T) {
		// Storm's count eviction keeps the last tuples however old, so a
		// window fires every interval, with nothing new if nothing came.
		run(t, window.Spec{LengthCount: 2, SlideDuration: 10 * time.Second}, []step{
			{at: 0, add: "a"},
			{at: 4 * time.Second, add: "b"},
			{at: 6 * time.Second, add: "c", want: []string{"expired [a]"}},
			// a left before any window showed it: it is acked, but no
			// window reports it.
			{at: 10 * time.Second, want: []string{"window [b c] new [b c] expired []"}},
			{at: 20 * time.Second, want: []string{"window [b c] new [] expired []"}},
			{at: 25 * time.Second, add: "d", want: []string{"expired [b]"}},
			{at: 30*time.Second - time.Millisecond},
			{at: 30 * time.Second, want: []string{"window [c d] new [d] expired [b]"}},
		})
	})
}

func TestDurationWindows(t *testing.T) {
	t.Run("sliding", func(t *testing.T) {
		// Storm's picture: length 10 s, sliding 5 s; a window firing at t
		// covers [t-10s, t).
		run(t, window.Spec{LengthDuration: 10 * time.Second, SlideDuration: 5 * time.Second}, []step{
			{at: 0},
			{at: 1 * time.Second, add: "e1"},
			{at: 4 * time.Second, add: "e2"},
			{at: 5 * time.Second, add: "e3", want: []string{"window [e1 e2] new [e1 e2] expired []"}},
			{at: 9 * time.Second, add: "e4"},
			{at: 10 * time.Second, want: []string{"window [e1 e2 e3 e4] new [e3 e4] expired []"}},
			{at: 12 * time.Second, add: "e5", want: []string{"expired [e1 e2]"}},
			{at: 15 * time.Second, want: []string{"window [e3 e4 e5] new [e5] expired [e1 e2]"}},
			// A late tick catches up: the window ending at 20 s fires, the
			// one ending at 25 s is empty (e5 left it) and does not.
			{at: 27 * time.Second, want: []string{"window [e5] new [] expired [e3 e4]", "expired [e3 e4 e5]"}},
			{at: 40 * time.Second},
		})
	})
	t.Run("tumbling", func(t *testing.T) {
		m := run(t, window.Spec{LengthDuration: 5 * time.Second, SlideDuration: 5 * time.Second}, []step{
			{at: 0, add: "a"},
			{at: 4999 * time.Millisecond, add: "b"},
			// c arrives after the window [0, 5 s) fired: a and b are in no
			// later window, and expire at once.
			{at: 5 * time.Second, add: "c", want: []string{"window [a b] new [a b] expired []", "expired [a b]"}},
			{at: 10 * time.Second, want: []string{"window [c] new [c] expired [a b]"}},
			// Windows with nothing in them do not fire.
			{at: 15 * time.Second, want: []string{"expired [c]"}},
			{at: 20 * time.Second},
			{at: 21 * time.Second, add: "d"},
		})
		if next, ok := m.NextTick(); !ok || !next.Equal(at(25*time.Second)) {
			t.Errorf("NextTick() = %v, %v; want %v", next, ok, at(25*time.Second))
		}
	})
	t.Run("sliding by count", func(t *testing.T) {
		// A window fires every second tuple and holds the last 10 s.
		run(t, window.Spec{LengthDuration: 10 * time.Second, SlideCount: 2}, []step{
			{at: 0, add: "a"},
			{at: 3 * time.Second, add: "b", want: []string{"window [a b] new [a b] expired []"}},
			{at: 9 * time.Second, add: "c"},
			{at: 11 * time.Second, add: "d", want: []string{"window [b c d] new [c d] expired [a]", "expired [a]"}},
			{at: time.Minute}, // time alone fires nothing
			{at: time.Minute, add: "e", want: []string{"expired [b c d]"}},
			{at: time.Minute, add: "f", want: []string{"window [e f] new [e f] expired [b c d]"}},
		})
	})
	t.Run("a clock stepping back", func(t *testing.T) {
		run(t, window.Spec{LengthDuration: 10 * time.Second, SlideCount: 2}, []step{
			{at: 5 * time.Second, add: "a"},
			{at: 0, add: "b", want: []string{"window [a b] new [a b] expired []"}},
		})
	})
}

// Storm's documented example of event time: length 20 s, sliding 10 s,
// lag 5 s, watermarks every second.
func TestEventTimeStormExample(t *testing.T) {
	spec := window.Spec{
		LengthDuration: 20 * time.Second, SlideDuration: 10 * time.Second,
		TimestampField: "ts", Lag: 5 * time.Second, WatermarkInterval: time.Second,
	}
	six := int64(6 * 3600 * 1000)   // 06:00:00 in ms
	eight := int64(8 * 3600 * 1000) // 08:00:00
	s := func(n int64) int64 { return n * 1000 }
	run(t, spec, []step{
		{at: 0},
		{at: 100 * time.Millisecond, add: "e1", ts: six + s(3), input: "spout:default"},
		{at: 200 * time.Millisecond, add: "e2", ts: six + s(5), input: "spout:default"},
		{at: 300 * time.Millisecond, add: "e3", ts: six + s(7), input: "spout:default"},
		{at: 400 * time.Millisecond, add: "e4", ts: six + s(18), input: "spout:default"},
		{at: 500 * time.Millisecond, add: "e5", ts: six + s(26), input: "spout:default"},
		{at: 600 * time.Millisecond, add: "e6", ts: six + s(36), input: "spout:default"},
		// Watermark 06:00:31: three windows.
		{at: time.Second, want: []string{"window [e1 e2 e3] new [e1 e2 e3] expired []", "window [e1 e2 e3 e4] new [e4] expired []", "window [e4 e5] new [e5] expired [e1 e2 e3]", "expired [e1 e2 e3]"}},
		{at: 1100 * time.Millisecond, add: "e7", ts: eight + s(25), input: "spout:default"},
		{at: 1200 * time.Millisecond, add: "e8", ts: eight + s(26), input: "spout:default"},
		{at: 1300 * time.Millisecond, add: "e9", ts: eight + s(27), input: "spout:default"},
		{at: 1400 * time.Millisecond, add: "e10", ts: eight + s(39), input: "spout:default"},
		// Watermark 08:00:34: 06:00:20-40, 06:00:30-50, then 08:00:10-30
		// (06:00:40-60, empty, does not fire; e6 left with it, which the
		// next window reports, where Storm would not).
		{at: 2 * time.Second, want: []string{"window [e5 e6] new [e6] expired [e4]", "window [e6] new [] expired [e5]", "window [e7 e8 e9] new [e7 e8 e9] expired [e6]", "expired [e4 e5 e6]"}},
	})
}

func TestEventTimeOutOfOrderAndLate(t *testing.T) {
	spec := window.Spec{
		LengthDuration: 10 * time.Second, SlideDuration: 10 * time.Second,
		TimestampField: "ts", Lag: 2 * time.Second, WatermarkInterval: time.Second,
		Streams: []string{"a:default", "b:default"},
	}
	m := run(t, spec, []step{
		{at: 0},
		// Out of order within the lag: windowed by timestamp.
		{add: "a12", ts: 12_000, input: "a:default"},
		{add: "a9", ts: 9_000, input: "a:default"},
		{add: "a21", ts: 21_000, input: "a:default"},
		// No watermark until stream b has spoken.
		{at: time.Second},
		{at: 1500 * time.Millisecond, add: "b15", ts: 15_000, input: "b:default"},
		// Watermark min(21, 15) - 2 = 13 s: the window (0, 10 s] fires.
		{at: 2 * time.Second, want: []string{"window [a9] new [a9] expired []", "expired [a9]"}},
		// Behind the watermark: late. At it: in time.
		{at: 2100 * time.Millisecond, add: "b12", ts: 12_999, input: "b:default", want: []string{"late [b12]"}},
		{at: 2200 * time.Millisecond, add: "b13", ts: 13_000, input: "b:default"},
		{at: 2300 * time.Millisecond, add: "b25", ts: 25_000, input: "b:default"},
		// Watermark min(21, 25) - 2 = 19 s: nothing ends before it.
		{at: 3 * time.Second},
		{at: 3100 * time.Millisecond, add: "a30", ts: 30_000, input: "a:default"},
		// Watermark min(30, 25) - 2 = 23 s: (10, 20 s] fires, with a12,
		// b13 and b15 in event-time order.
		{at: 4 * time.Second, want: []string{"window [a12 b13 b15] new [a12 b13 b15] expired [a9]", "expired [a12 b13 b15]"}},
	})
	// Held: a21 in the window (20, 30 s], b25 and a30 waiting.
	if st := m.Stats(); st.Late != 1 || st.Watermark != 23_000 || st.Held != 3 {
		t.Errorf("Stats() = %+v; want 1 late, watermark 23000, 3 held", st)
	}
}

func TestEventTimeCountWindows(t *testing.T) {
	spec := window.Spec{LengthCount: 2, SlideCount: 2, TimestampField: "ts", WatermarkInterval: time.Second}
	run(t, spec, []step{
		{at: 0},
		{add: "c", ts: 3, input: "s"},
		{add: "a", ts: 1, input: "s"},
		{add: "d", ts: 4, input: "s"},
		{add: "b", ts: 2, input: "s"},
		{add: "e", ts: 9, input: "s"},
		// Watermark 9: tuples before it, in timestamp order, by twos.
		{at: time.Second, want: []string{"window [a b] new [a b] expired []", "window [c d] new [c d] expired [a b]", "expired [a b]"}},
	})
}

// A duration window holds at most MaxTuples; the oldest beyond are failed.
func TestCap(t *testing.T) {
	run(t, window.Spec{LengthDuration: time.Minute, SlideDuration: time.Minute, MaxTuples: 2}, []step{
		{add: "a"},
		{add: "b"},
		{add: "c", want: []string{"dropped [a]"}},
		{at: time.Minute, want: []string{"window [b c] new [b c] expired []"}},
	})
	// In event time, tuples waiting for the watermark count too.
	m := run(t, window.Spec{LengthDuration: time.Minute, SlideDuration: time.Minute, MaxTuples: 2, TimestampField: "ts"}, []step{
		{add: "b", ts: 2, input: "s"},
		{add: "a", ts: 1, input: "s"},
		{add: "c", ts: 3, input: "s", want: []string{"dropped [a]"}},
	})
	if st := m.Stats(); st.Dropped != 1 || st.Held != 2 {
		t.Errorf("Stats() = %+v; want 1 dropped, 2 held", st)
	}
}

// However long it runs, a count window holds its length and a duration
// window its tuples of one length plus one interval.
func TestMemoryBounded(t *testing.T) {
	count := window.New[int](window.Spec{LengthCount: 100, SlideCount: 7})
	dur := window.New[int](window.Spec{LengthDuration: time.Second, SlideDuration: 100 * time.Millisecond})
	maxHeld := 0
	for i := range 200_000 {
		now := at(time.Duration(i) * time.Millisecond) // 1000 tuples a second
		count.Add(now, i, 0, "")
		dur.Add(now, i, 0, "")
		maxHeld = max(maxHeld, dur.Stats().Held)
		if h := count.Stats().Held; h > 100 {
			t.Fatalf("count window holds %d", h)
		}
	}
	if maxHeld > 1100 {
		t.Errorf("duration window held up to %d tuples, want at most 1100", maxHeld)
	}
}

// A failed window's tuples leave the manager at once, and the next window
// reports those it showed as expired.
func TestRemove(t *testing.T) {
	m := run(t, window.Spec{LengthCount: 4, SlideCount: 2, TimestampField: "ts", WatermarkInterval: time.Second}, []step{
		{at: 0, add: "a", ts: 1, input: "s"},
		{add: "b", ts: 2, input: "s"},
		{add: "c", ts: 3, input: "s"},
		{add: "x", ts: 9, input: "s"},
		{add: "z", ts: 12, input: "s"},
		// Watermark 12: a, b, c and x are released, a window fires.
		{at: time.Second, want: []string{"window [a b] new [a b] expired []", "window [a b c x] new [c x] expired []"}},
	})
	// b was shown; z waits for the watermark: both go.
	removed := m.Remove(func(s string) bool { return s == "b" || s == "z" })
	if !slices.Equal(removed, []string{"b", "z"}) {
		t.Fatalf("Remove() = %v, want [b z]", removed)
	}
	m.Add(at(1100*time.Millisecond), "d", 13, "s")
	m.Add(at(1200*time.Millisecond), "e", 14, "s")
	m.Add(at(1300*time.Millisecond), "y", 30, "s")
	got := format(m.Tick(at(2 * time.Second)))
	// The window of four: b went with Remove, a with d and e.
	want := []string{"window [c x d e] new [d e] expired [b a]", "expired [a]"}
	if !slices.Equal(got, want) {
		t.Errorf("after Remove: %v, want %v", got, want)
	}
}

// Restore puts back tuples a window evaluated before a restart: they are
// in the windows but never New, do not trigger a count window, and a window
// of nothing but them does not fire; they expire as any tuple does.
func TestRestore(t *testing.T) {
	t.Run("count window", func(t *testing.T) {
		run(t, window.Spec{LengthCount: 3, SlideCount: 2}, []step{
			{add: "a", restore: true},
			{add: "b", restore: true}, // no trigger: evaluated before
			{add: "c"},
			// a was evaluated before: its leaving is reported.
			{add: "d", want: []string{"window [b c d] new [c d] expired [a]", "expired [a]"}},
			{add: "e", want: []string{"expired [b]"}},
			{add: "f", want: []string{"window [d e f] new [e f] expired [b c]", "expired [c]"}},
		})
	})
	t.Run("sliding duration window", func(t *testing.T) {
		run(t, window.Spec{LengthDuration: 10 * time.Second, SlideDuration: 5 * time.Second}, []step{
			{at: 0},
			{at: 1 * time.Second, add: "r1", restore: true},
			{at: 2 * time.Second, add: "r2", restore: true},
			// Nothing but restored tuples: the window does not fire again.
			{at: 5 * time.Second},
			{at: 6 * time.Second, add: "e1"},
			{at: 10 * time.Second, want: []string{"window [r1 r2 e1] new [e1] expired []"}},
			// Since that window, r1 and r2 are tuples like any other.
			{at: 15 * time.Second, want: []string{"window [e1] new [] expired [r1 r2]", "expired [r1 r2]"}},
		})
	})
	t.Run("restored tuples expire unfired", func(t *testing.T) {
		run(t, window.Spec{LengthDuration: 5 * time.Second, SlideDuration: 5 * time.Second}, []step{
			{at: 0, add: "r1", restore: true},
			{at: 5 * time.Second},
			{at: 6 * time.Second, add: "a", want: []string{"expired [r1]"}},
			// r1 was in an evaluated window before the restart: the next
			// window reports it expired, so that a running aggregate kept
			// in state (+= new, -= expired) takes it out.
			{at: 10 * time.Second, want: []string{"window [a] new [a] expired [r1]"}},
		})
	})
	t.Run("event time", func(t *testing.T) {
		spec := window.Spec{LengthDuration: 10 * time.Second, SlideDuration: 10 * time.Second,
			TimestampField: "ts", WatermarkInterval: time.Second}
		run(t, spec, []step{
			{at: 0},
			{at: 100 * time.Millisecond, add: "r1", ts: 1000, input: "s:default", restore: true},
			{at: 200 * time.Millisecond, add: "e1", ts: 2000, input: "s:default"},
			{at: 300 * time.Millisecond, add: "e2", ts: 12000, input: "s:default"},
			{at: time.Second, want: []string{"window [r1 e1] new [e1] expired []"}},
		})
	})
}
