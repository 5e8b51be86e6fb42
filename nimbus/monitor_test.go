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

// refresh rewrites the supervisors' records with the clock's time, as a
// live supervisor does every monitor interval.
func refresh(t *testing.T, clock *fakeClock, sups ...*fakeSupervisor) {
	t.Helper()
	for _, s := range sups {
		s.info.Time = clock.Now()
		if err := s.sess.RegisterSupervisor(t.Context(), s.info); err != nil {
			t.Fatal(err)
		}
	}
}

// A supervisor's registration vanishing (kill -9, an expired session) or
// going silent moves nothing while its workers heartbeat, however long it
// stays away; when it returns, everything is still where it was.
func TestVanishedSupervisorKeepsItsWorkers(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	n, mem := memNimbus(t, withClock(clock), monitorConf)
	sa := addSupervisor(t, mem, clock, "a", 6700, 6701)
	sb := addSupervisor(t, mem, clock, "b", 6700, 6701)
	sc := addSupervisor(t, mem, clock, "c", 6700, 6701)
	st := mem.Session()
	defer st.Close()
	id := submit(t, n, wordsRequest("steady"))
	a0 := assignment(t, st, id)
	if got := workersPerNode(a0); !mapsEqual(got, map[string]int{"a": 1, "b": 1}) {
		t.Fatalf("workers per node = %v, want one on a and b", got)
	}

	sb.sess.Close() // its registration vanishes; its worker runs on
	for range 15 {  // 150s: past nimbus.supervisor.timeout.secs and nimbus.task.launch.secs
		refresh(t, clock, sa, sc)
		beat(t, st, a0, clock.Now(), nil)
		step(t, n, clock, 10*time.Second)
		if a := assignment(t, st, id); a.Version != a0.Version {
			t.Fatalf("assignment changed at %v while every worker beat: %v", clock.Now().Sub(a0.ExecutorStartTime[a0.ExecutorsOn(a0.Slots()[0])[0]]), a.Executors)
		}
	}
	// A new topology avoids the dead supervisor.
	other := submit(t, n, wordsRequest("newcomer"))
	if got := workersPerNode(assignment(t, st, other)); got["b"] != 0 {
		t.Errorf("new topology placed on the dead supervisor: %v", got)
	}
	// It returns, and adopts its worker: nothing moves.
	back := addSupervisor(t, mem, clock, "b", 6700, 6701)
	for range 3 {
		refresh(t, clock, sa, back, sc)
		beat(t, st, a0, clock.Now(), nil)
		step(t, n, clock, 10*time.Second)
	}
	if a := assignment(t, st, id); a.Version != a0.Version {
		t.Errorf("assignment changed when the supervisor returned: %v", a.Executors)
	}
}

// When the worker of a vanished supervisor stops heartbeating too (the
// node is gone), its executors move after nimbus.task.timeout.secs, and
// only they: the other worker keeps its executors and is not restarted.
func TestVanishedSupervisorSilentWorkerMoves(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	n, mem := memNimbus(t, withClock(clock), monitorConf)
	sa := addSupervisor(t, mem, clock, "a", 6700, 6701)
	sb := addSupervisor(t, mem, clock, "b", 6700, 6701)
	sc := addSupervisor(t, mem, clock, "c", 6700, 6701)
	st := mem.Session()
	defer st.Close()
	id := submit(t, n, wordsRequest("nomad"))
	a0 := assignment(t, st, id)
	onA := a0.Slots()[0]
	keep := onSlot(a0, onA)
	for range 7 { // through the launch grace
		refresh(t, clock, sa, sb, sc)
		beat(t, st, a0, clock.Now(), nil)
		step(t, n, clock, 10*time.Second)
	}
	sb.sess.Close()
	onB := func(s cluster.Slot) bool { return s.NodeID == "b" }
	var a cluster.Assignment
	for i := 0; ; i++ {
		refresh(t, clock, sa, sc)
		beat(t, st, a0, clock.Now(), onB)
		step(t, n, clock, 10*time.Second)
		a = assignment(t, st, id)
		if a.Version != a0.Version {
			if i < 2 {
				t.Errorf("executors moved %v after b's last heartbeat, before nimbus.task.timeout.secs", 10*time.Second*time.Duration(i+1))
			}
			break
		}
		if i == 5 {
			t.Fatalf("executors still on b 60s after its worker stopped")
		}
	}
	if got := workersPerNode(a); !mapsEqual(got, map[string]int{"a": 1, "c": 1}) {
		t.Errorf("workers per node = %v, want one on a and c", got)
	}
	if got := onSlot(a, onA); !maps.Equal(got, keep) {
		t.Errorf("the worker on a changed: %v, was %v", got, keep)
	}
	if a.NodeHost["c"] != "host-c" {
		t.Errorf("NodeHost = %v, want c's host", a.NodeHost)
	}
}

