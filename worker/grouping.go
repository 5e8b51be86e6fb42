package worker

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"

	"github.com/squallstream/squall/topology"
)

// grouper chooses the target tasks of one subscriber for each tuple one
// task emits on one stream. Each emitting task has its own groupers. They
// are safe for concurrent use, since a collector is.
type grouper interface {
	// choose appends the chosen tasks to dst.
	choose(values []any, dst []int) []int
}

// newGrouper returns the grouper for a subscription of a component with
// the given target tasks (sorted), from a stream with the given fields.
// local says which tasks run in this worker, for local-or-shuffle. load,
// if not nil, gives a task's backlog: shuffle and local-or-shuffle then
// deal fewer tuples to tasks that fall behind (loadAwareShuffle).
func newGrouper(g topology.Grouping, targets []int, fields *topology.Fields, local func(task int) bool, load func(task int) int, seed uint64) (grouper, error) {
	shuffle := func(targets []int) grouper {
		if load != nil && len(targets) > 1 {
			return newLoadAwareShuffle(targets, load, seed)
		}
		return newShuffle(targets, seed)
	}
	switch g.Type {
	case topology.Shuffle:
		return shuffle(targets), nil
	case topology.None:
		return newShuffle(targets, seed), nil
	case topology.LocalOrShuffle:
		var mine []int
		for _, t := range targets {
			if local(t) {
				mine = append(mine, t)
			}
		}
		if len(mine) > 0 {
			return shuffle(mine), nil
		}
		return shuffle(targets), nil
	case topology.FieldsGrouping:
		idx, err := fieldIndexes(g.Fields, fields)
		if err != nil {
			return nil, err
		}
		return &fieldsGrouper{targets: targets, idx: idx}, nil
	case topology.PartialKey:
		idx, err := fieldIndexes(g.Fields, fields)
		if err != nil {
			return nil, err
		}
		return &partialKeyGrouper{targets: targets, idx: idx, load: make([]atomic.Int64, len(targets))}, nil
	case topology.All:
		return allGrouper(targets), nil
	case topology.Global:
		return globalGrouper(targets[0]), nil
	}
	return nil, fmt.Errorf("grouping %s cannot be chosen per tuple", g.Type)
}

func fieldIndexes(names []string, fields *topology.Fields) ([]int, error) {
	idx := make([]int, len(names))
	for i, n := range names {
		j, ok := fields.Index(n)
		if !ok {
			return nil, fmt.Errorf("grouping field %q is not in the stream's fields %v", n, fields.Names())
		}
		idx[i] = j
	}
	return idx, nil
}

// shuffleGrouper deals tuples round-robin over the targets from a random
// starting point, which spreads them evenly; different emitting tasks
// start at different points.
type shuffleGrouper struct {
	targets []int
	next    atomic.Uint64
}

func newShuffle(targets []int, seed uint64) *shuffleGrouper {
	s := &shuffleGrouper{targets: targets}
	s.next.Store(rand.New(rand.NewPCG(seed, seed>>1|1)).Uint64N(uint64(len(targets))))
	return s
}

func (s *shuffleGrouper) choose(_ []any, dst []int) []int {
	if len(s.targets) == 1 {
		return append(dst, s.targets[0])
	}
	return append(dst, s.targets[(s.next.Add(1)-1)%uint64(len(s.targets))])
}

// fieldsGrouper sends equal keys to the same task.
type fieldsGrouper struct {
	targets []int
	idx     []int
}

func (f *fieldsGrouper) choose(values []any, dst []int) []int {
	return append(dst, f.targets[hashFields(values, f.idx, 0)%uint64(len(f.targets))])
}

// partialKeyGrouper sends each key to the less loaded of two candidate
// tasks, as Storm's partial key grouping does, so a hot key is spread
// over two tasks instead of overloading one.
type partialKeyGrouper struct {
	targets []int
	idx     []int
	// load counts the tuples this grouper sent to each target.
	load []atomic.Int64
}

// Seeds of the two hash functions.
const (
	partialSeed1 = 0x9e3779b97f4a7c15
	partialSeed2 = 0xc2b2ae3d27d4eb4f
)

func (p *partialKeyGrouper) choose(values []any, dst []int) []int {
	n := uint64(len(p.targets))
	a := hashFields(values, p.idx, partialSeed1) % n
	b := hashFields(values, p.idx, partialSeed2) % n
	if p.load[b].Load() < p.load[a].Load() {
		a = b
	}
	p.load[a].Add(1)
	return append(dst, p.targets[a])
}

// allGrouper sends every tuple to every target.
type allGrouper []int

func (a allGrouper) choose(_ []any, dst []int) []int { return append(dst, a...) }

// globalGrouper sends everything to one task, the lowest.
type globalGrouper int

func (g globalGrouper) choose(_ []any, dst []int) []int { return append(dst, int(g)) }

// customGrouper runs a registered Go grouping.
type customGrouper struct {
	g       topology.CustomGrouping
	targets map[int]bool
	source  string
}

func (c *customGrouper) choose(values []any, dst []int) []int {
	for _, t := range c.g.ChooseTasks(values) {
		if !c.targets[t] {
			panic(&topology.EmitError{Component: c.source, Reason: fmt.Sprintf("custom grouping chose task %d, which does not subscribe", t)})
		}
		dst = append(dst, t)
	}
	return dst
}
