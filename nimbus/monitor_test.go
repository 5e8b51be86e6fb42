package nimbus

import (
	"maps"
	"testing"
	"time"

	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/topology"
)

// monitorConf are short, round timeouts for the monitor tests:
// heartbeats judged every 10s, dead after 30s, 60s to launch.
var monitorConf = withConf(
	topology.KeyNimbusMonitorFreqSecs, 10,
	topology.KeyNimbusTaskTimeoutSecs, 30,
	KeyTaskLaunchSecs, 60,
	topology.KeyNimbusSupervisorTimeoutSecs, 60,
)

// onSlot returns the executors of a on slot, with their start times.
func onSlot(a cluster.Assignment, s cluster.Slot) map[cluster.ExecutorID]time.Time {
	out := map[cluster.ExecutorID]time.Time{}
	for _, e := range a.ExecutorsOn(s) {
		out[e] = a.ExecutorStartTime[e]
	}
	return out
}

func TestStoppedHeartbeatMovesExecutors(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	n, mem := memNimbus(t, withClock(clock), monitorConf)
	sups := []*fakeSupervisor{
		addSupervisor(t, mem, clock, "a", 6700, 6701),
		addSupervisor(t, mem, clock, "b", 6700, 6701),
	}
	st := mem.Session()
	defer st.Close()
	id := submit(t, n, wordsRequest("beating"))
	a0 := assignment(t, st, id)
	slots := a0.Slots()
	if len(slots) != 2 {
		t.Fatalf("assignment on %v, want 2 workers", slots)
	}
	healthy, dying := slots[0], slots[1]
	keep := onSlot(a0, healthy)

	// The supervisors stay alive; both workers beat through the launch
	// grace, then the second one stops.
	live := func() {
		for _, s := range sups {
			s.info.Time = clock.Now()
			if err := s.sess.RegisterSupervisor(t.Context(), s.info); err != nil {
				t.Fatal(err)
			}
		}
	}
	for range 7 {
		live()
		beat(t, st, a0, clock.Now(), nil)
		step(t, n, clock, 10*time.Second)
	}
	if a := assignment(t, st, id); a.Version != a0.Version {
		t.Fatalf("assignment changed while every worker beat: %v", a)
	}
	var a cluster.Assignment
	for i := 0; ; i++ {
		live()
		beat(t, st, a0, clock.Now(), func(s cluster.Slot) bool { return s == dying })
		step(t, n, clock, 10*time.Second)
		a = assignment(t, st, id)
		if a.Version != a0.Version {
			if i < 2 {
				t.Errorf("executors moved %v after the last heartbeat, before nimbus.task.timeout.secs", 10*time.Second*time.Duration(i+1))
			}
			break
		}
		if i == 5 {
			t.Fatalf("executors still on %s 50s after its worker stopped beating", dying)
		}
	}
	for _, s := range a.Slots() {
		if s == dying {
			t.Errorf("new assignment still uses the silent worker's slot %s", s)
		}
	}
	if got := onSlot(a, healthy); !maps.Equal(got, keep) {
		t.Errorf("healthy worker changed: %v, was %v", got, keep)
	}
	if len(a.Executors) != len(a0.Executors) || len(a.Slots()) != 2 {
		t.Errorf("new assignment has %d executors on %d workers, want %d on 2", len(a.Executors), len(a.Slots()), len(a0.Executors))
	}
	for e, s := range a.Executors {
		if s != healthy && !a.ExecutorStartTime[e].Equal(clock.Now()) && a.ExecutorStartTime[e].Before(clock.Now().Add(-10*time.Second)) {
			t.Errorf("moved executor %v kept its old start time %v", e, a.ExecutorStartTime[e])
		}
	}
}

func TestVanishedSupervisorMovesExecutors(t *testing.T) {
	t.Parallel()
	n, mem := memNimbus(t)
	addSupervisor(t, mem, nil, "a", 6700, 6701)
	b := addSupervisor(t, mem, nil, "b", 6700, 6701)
	addSupervisor(t, mem, nil, "c", 6700, 6701)
	st := mem.Session()
	defer st.Close()
	id := submit(t, n, wordsRequest("nomad"))
	a0 := assignment(t, st, id)
	if got := workersPerNode(a0); !mapsEqual(got, map[string]int{"a": 1, "b": 1}) {
		t.Fatalf("workers per node = %v, want one on a and b", got)
	}
	onA := onSlot(a0, a0.Slots()[0])

	b.sess.Close()
	var a cluster.Assignment
	waitFor(t, "executors to leave b", func() bool {
		a = assignment(t, st, id)
		return workersPerNode(a)["b"] == 0
	})
	if got := workersPerNode(a); !mapsEqual(got, map[string]int{"a": 1, "c": 1}) {
		t.Errorf("workers per node = %v, want one on a and c", got)
	}
	if got := onSlot(a, a0.Slots()[0]); !maps.Equal(got, onA) {
		t.Errorf("the worker on a changed: %v, was %v", got, onA)
	}
	if a.NodeHost["c"] != "host-c" {
		t.Errorf("NodeHost = %v, want c's host", a.NodeHost)
	}
}

func TestSilentSupervisorMovesExecutors(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	n, mem := memNimbus(t, withClock(clock), monitorConf)
	sa := addSupervisor(t, mem, clock, "a", 6700, 6701)
	addSupervisor(t, mem, clock, "b", 6700, 6701) // never updates its record
	st := mem.Session()
	defer st.Close()
	id := submit(t, n, wordsRequest("quiet"))
	a0 := assignment(t, st, id)
	if got := workersPerNode(a0); got["b"] != 1 {
		t.Fatalf("workers per node = %v, want one on b", got)
	}
	var a cluster.Assignment
	for i := 0; ; i++ {
		sa.info.Time = clock.Now()
		if err := sa.sess.RegisterSupervisor(t.Context(), sa.info); err != nil {
			t.Fatal(err)
		}
		beat(t, st, a0, clock.Now(), nil)
		step(t, n, clock, 10*time.Second)
		a = assignment(t, st, id)
		if workersPerNode(a)["b"] == 0 {
			break
		}
		if i == 8 {
			t.Fatalf("executors still on b after %v without a supervisor update", 10*time.Second*time.Duration(i+1))
		}
	}
	if got := workersPerNode(a); !mapsEqual(got, map[string]int{"a": 2}) {
		t.Errorf("workers per node = %v, want both on a", got)
	}
}

func TestNoSlotsThenSupervisorJoins(t *testing.T) {
	t.Parallel()
	n, mem := memNimbus(t)
	st := mem.Session()
	defer st.Close()
	id := submit(t, n, wordsRequest("waiting"))
	if a := assignment(t, st, id); a.Executors != nil {
		t.Fatalf("assigned without supervisors: %v", a)
	}
	addSupervisor(t, mem, nil, "a", 6700)
	waitFor(t, "the assignment", func() bool { return assignment(t, st, id).Executors != nil })
	if a := assignment(t, st, id); len(a.Slots()) != 1 || len(a.Executors) != 7 {
		t.Errorf("assignment on %d slots with %d executors, want 7 on the only slot", len(a.Slots()), len(a.Executors))
	}
}
