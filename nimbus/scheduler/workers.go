package scheduler

import (
	"cmp"
	"slices"

	"github.com/squallstream/squall/topology"
)

// Worker is one worker process of an assignment: a slot and the executors
// it runs.
type Worker struct {
	Slot Slot
	// Executors are sorted by task id.
	Executors []topology.Executor
}

// Workers lists the workers of an assignment, sorted by slot (node id,
// then port).
func Workers(a Assignment) []Worker {
	bySlot := make(map[Slot][]topology.Executor)
	for e, s := range a {
		bySlot[s] = append(bySlot[s], e)
	}
	out := make([]Worker, 0, len(bySlot))
	for s, execs := range bySlot {
		slices.SortFunc(execs, compareExecutors)
		out = append(out, Worker{Slot: s, Executors: execs})
	}
	slices.SortFunc(out, func(a, b Worker) int { return compareSlots(a.Slot, b.Slot) })
	return out
}

// NodeWorkers lists the workers of an assignment that run on node, sorted
// by port: what that node's supervisor must run.
func NodeWorkers(a Assignment, node string) []Worker {
	mine := make(Assignment)
	for e, s := range a {
		if s.Node == node {
			mine[e] = s
		}
	}
	return Workers(mine)
}

func compareExecutors(a, b topology.Executor) int {
	return cmp.Or(cmp.Compare(a.Start, b.Start), cmp.Compare(a.End, b.End), cmp.Compare(a.Component, b.Component))
}
