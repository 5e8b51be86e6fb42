package scheduler

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"

	"github.com/squallstream/squall/topology"
)

// Slot is a worker port on a supervisor's node.
type Slot struct {
	// Node is the supervisor's id.
	Node string
	Port int
}

// String returns "node:port".
func (s Slot) String() string { return s.Node + ":" + strconv.Itoa(s.Port) }

func compareSlots(a, b Slot) int {
	return cmp.Or(cmp.Compare(a.Node, b.Node), cmp.Compare(a.Port, b.Port))
}

// Supervisor is one node of the cluster as the scheduler sees it.
type Supervisor struct {
	// ID is the supervisor's node id, the Node of its slots.
	ID string
	// Host is the host name other nodes reach it by.
	Host string
	// Ports are the worker ports it offers (supervisor.slots.ports).
	Ports []int
	// Alive is false when the supervisor stopped heartbeating
	// (nimbus.supervisor.timeout.secs): no new worker is placed on it. The
	// workers it ran are another matter: each is kept, as on any node,
	// until nimbus reports its slot bad (Request.BadSlots), because a
	// worker outlives its supervisor and keeps working.
	Alive bool
}

// Assignment maps each executor of a topology to the slot that runs it.
// A worker is the set of executors sharing a slot.
type Assignment map[topology.Executor]Slot

// Cluster is the state a scheduling decision is made from.
type Cluster struct {
	// Supervisors lists the known supervisors, live or not. A worker on a
	// node missing from the list cannot be kept (its host is unknown).
	Supervisors []Supervisor
	// Assignments holds every topology's current assignment by topology
	// id, including the topology being scheduled if it has one. Slots
	// another topology holds are never used, even if that topology also
	// holds dead ones.
	Assignments map[string]Assignment
}

// Request describes the topology to schedule.
type Request struct {
	// TopologyID is the topology's id, its key in Cluster.Assignments.
	TopologyID string
	// Executors lists every executor the topology runs, __acker ones
	// included (TaskMap.Executors). Their task ranges must not overlap.
	Executors []topology.Executor
	// NumWorkers is the number of workers asked for (topology.workers).
	NumWorkers int
	// BadSlots are slots of the topology whose worker stopped
	// heartbeating (nimbus.task.timeout.secs), whatever its supervisor's
	// state. Their executors are moved, and the slots are used again only
	// if no other slot is free.
	BadSlots []Slot
}

// Result is a topology's new assignment.
type Result struct {
	// Assignment places every executor of the request.
	Assignment Assignment
	// Workers is the number of distinct slots Assignment uses.
	Workers int
	// Short is true when the cluster had too few free slots for the
	// workers requested, so Workers is lower than NumWorkers (or than the
	// number of executors, if that is lower: a worker never runs empty).
	Short bool
	// NodeHost maps each node Assignment uses to its supervisor's host.
	NodeHost map[string]string
}

// Schedule assigns req's executors to slots, moving as few executors as
// it can from where they run:
//
//   - The topology gets min(NumWorkers, slots, executors) workers, where
//     the slots are those of live supervisors that no other topology holds,
//     plus the slots where its workers run on supervisors that stopped
//     heartbeating.
//   - Worker sizes differ by at most one executor (the even split).
//   - A current worker is kept on its slot if the slot is not bad, its
//     supervisor is listed (alive, or not: a worker outlives its
//     supervisor) and offers the slot's port, and no other topology holds
//     it. It keeps as many of its executors as its share of the split
//     allows: the largest workers get the larger shares. A worker that
//     keeps exactly its executors is not restarted, so a healthy
//     assignment is returned unchanged, and when one worker or node is
//     lost only the executors it ran move.
//   - The other executors, sorted by task id, are dealt round-robin, first
//     to kept workers below their share, then to new slots. Those are
//     picked one at a time from the node running fewest of the topology's
//     workers, then preferring slots the topology already holds, then the
//     node with most free slots, then by node id and port; bad slots come
//     last.
//
// It fails with ErrNoSlots when there is no usable slot at all, and with
// ErrInvalidRequest for a malformed request.
func Schedule(c Cluster, req Request) (Result, error) {
	return schedule(c, req, true)
}

