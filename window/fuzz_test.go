package window_test

import (
	"slices"
	"testing"
	"time"

	"github.com/squallstream/squall/window"
)

// FuzzManager drives a manager of a fuzzed spec with fuzzed adds and ticks
// and checks that every tuple has exactly one fate (dropped, late, expired,
// or still held), that windows hold only tuples not yet gone, in time
// order, that a count window never holds more than its length, and that a
// restored tuple is never new and never fires a window alone.
func FuzzManager(f *testing.F) {
	f.Add(uint8(3), uint16(0), uint8(2), uint16(0), false, uint8(0), []byte{1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add(uint8(0), uint16(1000), uint8(0), uint16(300), true, uint8(8), []byte{0x80, 7, 3, 0x81, 0x90, 9, 0xff, 1})
	f.Add(uint8(5), uint16(0), uint8(0), uint16(500), true, uint8(3), []byte{5, 4, 3, 2, 1, 0xf0, 0xf0})
	f.Add(uint8(3), uint16(0), uint8(2), uint16(0), false, uint8(0), []byte{0xe1, 0xe2, 3, 0xe4, 5, 6, 0xf3, 7})
	f.Add(uint8(0), uint16(800), uint8(0), uint16(200), false, uint8(0), []byte{0xe1, 0xe2, 0xf5, 0xf5, 3, 0xf5, 0xf5, 0xf9})
	f.Fuzz(func(t *testing.T, lenCount uint8, lenMs uint16, slideCount uint8, slideMs uint16, eventTime bool, maxTuples uint8, ops []byte) {
		spec := window.Spec{WatermarkInterval: 100 * time.Millisecond, MaxTuples: int(maxTuples)}
		if lenCount > 0 {
			spec.LengthCount = int(lenCount)
		} else {
			spec.LengthDuration = time.Duration(lenMs%5000+1) * time.Millisecond
		}
		if slideCount > 0 {
			spec.SlideCount = int(slideCount)
		} else if slideMs > 0 {
			spec.SlideDuration = time.Duration(slideMs) * time.Millisecond
		}
		if spec.MaxTuples > 0 && spec.LengthCount > spec.MaxTuples {
			spec.MaxTuples = spec.LengthCount
		}
		if eventTime {
			spec.TimestampField = "ts"
			spec.Lag = 50 * time.Millisecond
		}
		m := window.New[int](spec)
		const (
			held = iota + 1
			gone
		)
		fate := map[int]int{}
		tsOf := map[int]int64{}
		now := t0
		var shown []int // the last window's tuples
		// restored are tuples given to Restore that no window showed yet.
		restored := map[int]bool{}
		check := func(r window.Result[int]) {
			for _, list := range [][]int{r.Dropped, r.Late} {
				for _, id := range list {
					if fate[id] == gone {
						t.Fatalf("tuple %d has two fates", id)
					}
					fate[id] = gone
				}
			}
			for _, w := range r.Windows {
				// Each window is the last one, minus Expired, plus New,
				// plus restored tuples, which are never new.
				var want []int
				for _, id := range shown {
					if !slices.Contains(w.Expired, id) {
						want = append(want, id)
					}
				}
				for _, id := range w.New {
					if restored[id] || slices.Contains(want, id) {
						t.Fatalf("tuple %d is new in window %v, but was restored or shown", id, w.Tuples)
					}
				}
				want = append(want, w.New...)
				alone := true
				for _, id := range w.Tuples {
					if restored[id] {
						want = append(want, id)
						delete(restored, id)
					} else {
						alone = false
					}
				}
				if alone {
					t.Fatalf("window %v of nothing but restored tuples fired", w.Tuples)
				}
				if !sameSet(want, w.Tuples) {
					t.Fatalf("window %v is not the last one %v minus %v plus %v", w.Tuples, shown, w.Expired, w.New)
				}
				shown = w.Tuples
				if spec.LengthCount > 0 && len(w.Tuples) > spec.LengthCount {
					t.Fatalf("window of %d tuples, length %d", len(w.Tuples), spec.LengthCount)
				}
				for i, id := range w.Tuples {
					if fate[id] != held {
						t.Fatalf("window holds tuple %d, which is gone or unknown", id)
					}
					if eventTime && i > 0 && tsOf[id] < tsOf[w.Tuples[i-1]] {
						t.Fatalf("window %v is out of event-time order", w.Tuples)
					}
				}
			}
			for _, id := range r.Expired {
				if fate[id] != held {
					t.Fatalf("tuple %d expired twice or was never added", id)
				}
				fate[id] = gone
			}
		}
		for i, op := range ops {
			switch {
			case op >= 0xf0:
				now = now.Add(time.Duration(op&0x0f) * 97 * time.Millisecond)
				check(m.Tick(now))
			default:
				now = now.Add(time.Duration(op>>4) * time.Millisecond)
				id, ts := i, int64(op%64*13)+int64(i*5)
				fate[id], tsOf[id] = held, ts
				if op >= 0xe0 {
					restored[id] = true
					check(m.Restore(now, id, ts, "s"))
				} else {
					check(m.Add(now, id, ts, "s"))
				}
			}
			heldNow := 0
			for _, f := range fate {
				if f == held {
					heldNow++
				}
			}
			if st := m.Stats(); st.Held != heldNow {
				t.Fatalf("Stats().Held = %d, but %d tuples have no fate yet", st.Held, heldNow)
			}
			if spec.LengthCount > 0 && !eventTime && m.Stats().Held > spec.LengthCount {
				t.Fatalf("count window holds %d, length %d", m.Stats().Held, spec.LengthCount)
			}
			if spec.MaxTuples > 0 && m.Stats().Held > spec.MaxTuples {
				t.Fatalf("holds %d, cap %d", m.Stats().Held, spec.MaxTuples)
			}
		}
	})
}

func sameSet(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
