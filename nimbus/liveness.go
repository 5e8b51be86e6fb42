package nimbus

import (
	"slices"
	"time"

	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/nimbus/scheduler"
)

// liveness judges workers and supervisors by their heartbeats, as Storm's
// nimbus does: by when nimbus saw a heartbeat change, on its own clock,
// never by the time a worker or supervisor wrote into it (the nodes'
// clocks may differ from nimbus's). A new leader knows nothing yet, so it
// counts every executor and supervisor as seen when it first looks: none
// is judged dead before a full timeout has passed under its leadership.
//
// Only the leader loop's goroutine uses it.
type liveness struct {
	t timing
	// beat is the Time of the last heartbeat seen from each worker, by
	// topology and slot.
	beat map[string]map[cluster.Slot]time.Time
	// seen is when each executor was last known alive, by topology: its
	// worker's heartbeat changed and listed it.
	seen map[string]map[cluster.ExecutorID]time.Time
	// sups holds, by supervisor id, the Time of its record and when that
	// last changed.
	sups map[string]supervisorSeen
}

type supervisorSeen struct {
	written time.Time
	seen    time.Time
}

func newLiveness(t timing) *liveness {
	return &liveness{
		t:    t,
		beat: make(map[string]map[cluster.Slot]time.Time),
		seen: make(map[string]map[cluster.ExecutorID]time.Time),
		sups: make(map[string]supervisorSeen),
	}
}

// supervisorAlive records info and reports whether the supervisor has
// rewritten its record within nimbus.supervisor.timeout.secs.
func (lv *liveness) supervisorAlive(info cluster.SupervisorInfo, now time.Time) bool {
	s, ok := lv.sups[info.ID]
	if !ok || !s.written.Equal(info.Time) {
		s = supervisorSeen{written: info.Time, seen: now}
		lv.sups[info.ID] = s
	}
	return now.Sub(s.seen) <= lv.t.supervisorTimeout
}

// retainSupervisors forgets the supervisors not in ids.
func (lv *liveness) retainSupervisors(ids []string) {
	for id := range lv.sups {
		if !slices.Contains(ids, id) {
			delete(lv.sups, id)
		}
	}
}

// badSlots records topology id's heartbeats and returns the slots of a,
// on live nodes, running an executor that is dead: assigned longer ago
// than nimbus.task.launch.secs and not seen alive for
// nimbus.task.timeout.secs. The scheduler moves their executors.
func (lv *liveness) badSlots(id string, a cluster.Assignment, beats []cluster.WorkerHeartbeat, aliveNodes map[string]bool, now time.Time) []scheduler.Slot {
	last := lv.beat[id]
	if last == nil {
		last = make(map[cluster.Slot]time.Time)
		lv.beat[id] = last
	}
	seen := lv.seen[id]
	if seen == nil {
		seen = make(map[cluster.ExecutorID]time.Time)
		lv.seen[id] = seen
	}
	current := make(map[cluster.Slot]bool, len(beats))
	for _, hb := range beats {
		slot := cluster.Slot{NodeID: hb.NodeID, Port: hb.Port}
		current[slot] = true
		if t, ok := last[slot]; ok && t.Equal(hb.Time) {
			continue
		}
		last[slot] = hb.Time
		for _, e := range hb.Executors {
			if a.Executors[e] == slot {
				seen[e] = now
			}
		}
	}
	for slot := range last {
		if !current[slot] {
			delete(last, slot)
		}
	}
	for e := range seen {
		if _, ok := a.Executors[e]; !ok {
			delete(seen, e)
		}
	}
	bad := make(map[cluster.Slot]bool)
	for e, slot := range a.Executors {
		at, ok := seen[e]
		if !ok {
			at = now
			seen[e] = now
		}
		if !aliveNodes[slot.NodeID] || bad[slot] {
			continue // a dead node's slots are unusable anyway
		}
		if start, ok := a.ExecutorStartTime[e]; ok && now.Sub(start) < lv.t.launchGrace {
			continue
		}
		if now.Sub(at) > lv.t.taskTimeout {
			bad[slot] = true
		}
	}
	out := make([]scheduler.Slot, 0, len(bad))
	for s := range bad {
		out = append(out, scheduler.Slot{Node: s.NodeID, Port: s.Port})
	}
	slices.SortFunc(out, func(a, b scheduler.Slot) int {
		if a.Node != b.Node {
			if a.Node < b.Node {
				return -1
			}
			return 1
		}
		return a.Port - b.Port
	})
	return out
}

// forget drops what is known of topology id.
func (lv *liveness) forget(id string) {
	delete(lv.beat, id)
	delete(lv.seen, id)
}

// retainTopologies forgets the topologies not in ids.
func (lv *liveness) retainTopologies(ids []string) {
	for id := range lv.seen {
		if !slices.Contains(ids, id) {
			lv.forget(id)
		}
	}
	for id := range lv.beat {
		if !slices.Contains(ids, id) {
			lv.forget(id)
		}
	}
}
