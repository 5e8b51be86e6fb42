package worker

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestPendingTableAgainstMap runs random adds, takes, resets and expiries
// on a pendingTable and a Go map and compares them: tuples mostly taken
// in order, some held long; in a worker with some of the ackers, most
// roots changed by newRoot, from some point on.
func TestPendingTableAgainstMap(t *testing.T) {
	for _, c := range []struct {
		window int
		// changedFrom is the op from which newRoot changes 3 roots in 4
		// (-1: never, as in a worker with all or none of the ackers).
		changedFrom int
	}{{10, -1}, {1000, -1}, {20_000, -1}, {1000, 0}, {20_000, 50_000}} {
		window := c.window
		rng := rand.New(rand.NewPCG(uint64(window), 3))
		task := &spoutTask{}
		var p pendingTable
		var roots idSource
		want := map[uint64]int64{} // root -> started
		var order []uint64         // roots in the order added
		now := int64(0)
		check := func(op int, what string, got pendingTuple, ok bool, root uint64) {
			t.Helper()
			started, wok := want[root]
			if ok != wok || ok && (got.started != started || got.task != task) {
				t.Fatalf("window %d op %d: %s(%#x) = %d, %v, want %d, %v", window, op, what, root, got.started, ok, started, wok)
			}
		}
		for op := range 200_000 {
			now++
			switch r := rng.IntN(100); {
			case r < 48 || len(order) < window:
				drawn := roots.next()
				root := drawn
				if c.changedFrom >= 0 && op >= c.changedFrom && rng.IntN(4) != 0 {
					root = drawn ^ 1 // changed by newRoot
				}
				if _, dup := want[root]; dup {
					continue
				}
				p.add(drawn, root, pendingTuple{task: task, started: now})
				want[root] = now
				order = append(order, root)
			case r < 95:
				// Mostly the oldest; now and then a later one, leaving
				// the ones before it behind.
				i := 0
				if rng.IntN(10) == 0 {
					i = rng.IntN(len(order))
				}
				root := order[i]
				order = append(order[:i], order[i+1:]...)
				got, ok := p.take(root)
				check(op, "take", got, ok, root)
				delete(want, root)
			case r < 97:
				root := order[rng.IntN(len(order))]
				p.reset(root, now)
				want[root] = now
			case r < 98:
				got, ok := p.take(rng.Uint64() | 1)
				if ok {
					t.Fatalf("window %d op %d: take of an unknown root found %v", window, op, got)
				}
			case r < 99 || rng.IntN(10) != 0:
			default:
				timeout := time.Duration(rng.IntN(2*window) + 1)
				due := map[int64]uint64{} // started -> root: one tuple starts at each op
				for root, started := range want {
					if time.Duration(now-started) >= timeout {
						due[started] = root
					}
				}
				expired := p.expire(now, timeout, nil)
				for _, e := range expired {
					root, ok := due[e.started]
					if !ok {
						t.Fatalf("window %d op %d: expire returned a tuple started at %d, not timed out", window, op, e.started)
					}
					delete(want, root)
				}
				if len(expired) != len(due) {
					t.Fatalf("window %d op %d: expire returned %d tuples, want %d", window, op, len(expired), len(due))
				}
				kept := order[:0]
				for _, root := range order {
					if _, ok := want[root]; ok {
						kept = append(kept, root)
					}
				}
				order = kept
			}
			if n := task.pending.Load(); n != int64(len(want)) || p.inRing+p.stray.Len() != len(want) {
				t.Fatalf("window %d op %d: task.pending %d, table %d+%d, want %d", window, op, n, p.inRing, p.stray.Len(), len(want))
			}
		}
		for root, started := range want {
			if got, ok := p.take(root); !ok || got.started != started {
				t.Fatalf("window %d: take(%#x) = %d, %v, want %d", window, root, got.started, ok, started)
			}
		}
		if c.changedFrom >= 0 {
			if p.expire(now, time.Hour, nil); p.ring != nil {
				t.Errorf("window %d: a hash-only table keeps a ring of %d slots after it drained", window, len(p.ring))
			}
		}
	}
}

// TestPendingTableInOrder: tuples taken in about the order they came stay
// in a ring of about their number, not in the hash table, and a burst's
// ring is given back at the next expiry.
func TestPendingTableInOrder(t *testing.T) {
	const window = 30_000
	task := &spoutTask{}
	var p pendingTable
	var roots idSource
	var inFlight []uint64
	add := func() {
		root := roots.next()
		p.add(root, root, pendingTuple{task: task, started: 1})
		inFlight = append(inFlight, root)
	}
	for range window {
		add()
	}
	for i := range 10 * window {
		// Take the 64 oldest but one, which stays a while.
		if i%64 == 0 {
			inFlight = append(inFlight[1:], inFlight[0])
		}
		if _, ok := p.take(inFlight[0]); !ok {
			t.Fatalf("take %d found nothing", i)
		}
		inFlight = inFlight[1:]
		add()
	}
	if size := len(p.ring); size > 4*window {
		t.Errorf("ring of %d slots for %d tuples in flight", size, window)
	}
	if p.stray.Len() > window/10 {
		t.Errorf("%d of %d tuples in the hash table", p.stray.Len(), window)
	}
	for _, root := range inFlight {
		p.take(root)
	}
	p.expire(2, time.Second, nil)
	if size := len(p.ring); size > minRing {
		t.Errorf("after the burst, a ring of %d slots", size)
	}
}

// BenchmarkPendingTable: an add and a take with 100,000 tuples pending,
// taken in the order they came: all roots in their sequence (a worker
// with all the ackers or none), or 3 in 4 changed by newRoot (one of four
// ackers local), where the table is a hash table only.
func BenchmarkPendingTable(b *testing.B) {
	const inFlight = 100_000
	for _, c := range []struct {
		name    string
		changed bool
	}{{"in-sequence", false}, {"changed-3-of-4", true}} {
		b.Run(c.name, func(b *testing.B) {
			task := &spoutTask{}
			var p pendingTable
			var roots idSource
			rng := rand.New(rand.NewPCG(1, 2))
			ring := make([]uint64, inFlight)
			add := func(i int) {
				drawn := roots.next()
				root := drawn
				if c.changed && rng.IntN(4) != 0 {
					root = drawn ^ 1
				}
				p.add(drawn, root, pendingTuple{task: task})
				ring[i%inFlight] = root
			}
			for i := range inFlight {
				add(i)
			}
			b.ResetTimer()
			for i := range b.N {
				if _, ok := p.take(ring[i%inFlight]); !ok {
					b.Fatal("a pending tuple was not found")
				}
				add(i)
			}
		})
	}
}
