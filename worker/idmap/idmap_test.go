package idmap

import (
	"math/rand/v2"
	"testing"
)

// TestAgainstGoMap runs random operations on a Map and a Go map and
// compares them after each, with ids that collide in their home slots
// (a few values of the high bits) as well as random ones.
func TestAgainstGoMap(t *testing.T) {
	for _, idSpace := range []uint64{8, 100, 1 << 20, 0} {
		rng := rand.New(rand.NewPCG(idSpace, 7))
		id := func() uint64 {
			if idSpace == 0 {
				return rng.Uint64() | 1
			}
			return 1 + rng.Uint64N(idSpace)
		}
		var m Map[int]
		want := map[uint64]int{}
		var ids []uint64
		for op := range 50_000 {
			switch r := rng.IntN(10); {
			case r < 5:
				k := id()
				m.Put(k, op)
				want[k] = op
				ids = append(ids, k)
			case r < 8 && len(ids) > 0:
				k := ids[rng.IntN(len(ids))]
				got, ok := m.Delete(k)
				w, wok := want[k]
				delete(want, k)
				if got != w || ok != wok {
					t.Fatalf("space %d op %d: Delete(%d) = %d, %v, want %d, %v", idSpace, op, k, got, ok, w, wok)
				}
			case r < 9 && len(ids) > 0:
				k := ids[rng.IntN(len(ids))]
				got, ok := m.Get(k)
				w, wok := want[k]
				if got != w || ok != wok {
					t.Fatalf("space %d op %d: Get(%d) = %d, %v, want %d, %v", idSpace, op, k, got, ok, w, wok)
				}
			case op%1000 != 0:
			default:
				// Delete the odd values, as an expiry does.
				m.DeleteFunc(func(k uint64, v *int) bool {
					if want[k] != *v {
						t.Fatalf("space %d op %d: DeleteFunc saw %d = %d, want %d", idSpace, op, k, *v, want[k])
					}
					return *v%2 == 1
				})
				for k, v := range want {
					if v%2 == 1 {
						delete(want, k)
					}
				}
			}
			if m.Len() != len(want) {
				t.Fatalf("space %d op %d: Len = %d, want %d", idSpace, op, m.Len(), len(want))
			}
			if len(ids) > 4096 {
				ids = ids[2048:]
			}
		}
		for k, v := range want {
			if got, ok := m.Get(k); !ok || got != v {
				t.Fatalf("space %d: Get(%d) = %d, %v, want %d", idSpace, k, got, ok, v)
			}
		}
		n := 0
		m.All(func(k uint64, v *int) bool {
			n++
			if want[k] != *v {
				t.Fatalf("space %d: All gave %d = %d, want %d", idSpace, k, *v, want[k])
			}
			return true
		})
		if n != len(want) {
			t.Fatalf("space %d: All gave %d entries, want %d", idSpace, n, len(want))
		}
	}
}

// TestShrinks: a table emptied after a burst gives its memory back.
func TestShrinks(t *testing.T) {
	var m Map[[4]uint64]
	for i := range uint64(100_000) {
		m.Put(i+1, [4]uint64{i})
	}
	big := len(m.slots)
	for i := range uint64(100_000) {
		if _, ok := m.Delete(i + 1); !ok {
			t.Fatalf("Delete(%d) found nothing", i+1)
		}
	}
	if len(m.slots) != big {
		t.Errorf("Delete shrank the table from %d to %d slots; only Shrink may", big, len(m.slots))
	}
	m.Shrink()
	if len(m.slots) > 64 {
		t.Errorf("after the burst, %d slots (from %d), want a small table", len(m.slots), big)
	}
}

func TestUpsert(t *testing.T) {
	var m Map[uint64]
	p, found := m.Upsert(5)
	if found || *p != 0 {
		t.Fatalf("Upsert(5) on an empty map = %d, %v", *p, found)
	}
	*p = 9
	if p, found = m.Upsert(5); !found || *p != 9 {
		t.Errorf("Upsert(5) = %d, %v, want 9, true", *p, found)
	}
	if r := m.Ref(6); r != nil {
		t.Errorf("Ref(6) = %v, want nil", r)
	}
}

func BenchmarkPutDelete(b *testing.B) {
	for _, size := range []int{1000, 100_000} {
		ids := make([]uint64, size)
		for i := range ids {
			ids[i] = rand.Uint64() | 1
		}
		b.Run("idmap/"+itoa(size), func(b *testing.B) {
			var m Map[[6]uint64]
			for i := range ids {
				m.Put(ids[i], [6]uint64{})
			}
			b.ResetTimer()
			for i := range b.N {
				j := i % size
				m.Delete(ids[j])
				ids[j] = ids[j]*0x9e3779b97f4a7c15 | 1
				m.Put(ids[j], [6]uint64{})
			}
		})
		b.Run("gomap/"+itoa(size), func(b *testing.B) {
			m := map[uint64][6]uint64{}
			for i := range ids {
				m[ids[i]] = [6]uint64{}
			}
			b.ResetTimer()
			for i := range b.N {
				j := i % size
				delete(m, ids[j])
				ids[j] = ids[j]*0x9e3779b97f4a7c15 | 1
				m[ids[j]] = [6]uint64{}
			}
		})
	}
}

func itoa(n int) string {
	if n >= 1000 {
		return itoa(n/1000) + "k"
	}
	return string(rune('0'+n/100%10)) + string(rune('0'+n/10%10)) + string(rune('0'+n%10))
}

// TestTouch: Touch reads the home slot of an id, whatever is there.
func TestTouch(t *testing.T) {
	var m Map[int]
	if got := m.Touch(7); got != 0 {
		t.Errorf("Touch(7) on an empty map = %d, want 0", got)
	}
	m.Put(7, 1)
	if got := m.Touch(7); got != 7 {
		t.Errorf("Touch(7) = %d, want 7, the id in its home slot", got)
	}
}
