package supervisor

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/internal/backoff"
	"github.com/squallstream/squall/internal/layout"
)

// This file is the supervisor's deterministic core: what to run, whether a
// worker is healthy, when to restart. No I/O, no clock: time comes in as an
// argument.

// desiredWorker is a worker the assignments ask this node to run.
type desiredWorker struct {
	StormID string
	Port    int
	// Executors are sorted by task id.
	Executors []cluster.ExecutorID
	// AssignmentVersion is the version of the assignment read.
	AssignmentVersion int64
}

// desiredWorkers returns, by port, the workers node must run according to
// assignments, and the problems found: slots on ports this node does not
// offer (not run), and ports assigned to two topologies (the first topology
// id in sorted order runs there, so the choice is stable).
func desiredWorkers(node string, ports []int, assignments []cluster.Assignment) (map[int]desiredWorker, []string) {
	assignments = slices.Clone(assignments)
	slices.SortFunc(assignments, func(a, b cluster.Assignment) int { return cmp.Compare(a.TopologyID, b.TopologyID) })
	want := make(map[int]desiredWorker)
	var problems []string
	for _, a := range assignments {
		for _, slot := range a.Slots() {
			if slot.NodeID != node {
				continue
			}
			if !slices.Contains(ports, slot.Port) {
				problems = append(problems, fmt.Sprintf("topology %s is assigned port %d, which this node does not offer", a.TopologyID, slot.Port))
				continue
			}
			if other, taken := want[slot.Port]; taken {
				problems = append(problems, fmt.Sprintf("port %d is assigned to topologies %s and %s; running %s", slot.Port, other.StormID, a.TopologyID, other.StormID))
				continue
			}
			want[slot.Port] = desiredWorker{
				StormID:           a.TopologyID,
				Port:              slot.Port,
				Executors:         a.ExecutorsOn(slot),
				AssignmentVersion: a.Version,
			}
		}
	}
	return want, problems
}

// runs reports whether a worker launched as meta runs what d asks for: the
// same topology on the same port with the same executors. The assignment
// version does not matter: a new version that leaves this slot alone keeps
// its worker.
func (d desiredWorker) runs(meta layout.WorkerMeta) bool {
	return meta.StormID == d.StormID && meta.Port == d.Port && slices.Equal(sortedRanges(meta.Executors), d.Executors)
}

// slotKey names the worker a slot should run: its restarts are counted
// under this key, so a slot given other executors starts the count again.
type slotKey struct {
	stormID string
	port    int
	// executors are the sorted task ranges, "[1 2] [3 3]".
	executors string
}

func (d desiredWorker) key() slotKey {
	return slotKey{d.StormID, d.Port, executorsKey(d.Executors)}
}

// metaKey is the key of the slot a worker was launched for.
func metaKey(m layout.WorkerMeta) slotKey {
	return slotKey{m.StormID, m.Port, executorsKey(sortedRanges(m.Executors))}
}

func executorsKey(execs []cluster.ExecutorID) string {
	parts := make([]string, len(execs))
	for i, e := range execs {
		parts[i] = e.String()
	}
	return strings.Join(parts, " ")
}

// sortedRanges returns the task ranges of executors, sorted.
func sortedRanges(execs []layout.Executor) []cluster.ExecutorID {
	out := make([]cluster.ExecutorID, len(execs))
	for i, e := range execs {
		out[i] = cluster.ExecutorID{Start: e.Start, End: e.End}
	}
	slices.SortFunc(out, func(a, b cluster.ExecutorID) int {
		return cmp.Or(cmp.Compare(a.Start, b.Start), cmp.Compare(a.End, b.End))
	})
	return out
}

// layoutExecutors converts assignment executors to the meta file's form.
// Assignments do not name components, so Component is empty.
func layoutExecutors(execs []cluster.ExecutorID) []layout.Executor {
	out := make([]layout.Executor, len(execs))
	for i, e := range execs {
		out[i] = layout.Executor{Start: e.Start, End: e.End}
	}
	return out
}

// verdict is what a worker's heartbeat says about it.
type verdict int

const (
	// starting: no heartbeat yet, still within the start timeout.
	starting verdict = iota
	// healthy: a fresh heartbeat.
	healthy
	// neverStarted: no heartbeat within the start timeout.
	neverStarted
	// timedOut: the last heartbeat is older than the worker timeout.
	timedOut
)

func (v verdict) String() string {
	switch v {
	case starting:
		return "starting"
	case healthy:
		return "healthy"
	case neverStarted:
		return "no heartbeat within the start timeout"
	case timedOut:
		return "heartbeat timed out"
	}
	return fmt.Sprintf("verdict(%d)", int(v))
}

// judge tells a worker's health at now from its launch time and its last
// heartbeat (nil if it never wrote one).
func judge(launched time.Time, hb *layout.Heartbeat, now time.Time, startTimeout, timeout time.Duration) verdict {
	if hb == nil {
		if now.Sub(launched) > startTimeout {
			return neverStarted
		}
		return starting
	}
	if now.Sub(hb.Time) > timeout {
		return timedOut
	}
	return healthy
}

// restartTracker spaces the restarts of one slot's worker: each failure
// doubles the delay, from base up to max, and a worker that ran for max or
// longer before failing starts the count again.
type restartTracker struct {
	delays *backoff.Backoff
	// max is the policy's maximum, the run that counts as stable.
	max time.Duration
	// notBefore is when the next launch may happen.
	notBefore time.Time
}

func newRestartTracker(p backoff.Policy) *restartTracker {
	return &restartTracker{delays: backoff.New(p), max: p.Max}
}

// failed records a failure at now of a worker that ran for ranFor, and
// returns the delay before the next launch.
func (r *restartTracker) failed(now time.Time, ranFor time.Duration) time.Duration {
	if ranFor >= r.max {
		r.delays.Reset()
	}
	delay := r.delays.Next()
	r.notBefore = now.Add(delay)
	return delay
}

// failures counts consecutive failures.
func (r *restartTracker) failures() int { return r.delays.Attempts() }

// due reports whether a launch may happen at now.
func (r *restartTracker) due(now time.Time) bool { return !now.Before(r.notBefore) }