// Rebalance reassigns all of req's executors from scratch, as Storm does
// at the end of a rebalance: no worker is kept as it is, but the slots the
// topology holds are preferred to others on equally loaded nodes, so a
// rebalance that changes nothing gives back the same assignment as the
// Schedule that made it, and one after supervisors joined spreads the
// workers onto them. The caller passes the new worker count and the
// executors recomputed with TaskMap.Executors from the new parallelism.
func Rebalance(c Cluster, req Request) (Result, error) {
	return schedule(c, req, false)
}

// kept is a current worker that stays on its slot, with its share of the
// split (cap) and the executors it keeps.
type kept struct {
	slot  Slot
	start int // its lowest task id, as it began
	execs []topology.Executor
	cap   int
}

func schedule(c Cluster, req Request, keep bool) (Result, error) {
	if err := req.validate(); err != nil {
		return Result{}, err
	}
	wanted := make(map[topology.Executor]bool, len(req.Executors))
	for _, e := range req.Executors {
		wanted[e] = true
	}
	bad := make(map[Slot]bool, len(req.BadSlots))
	for _, s := range req.BadSlots {
		bad[s] = true
	}
	// Slots held by other topologies.
	held := make(map[Slot]bool)
	for id, a := range c.Assignments {
		if id == req.TopologyID {
			continue
		}
		for _, s := range a {
			held[s] = true
		}
	}
	// Usable slots: ports of live supervisors no other topology holds.
	// Offered slots: ports of any listed supervisor, where a current
	// worker may stay.
	hosts := make(map[string]string)
	usable := make(map[Slot]bool)
	offered := make(map[Slot]bool)
	sups := slices.Clone(c.Supervisors)
	slices.SortStableFunc(sups, func(a, b Supervisor) int { return cmp.Compare(a.ID, b.ID) })
	for _, sup := range sups {
		if _, ok := hosts[sup.ID]; !ok {
			hosts[sup.ID] = sup.Host
		}
		for _, p := range sup.Ports {
			s := Slot{sup.ID, p}
			if held[s] {
				continue
			}
			offered[s] = true
			if sup.Alive {
				usable[s] = true
			}
		}
	}
	// The topology's current workers, and where each began (its lowest
	// task id), which orders them as the round-robin that made them did.
	current := Workers(c.Assignments[req.TopologyID])
	own := make(map[Slot]int, len(current))
	for _, w := range current {
		own[w.Slot] = w.Executors[0].Start
	}
	// The workers that may stay: a good slot, and something wanted to run.
	var stay []kept
	stayOff := 0 // of them, on slots of supervisors that stopped heartbeating
	if keep {
		for _, w := range current {
			if !offered[w.Slot] || bad[w.Slot] {
				continue
			}
			var execs []topology.Executor
			for _, e := range w.Executors {
				if wanted[e] {
					execs = append(execs, e)
				}
			}
			if len(execs) == 0 {
				continue
			}
			stay = append(stay, kept{slot: w.Slot, start: own[w.Slot], execs: execs})
			if !usable[w.Slot] {
				stayOff++
			}
		}
	}
	if len(usable)+stayOff == 0 {
		return Result{}, fmt.Errorf("schedule topology %s: %w", req.TopologyID, ErrNoSlots)
	}
	numExec := len(req.Executors)
	wantWorkers := min(req.NumWorkers, numExec)
	workers := min(wantWorkers, len(usable)+stayOff)
	// The even split: `large` workers of size+1 executors, the rest of size.
	size, large := numExec/workers, numExec%workers
	small := workers - large

	// The largest workers stay first, and get the larger shares, so that
	// as many executors as possible stay where they run.
	slices.SortStableFunc(stay, func(a, b kept) int {
		return cmp.Or(cmp.Compare(len(b.execs), len(a.execs)), cmp.Compare(a.start, b.start))
	})
	stay = stay[:min(len(stay), workers)]
	out := make(Assignment, numExec)
	chosenOn := make(map[string]int) // node → workers of the topology placed there
	taken := make(map[Slot]bool)
	for i := range stay {
		k := &stay[i]
		if large > 0 && (len(k.execs) > size || small == 0) {
			k.cap, large = size+1, large-1
		} else {
			k.cap, small = size, small-1
		}
		k.execs = k.execs[:min(len(k.execs), k.cap)]
		for _, e := range k.execs {
			out[e] = k.slot
		}
		taken[k.slot] = true
		chosenOn[k.slot.Node]++
	}
	slices.SortFunc(stay, func(a, b kept) int { return cmp.Compare(a.start, b.start) })

	fresh := pickSlots(usable, taken, bad, own, chosenOn, workers-len(stay))
	// New slots in dealing order: first the topology's own slots in the
	// order their workers began, then the others in the order they were
	// picked. The first of them get the larger shares left.
	slices.SortStableFunc(fresh, func(a, b Slot) int {
		sa, oka := own[a]
		sb, okb := own[b]
		switch {
		case oka && okb:
			return cmp.Compare(sa, sb)
		case oka:
			return -1
		case okb:
			return 1
		}
		return 0
	})
	type opening struct {
		slot Slot
		room int
	}
	var open []opening
	for _, k := range stay {
		if room := k.cap - len(k.execs); room > 0 {
			open = append(open, opening{k.slot, room})
		}
	}
	for _, s := range fresh {
		room := size
		if large > 0 {
			room, large = size+1, large-1
		}
		open = append(open, opening{s, room})
	}
	// Deal the executors left, by task id, round-robin over the openings
	// with room.
	rest := make([]topology.Executor, 0, numExec)
	for _, e := range req.Executors {
		if _, ok := out[e]; !ok {
			rest = append(rest, e)
		}
	}
	slices.SortFunc(rest, compareExecutors)
	i := 0
	for _, e := range rest {
		for open[i%len(open)].room == 0 {
			i++
		}
		o := &open[i%len(open)]
		out[e] = o.slot
		o.room--
		i++
	}
	nodeHost := make(map[string]string)
	for _, s := range out {
		nodeHost[s.Node] = hosts[s.Node]
	}
	return Result{
		Assignment: out,
		Workers:    len(stay) + len(fresh),
		Short:      workers < wantWorkers,
		NodeHost:   nodeHost,
	}, nil
}