// A new leader that finds an assignment on a node without a supervisor
// (away while nimbus restarted) judges that node's workers by their
// heartbeats too: kept while they beat, moved once they stop.
func TestNewLeaderKeepsWorkersOfAnAbsentSupervisor(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	mem := cluster.NewMemory()
	st := mem.Session()
	defer st.Close()
	sa := addSupervisor(t, mem, clock, "a", 6700, 6701)
	dir := t.TempDir()
	localDir := func(cfg *Config) { cfg.LocalDir = dir } // the packages outlive the first nimbus
	first := startNimbus(t, mem.Session(), withClock(clock), monitorConf, localDir)
	waitLeader(t, first)
	id := submit(t, first, wordsRequest("orphan"))
	first.shutdown(t)
	a0 := assignment(t, st, id)
	// b was never registered: its worker appears only in the assignment.
	for _, e := range a0.ExecutorsOn(a0.Slots()[1]) {
		a0.Executors[e] = cluster.Slot{NodeID: "b", Port: 6700}
	}
	a0.NodeHost["b"] = "host-b"
	if _, err := st.SetAssignment(t.Context(), a0); err != nil {
		t.Fatal(err)
	}
	a0 = assignment(t, st, id)
	n := startNimbus(t, mem.Session(), withClock(clock), monitorConf, localDir)
	waitLeader(t, n)
	for range 10 { // 100s: past the supervisor timeout
		refresh(t, clock, sa)
		beat(t, st, a0, clock.Now(), nil)
		step(t, n, clock, 10*time.Second)
		if a := assignment(t, st, id); a.Version != a0.Version {
			t.Fatalf("assignment changed while every worker beat: %v", a.Executors)
		}
	}
	waitFor(t, "the orphan worker's executors to move", func() bool {
		refresh(t, clock, sa)
		beat(t, st, a0, clock.Now(), func(s cluster.Slot) bool { return s.NodeID == "b" })
		step(t, n, clock, 10*time.Second)
		return workersPerNode(assignment(t, st, id))["b"] == 0
	})
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

// A new leader (after a failover, or after ZooKeeper came back) waits
// nimbus.task.launch.secs for a worker to be heard from before judging it
// by nimbus.task.timeout.secs: workers may take a while to reach
// ZooKeeper again, and moving them then would restart healthy workers.
func TestNewLeaderWaitsForWorkersToReport(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	mem := cluster.NewMemory()
	st := mem.Session()
	defer st.Close()
	sa := addSupervisor(t, mem, clock, "a", 6700, 6701)
	sb := addSupervisor(t, mem, clock, "b", 6700, 6701)
	dir := t.TempDir()
	localDir := func(cfg *Config) { cfg.LocalDir = dir }
	first := startNimbus(t, mem.Session(), withClock(clock), monitorConf, localDir)
	waitLeader(t, first)
	id := submit(t, first, wordsRequest("patient"))
	a0 := assignment(t, st, id)
	beat(t, st, a0, clock.Now(), nil)
	first.shutdown(t)
	clock.Advance(100 * time.Second) // past the executors' launch grace

	n := startNimbus(t, mem.Session(), withClock(clock), monitorConf, localDir)
	waitLeader(t, n)
	onB := func(s cluster.Slot) bool { return s.NodeID == "b" }
	for i := range 5 { // 50s: past nimbus.task.timeout.secs, within nimbus.task.launch.secs
		refresh(t, clock, sa, sb)
		if i >= 2 {
			beat(t, st, a0, clock.Now(), onB) // a is back; b not yet
		}
		step(t, n, clock, 10*time.Second)
		if a := assignment(t, st, id); a.Version != a0.Version {
			t.Fatalf("assignment changed %v after the new leader began, before its workers could report: %v", 10*time.Second*time.Duration(i+1), a.Executors)
		}
	}
	// b never reports: it is moved once the launch grace is over; a,
	// heard from, stays.
	keep := onSlot(a0, a0.Slots()[0])
	var a cluster.Assignment
	for i := 0; ; i++ {
		refresh(t, clock, sa, sb)
		beat(t, st, a0, clock.Now(), onB)
		step(t, n, clock, 10*time.Second)
		if a = assignment(t, st, id); a.Version != a0.Version {
			break
		}
		if i == 3 {
			t.Fatalf("b's worker still assigned %v after the new leader began, silent all along", 10*time.Second*time.Duration(i+6))
		}
	}
	if got := onSlot(a, a0.Slots()[0]); !maps.Equal(got, keep) {
		t.Errorf("the worker on a changed: %v, was %v", got, keep)
	}
}
