package nimbus

import (
	"maps"
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
// The two judgements are separate, as in Storm. A supervisor silent for
// nimbus.supervisor.timeout.secs gets no new workers; its registration
// vanishing from ZooKeeper (a restart, an expired session) changes nothing
// before then. An executor is moved only when its worker stops
// heartbeating for nimbus.task.timeout.secs, whatever its supervisor's
// state: a worker outlives its supervisor, keeps running and is adopted
// when the supervisor returns.
//
// Only the leader loop's goroutine uses it.
type liveness struct {
	t timing
	// beat is the Time of the last heartbeat seen from each worker, by
	// topology and slot.
	beat map[string]map[cluster.Slot]time.Time
	// seen is when each executor was last known alive, by topology: its
	// worker's heartbeat changed and listed it, or nimbus first looked.
	seen map[string]map[cluster.ExecutorID]sighting
	// sups holds every supervisor known, by id: the registered ones and
	// those gone from the cluster state that are still alive or still
	// hold assigned slots.
	sups map[string]supervisorSeen
}

// sighting is when an executor was last known alive, and whether its
// worker was heard from since nimbus first looked at it: a heartbeat
// changed under this leadership. Until then nimbus gives it
// nimbus.task.launch.secs rather than nimbus.task.timeout.secs, as Storm's
// leader waits for the workers' heartbeats to recover: after ZooKeeper
// comes back, or a leader changes, a worker may take a while to reach
// ZooKeeper again.
type sighting struct {
	at    time.Time
	heard bool
}

// supervisorSeen is what nimbus knows of a supervisor: its last record,
// and when that last changed on nimbus's clock.
type supervisorSeen struct {
	info cluster.SupervisorInfo
	seen time.Time
}

func newLiveness(t timing) *liveness {
	return &liveness{
		t:    t,
		beat: make(map[string]map[cluster.Slot]time.Time),
		seen: make(map[string]map[cluster.ExecutorID]sighting),
		sups: make(map[string]supervisorSeen),
	}
}

// supervisors records the registered supervisors' records and returns
// every supervisor the scheduler must know, sorted by id, each Alive if
// it heartbeated within nimbus.supervisor.timeout.secs:
//
//   - the registered supervisors;
//   - those gone from the cluster state, with their last record, while
//     alive or while an assignment uses their node;
//   - for a node an assignment uses that nimbus has never seen a
//     supervisor for (a new leader while the supervisor is away), one made
//     from the assignments (host, ports in use), seen now.
func (lv *liveness) supervisors(registered []cluster.SupervisorInfo, asg map[string]cluster.Assignment, now time.Time) []scheduler.Supervisor {
	for _, info := range registered {
		s, ok := lv.sups[info.ID]
		if !ok || !s.info.Time.Equal(info.Time) {
			s.seen = now
		}
		s.info = info
		lv.sups[info.ID] = s
	}
	used := make(map[string]bool)
	for _, a := range asg {
		for _, slot := range a.Executors {
			used[slot.NodeID] = true
			if _, ok := lv.sups[slot.NodeID]; !ok {
				lv.sups[slot.NodeID] = supervisorSeen{
					info: cluster.SupervisorInfo{ID: slot.NodeID, Host: a.NodeHost[slot.NodeID]},
					seen: now,
				}
			}
			if s := lv.sups[slot.NodeID]; s.info.Time.IsZero() && !slices.Contains(s.info.Ports, slot.Port) {
				s.info.Ports = append(slices.Clone(s.info.Ports), slot.Port) // made up: the ports in use
				lv.sups[slot.NodeID] = s
			}
		}
	}
	out := make([]scheduler.Supervisor, 0, len(lv.sups))
	for _, id := range slices.Sorted(maps.Keys(lv.sups)) {
		s := lv.sups[id]
		alive := now.Sub(s.seen) <= lv.t.supervisorTimeout
		if !alive && !used[id] && !slices.ContainsFunc(registered, func(i cluster.SupervisorInfo) bool { return i.ID == id }) {
			delete(lv.sups, id) // gone for good
			continue
		}
		out = append(out, scheduler.Supervisor{ID: id, Host: s.info.Host, Ports: s.info.Ports, Alive: alive})
	}
	return out
}

// saw records supervisor records read at at, between passes: a known
// supervisor whose Time changed was alive then. Supervisors not known yet
// are left to the pass their arrival triggers. A record no newer than
// the one known, by its own Time, is stale (read before a pass that read
// a newer one, whenever either was stamped): it would move the supervisor
// back.
func (lv *liveness) saw(infos []cluster.SupervisorInfo, at time.Time) {
	for _, info := range infos {
		s, ok := lv.sups[info.ID]
		if !ok || !info.Time.After(s.info.Time) {
			continue
		}
		s.seen, s.info = at, info
		lv.sups[info.ID] = s
	}
}

// nextJudgement returns the wait, from now, before the next pass: every,
// or less if a supervisor alive now is due to time out sooner. A pass
// then judges it as soon as it is due, as one did when every supervisor's
// rewrite of its record caused a pass.
func (lv *liveness) nextJudgement(now time.Time, every time.Duration) time.Duration {
	for _, s := range lv.sups {
		if due := s.seen.Add(lv.t.supervisorTimeout).Sub(now); due >= 0 {
			every = min(every, due+time.Millisecond)
		}
	}
	return every
}

// badSlots records topology id's heartbeats and returns the slots of a
// running an executor that is dead: not seen alive for
// nimbus.task.timeout.secs (nimbus.task.launch.secs until its worker is
// heard from, see sighting), and assigned longer ago than
// nimbus.task.launch.secs; on a node whose supervisor is dead, where no
// one launches it, the launch grace does not apply. The scheduler moves
// their executors.
func (lv *liveness) badSlots(id string, a cluster.Assignment, beats []cluster.WorkerHeartbeat, aliveNodes map[string]bool, now time.Time) []scheduler.Slot {
	last := lv.beat[id]
	if last == nil {
		last = make(map[cluster.Slot]time.Time)
		lv.beat[id] = last
	}
	seen := lv.seen[id]
	if seen == nil {
		seen = make(map[cluster.ExecutorID]sighting)
		lv.seen[id] = seen
	}
	current := make(map[cluster.Slot]bool, len(beats))
	for _, hb := range beats {
		slot := cluster.Slot{NodeID: hb.NodeID, Port: hb.Port}
		current[slot] = true
		t, looked := last[slot]
		if looked && t.Equal(hb.Time) {
			continue
		}
		last[slot] = hb.Time
		for _, e := range hb.Executors {
			if a.Executors[e] == slot {
				seen[e] = sighting{at: now, heard: looked}
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
		s, ok := seen[e]
		if !ok {
			s = sighting{at: now}
			seen[e] = s
		}
		if bad[slot] {
			continue
		}
		alive := aliveNodes[slot.NodeID]
		if start, ok := a.ExecutorStartTime[e]; ok && now.Sub(start) < lv.t.launchGrace && alive {
			continue
		}
		timeout := lv.t.taskTimeout
		if !s.heard && alive {
			timeout = max(timeout, lv.t.launchGrace)
		}
		if now.Sub(s.at) > timeout {
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
