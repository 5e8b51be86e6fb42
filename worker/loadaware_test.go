package worker

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/squallstream/squall/topology"
)

func TestAdjustWeights(t *testing.T) {
	for _, tc := range []struct {
		name           string
		weights, loads []int
		want           []int
		changed        bool
	}{
		{"all keep up at full weight", []int{100, 100, 100}, []int{0, 5, 3}, []int{100, 100, 100}, false},
		{"a backlog beyond the slack halves the weight", []int{100, 100, 100, 100}, []int{5000, 10, 10, 10}, []int{50, 100, 100, 100}, true},
		{"down to 0", []int{1, 100}, []int{5000, 0}, []int{0, 100}, true},
		{"and no lower", []int{0, 100}, []int{5000, 0}, []int{0, 100}, false},
		{"keeping up again wins weight back slowly", []int{0, 100, 100}, []int{0, 0, 0}, []int{1, 100, 100}, true},
		{"within the slack of the median", []int{100, 100}, []int{loadSlack, 0}, []int{100, 100}, false},
		{"just beyond it", []int{100, 100}, []int{loadSlack + 1, 0}, []int{50, 100}, true},
		{"equally busy targets swing within half the mean", []int{100, 100, 100, 100}, []int{1000, 800, 900, 600}, []int{100, 100, 100, 100}, false},
		{"one target far behind busy ones", []int{100, 100, 100, 100}, []int{3000, 100, 200, 150}, []int{50, 100, 100, 100}, true},
		{"where the pending tuples of busy targets wait", []int{100, 100, 100, 100}, []int{256, 0, 227, 215}, []int{100, 100, 100, 100}, false},
		{"half of them behind", []int{100, 100, 100, 100}, []int{900, 10, 800, 20}, []int{50, 100, 50, 100}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := slices.Clone(tc.weights)
			changed := adjustWeights(w, tc.loads, make([]int, len(w)))
			if !slices.Equal(w, tc.want) || changed != tc.changed {
				t.Errorf("adjustWeights(%v, %v) = %v, %v; want %v, %v", tc.weights, tc.loads, w, changed, tc.want, tc.changed)
			}
		})
	}
}

func TestFillRing(t *testing.T) {
	for _, tc := range []struct {
		name    string
		weights []int
	}{
		{"one slow target", []int{10, 100, 100, 100}},
		{"uneven", []int{1, 2, 97}},
		{"one at zero", []int{0, 50, 50}},
		{"all at zero share evenly", []int{0, 0, 0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ring := make([]int32, ringSize)
			fillRing(ring, tc.weights, rand.New(rand.NewPCG(1, 2)))
			got := make([]int, len(tc.weights))
			for _, i := range ring {
				got[i]++
			}
			total := 0
			for _, w := range tc.weights {
				total += w
			}
			for i, w := range tc.weights {
				want := ringSize / len(tc.weights)
				if total > 0 {
					want = w * ringSize / total
				}
				if got[i] < want || got[i] > want+len(tc.weights) {
					t.Errorf("fillRing(%v): target %d has %d places, want %d (+ at most %d)", tc.weights, i, got[i], want, len(tc.weights))
				}
			}
			if slices.IsSorted(ring) {
				t.Errorf("fillRing(%v) left the ring in order", tc.weights)
			}
		})
	}
}

// TestLoadAwareShuffleAvoidsSlowTask: a target whose backlog stands out
// gets a small share of the tuples after a few refreshes, and its full
// share again once it keeps up, with the plain round-robin back.
func TestLoadAwareShuffleAvoidsSlowTask(t *testing.T) {
	targets := []int{3, 4, 5, 6}
	loads := map[int]int{3: 5000, 4: 10, 5: 0, 6: 20}
	s := newLoadAwareShuffle(targets, func(task int) int { return loads[task] }, 42)
	share := func() map[int]int {
		c := map[int]int{}
		for range 10 * ringSize {
			c[s.choose(nil, nil)[0]]++
		}
		return c
	}
	now := int64(time.Hour)
	refreshes := func(n int) {
		for range n {
			now += int64(loadRefresh)
			s.refresh(now)
		}
	}
	refreshes(3) // 100 -> 50 -> 25 -> 12
	c := share()
	if c[3] > 10*ringSize*5/100 {
		t.Errorf("slow task 3 got %d of %d tuples after it fell behind, want at most 5%%: %v", c[3], 10*ringSize, c)
	}
	for _, task := range targets[1:] {
		if c[task] < 10*ringSize*30/100 {
			t.Errorf("task %d got %d of %d tuples, want about a third: %v", task, c[task], 10*ringSize, c)
		}
	}

	// Refreshing before it is due changes nothing.
	s.refresh(now + int64(loadRefresh) - 1)
	if got := s.weights[0]; got != 12 {
		t.Errorf("weight of the slow task %d after an early refresh, want it unchanged", got)
	}

	loads[3] = 0
	refreshes(maxWeight / weightGain)
	if s.ring.Load() != nil {
		t.Fatalf("weights %v once every task keeps up, want equal weights and no ring", s.weights)
	}
	if c := share(); c[3] != c[4] || c[4] != c[5] || c[5] != c[6] {
		t.Errorf("shares once every task keeps up: %v, want equal", c)
	}
}

func TestShuffleLoadAwareUnlessDisabled(t *testing.T) {
	load := func(int) int { return 0 }
	for _, tc := range []struct {
		typ       topology.GroupingType
		load      func(int) int
		targets   []int
		loadAware bool
	}{
		{topology.Shuffle, load, []int{3, 4}, true},
		{topology.LocalOrShuffle, load, []int{3, 4}, true},
		{topology.Shuffle, nil, []int{3, 4}, false},
		{topology.Shuffle, load, []int{3}, false},
		{topology.None, load, []int{3, 4}, false},
	} {
		g, err := newGrouper(topology.Grouping{Type: tc.typ}, tc.targets, topology.NewFields("w"), func(int) bool { return true }, tc.load, 1)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := g.(*loadAwareShuffle); ok != tc.loadAware {
			t.Errorf("newGrouper(%s, load set %v, targets %v) is %T, want load-aware %v", tc.typ, tc.load != nil, tc.targets, g, tc.loadAware)
		}
	}
}
