package worker

import (
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Load-aware shuffle (Storm 2's default for shuffle and local-or-shuffle;
// topology.disable.loadaware.messaging turns it off) deals tuples over the
// targets in proportion to weights that follow their backlogs: a target
// whose backlog stands out from the least loaded one's loses weight fast,
// the others win it back slowly. A slow task, such as a child that takes
// a millisecond per tuple, then gets fewer tuples than its fast siblings
// instead of holding the whole stream to its pace.

const (
	// maxWeight is a target's weight when it keeps up; congestion halves
	// it at each refresh, keeping up gives back weightGain. (A slow task
	// must lose its share within a few refreshes: under
	// topology.max.spout.pending, what it holds is missing from the other
	// tasks' input.)
	maxWeight  = 100
	weightGain = 1
	// loadSlack is how many tuples a target's backlog may hold beyond
	// the median one, at least, and still count as keeping up; half the
	// mean backlog is allowed too, so that equally busy targets, whose
	// backlogs swing as their executors take batches, keep their weights.
	loadSlack = 64
	// ringSize is how many choices a round of the dealing ring holds.
	ringSize = 1024
	// loadRefresh is how often the weights follow the backlogs, at most;
	// they are refreshed only while tuples flow, every checkEvery choices.
	loadRefresh = 50 * time.Millisecond
	checkEvery  = 64
)

// adjustWeights moves each target's weight after its backlog, in place,
// and reports whether any weight changed. A target is congested when its
// backlog exceeds the median one (the lower median) by more than the
// slack: when every target is busy, where the tuples of
// topology.max.spout.pending happen to wait says little, but one that
// holds far more than most is behind. It is pure; sorted is scratch
// space of the same length.
func adjustWeights(weights, loads, sorted []int) bool {
	copy(sorted, loads)
	slices.Sort(sorted)
	sum := 0
	for _, l := range loads {
		sum += l
	}
	limit := sorted[(len(sorted)-1)/2] + max(loadSlack, sum/len(loads)/2)
	changed := false
	for i, l := range loads {
		w := weights[i]
		if l > limit {
			w /= 2
		} else {
			w = min(maxWeight, w+weightGain)
		}
		if w != weights[i] {
			weights[i], changed = w, true
		}
	}
	return changed
}

// fillRing fills ring with target indexes, each in proportion to its
// weight, in an order shuffled by rng. With every weight 0 (which the
// median makes impossible: at least half the targets keep up) the targets
// share the ring evenly. It is pure given rng.
func fillRing(ring []int32, weights []int, rng *rand.Rand) {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := 0
	if total > 0 {
		for i, w := range weights {
			for range w * len(ring) / total {
				ring[n] = int32(i)
				n++
			}
		}
		// Rounding down leaves a few places: they go to targets drawn by
		// weight.
		for ; n < len(ring); n++ {
			r := rng.IntN(total)
			i := 0
			for r >= weights[i] {
				r -= weights[i]
				i++
			}
			ring[n] = int32(i)
		}
	} else {
		for ; n < len(ring); n++ {
			ring[n] = int32(n % len(weights))
		}
	}
	rng.Shuffle(len(ring), func(i, j int) { ring[i], ring[j] = ring[j], ring[i] })
}

// loadAwareShuffle is a shuffle grouper that deals by weight (see above).
// While every weight is the same it deals round-robin, as the plain
// shuffle does, and holds no ring. It is safe for concurrent use.
type loadAwareShuffle struct {
	targets []int
	// load returns the backlog of a target task.
	load func(task int) int
	next atomic.Uint64
	// ring is nil while the weights are equal.
	ring atomic.Pointer[[]int32]
	// due is when the weights are next refreshed (monoNow).
	due atomic.Int64

	// mu is held by the goroutine refreshing the weights; it guards
	// weights, loads and rng.
	mu      sync.Mutex
	weights []int
	loads   []int
	sorted  []int
	rng     *rand.Rand
}

func newLoadAwareShuffle(targets []int, load func(task int) int, seed uint64) *loadAwareShuffle {
	s := &loadAwareShuffle{
		targets: targets,
		load:    load,
		weights: make([]int, len(targets)),
		loads:   make([]int, len(targets)),
		sorted:  make([]int, len(targets)),
		rng:     rand.New(rand.NewPCG(seed, seed>>1|1)),
	}
	for i := range s.weights {
		s.weights[i] = maxWeight
	}
	s.next.Store(s.rng.Uint64N(uint64(len(targets))))
	return s
}

func (s *loadAwareShuffle) choose(_ []any, dst []int) []int {
	if len(s.targets) == 1 {
		return append(dst, s.targets[0])
	}
	n := s.next.Add(1) - 1
	if n%checkEvery == 0 {
		s.refresh(monoNow())
	}
	if ring := s.ring.Load(); ring != nil {
		return append(dst, s.targets[(*ring)[n%ringSize]])
	}
	return append(dst, s.targets[n%uint64(len(s.targets))])
}

// refresh moves the weights after the targets' backlogs if it is time,
// unless another goroutine is doing it.
func (s *loadAwareShuffle) refresh(now int64) {
	if now < s.due.Load() || !s.mu.TryLock() {
		return
	}
	defer s.mu.Unlock()
	s.due.Store(now + int64(loadRefresh))
	for i, t := range s.targets {
		s.loads[i] = s.load(t)
	}
	if !adjustWeights(s.weights, s.loads, s.sorted) {
		return
	}
	equal := true
	for _, w := range s.weights {
		equal = equal && w == s.weights[0]
	}
	if equal {
		s.ring.Store(nil)
		return
	}
	// A fresh ring each time: choosers may still read the last one.
	ring := make([]int32, ringSize)
	fillRing(ring, s.weights, s.rng)
	s.ring.Store(&ring)
}

// backlogger is a bolt that holds tuples beyond its executor's queue: a
// shell bolt holds those waiting to be written to its child and those
// the child has not acked yet.
type backlogger interface{ Backlog() int }

// taskLoad returns the backlog of a task for load-aware shuffles: what
// its executor's queue holds, and what the task itself holds. A task of
// another worker counts as idle unless that worker said its queue is
// full.
func (w *Worker) taskLoad(task int) int {
	if !w.isLocal(task) {
		if r := (*w.routing.Load())[task]; r.data != nil && r.data.gate != nil && r.data.gate.blocked(int32(task)) {
			return r.data.limit
		}
		return 0
	}
	w.backlogsOnce.Do(w.indexBacklogs)
	n := int(w.local[task].size.Load())
	if b := w.backlogs[task]; b != nil {
		n += b.Backlog()
	}
	return n
}

// indexBacklogs finds, once the worker is built, the tasks that hold
// tuples of their own.
func (w *Worker) indexBacklogs() {
	w.backlogs = make([]backlogger, len(w.local))
	for _, x := range w.bolts {
		for _, t := range x.tasks {
			if b, ok := t.bolt.(backlogger); ok {
				w.backlogs[t.id] = b
			}
		}
	}
}