// pickSlots picks n of the usable slots not taken, one at a time: bad
// slots last; then from the node running fewest of the topology's workers
// (chosenOn, updated as slots are picked); then slots the topology holds
// (own); then the node with most free slots; then by node id and port.
// From scratch this is Storm's EvenScheduler.sortSlots order: nodes by
// free slots, interleaved.
func pickSlots(usable, taken, bad map[Slot]bool, own map[Slot]int, chosenOn map[string]int, n int) []Slot {
	var cands []Slot
	free := make(map[string]int)
	for s := range usable {
		if taken[s] {
			continue
		}
		cands = append(cands, s)
		if !bad[s] {
			free[s.Node]++
		}
	}
	slices.SortFunc(cands, compareSlots)

	better := func(a, b Slot) bool {
		if bad[a] != bad[b] {
			return !bad[a]
		}
		if ca, cb := chosenOn[a.Node], chosenOn[b.Node]; ca != cb {
			return ca < cb
		}
		_, oa := own[a]
		_, ob := own[b]
		if oa != ob {
			return oa
		}
		if fa, fb := free[a.Node], free[b.Node]; fa != fb {
			return fa > fb
		}
		return compareSlots(a, b) < 0
	}

	picked := make([]Slot, 0, n)
	for range n {
		best := 0
		for i := 1; i < len(cands); i++ {
			if better(cands[i], cands[best]) {
				best = i
			}
		}
		s := cands[best]
		cands = slices.Delete(cands, best, best+1)
		picked = append(picked, s)
		chosenOn[s.Node]++
		if !bad[s] {
			free[s.Node]--
		}
	}
	return picked
}

func (r Request) validate() error {
	if r.TopologyID == "" {
		return fmt.Errorf("schedule: no topology id: %w", ErrInvalidRequest)
	}
	if r.NumWorkers < 1 {
		return fmt.Errorf("schedule topology %s: %d workers requested: %w", r.TopologyID, r.NumWorkers, ErrInvalidRequest)
	}
	if len(r.Executors) == 0 {
		return fmt.Errorf("schedule topology %s: no executors: %w", r.TopologyID, ErrInvalidRequest)
	}
	execs := slices.Clone(r.Executors)
	slices.SortFunc(execs, compareExecutors)
	for i, e := range execs {
		if e.Start > e.End {
			return fmt.Errorf("schedule topology %s: executor %v has no tasks: %w", r.TopologyID, e, ErrInvalidRequest)
		}
		if i > 0 && e.Start <= execs[i-1].End {
			return fmt.Errorf("schedule topology %s: executors %v and %v overlap: %w", r.TopologyID, execs[i-1], e, ErrInvalidRequest)
		}
	}
	return nil
}
