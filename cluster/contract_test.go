package cluster

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/testenv"
	"github.com/squallstream/squall/metrics"
)

// The contract suite: every test runs against each backend (in-memory and
// ZooKeeper), each on a store of its own.

// backend opens sessions on one store.
type backend struct {
	// open returns a new session, closed when the test ends.
	open func(t *testing.T) State
	// expire expires st's session and returns once st has noticed and
	// started a new one.
	expire func(t *testing.T, st State)
}

// backends lists the implementations under test; each makes a backend
// with a fresh store for one test.
var backends = []struct {
	name string
	new  func(t *testing.T) backend
}{
	{"memory", newMemoryBackend},
	{"zookeeper", newZooKeeperBackend},
	{"zookeeper-acl", newZooKeeperACLBackend},
}

// forEachBackend runs f as a parallel subtest per backend, in parallel
// with other tests.
func forEachBackend(t *testing.T, f func(t *testing.T, b backend)) {
	t.Parallel()
	for _, bk := range backends {
		t.Run(bk.name, func(t *testing.T) {
			t.Parallel()
			f(t, bk.new(t))
		})
	}
}

func newMemoryBackend(t *testing.T) backend {
	m := NewMemory()
	return backend{
		open: func(t *testing.T) State {
			s := m.Session()
			t.Cleanup(func() { s.Close() })
			return s
		},
		expire: func(t *testing.T, st State) { st.(*MemorySession).Expire() },
	}
}

// awaitSignal receives from ch until check passes after a signal, failing
// t if the channel closes or no such signal comes before a deadline. This is
// the consumer loop State documents: each signal is followed by a read.
func awaitSignal(t *testing.T, ch <-chan struct{}, what string, check func() error) {
	t.Helper()
	timeout := time.NewTimer(20 * time.Second)
	defer timeout.Stop()
	var last error
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				t.Fatalf("%s: watch channel closed", what)
			}
			if last = check(); last == nil {
				return
			}
		case <-timeout.C:
			t.Fatalf("%s: no signal followed by a read that passes; last read: %v", what, last)
		}
	}
}

// awaitClosed waits for ch to be closed, discarding signals.
func awaitClosed(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatal("watch channel not closed")
		}
	}
}

// awaitLost waits for l to be lost.
func awaitLost(t *testing.T, l *Leadership, why string) {
	t.Helper()
	select {
	case <-l.Lost():
	case <-time.After(20 * time.Second):
		t.Fatalf("leadership not lost after %s", why)
	}
}

var t0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

func sampleTopology(id string) TopologyRecord {
	return TopologyRecord{
		ID:                 id,
		Name:               "wordcount",
		Owner:              "alice",
		Status:             StatusActive,
		NumWorkers:         2,
		LaunchTime:         t0,
		ComponentExecutors: map[string]int{"sentences": 2, "split": 4, "count": 4},
		PackageDigest:      "sha256:0f1e",
		PackageSize:        123456,
	}
}

func TestTopologies(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		st, other := b.open(t), b.open(t)

		if _, err := st.GetTopology(ctx, "wordcount-1-1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("GetTopology(missing) = %v, want ErrNotFound", err)
		}
		rec := sampleTopology("wordcount-1-1")
		stored, err := st.SetTopology(ctx, rec)
		if err != nil {
			t.Fatalf("SetTopology(new) = %v", err)
		}
		if stored.Version != 1 {
			t.Errorf("SetTopology(new).Version = %d, want 1", stored.Version)
		}
		got, err := other.GetTopology(ctx, rec.ID)
		if err != nil || !reflect.DeepEqual(got, stored) {
			t.Fatalf("GetTopology = %+v, %v; want %+v", got, err, stored)
		}

		// Compare-and-set.
		upd := got
		upd.Status, upd.PrevStatus = StatusRebalancing, StatusActive
		upd.Pending = &PendingAction{Kind: ActionRebalance, At: t0.Add(30 * time.Second), NumWorkers: 3,
			ComponentExecutors: map[string]int{"split": 6}}
		upd, err = other.SetTopology(ctx, upd)
		if err != nil || upd.Version != 2 {
			t.Fatalf("SetTopology(update) = version %d, %v; want 2, nil", upd.Version, err)
		}
		if got, _ := st.GetTopology(ctx, rec.ID); !reflect.DeepEqual(got, upd) {
			t.Errorf("GetTopology after update = %+v, want %+v", got, upd)
		}
		stale := stored // version 1
		stale.Status = StatusKilled
		if _, err := st.SetTopology(ctx, stale); !errors.Is(err, ErrVersionConflict) {
			t.Errorf("SetTopology(stale) = %v, want ErrVersionConflict", err)
		}
		if _, err := st.SetTopology(ctx, sampleTopology(rec.ID)); !errors.Is(err, ErrExists) {
			t.Errorf("SetTopology(new, existing id) = %v, want ErrExists", err)
		}
		missing := sampleTopology("nope")
		missing.Version = 4
		if _, err := st.SetTopology(ctx, missing); !errors.Is(err, ErrNotFound) {
			t.Errorf("SetTopology(update of missing) = %v, want ErrNotFound", err)
		}
		if _, err := st.SetTopology(ctx, TopologyRecord{}); !errors.Is(err, ErrInvalid) {
			t.Errorf("SetTopology(no id) = %v, want ErrInvalid", err)
		}
		if _, err := st.GetTopology(ctx, ""); !errors.Is(err, ErrInvalid) {
			t.Errorf(`GetTopology("") = %v, want ErrInvalid`, err)
		}

		// Listing, with an id that needs escaping in ZooKeeper.
		odd := "odd/id with spaces & ünïcode"
		if _, err := st.SetTopology(ctx, sampleTopology(odd)); err != nil {
			t.Fatalf("SetTopology(%q) = %v", odd, err)
		}
		ids, err := other.ListTopologies(ctx)
		if want := []string{odd, rec.ID}; err != nil || !slices.Equal(ids, want) {
			t.Errorf("ListTopologies = %q, %v; want %q", ids, err, want)
		}
		if got, err := other.GetTopology(ctx, odd); err != nil || got.ID != odd {
			t.Errorf("GetTopology(%q) = %+v, %v", odd, got, err)
		}

		// Deletion.
		if err := st.DeleteTopology(ctx, rec.ID); err != nil {
			t.Fatalf("DeleteTopology = %v", err)
		}
		if _, err := other.GetTopology(ctx, rec.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetTopology(deleted) = %v, want ErrNotFound", err)
		}
		if err := st.DeleteTopology(ctx, rec.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("DeleteTopology(deleted) = %v, want ErrNotFound", err)
		}
		if ids, err := other.ListTopologies(ctx); err != nil || !slices.Equal(ids, []string{odd}) {
			t.Errorf("ListTopologies after delete = %q, %v; want [%q]", ids, err, odd)
		}
	})
}

func sampleAssignment(id string) Assignment {
	return Assignment{
		TopologyID: id,
		Executors: map[ExecutorID]Slot{
			{-1, -1}: {"node-a", 6700}, // Storm's system executor
			{1, 2}:   {"node-a", 6700},
			{3, 3}:   {"node-b", 6701},
			{4, 5}:   {"node-a", 6701},
		},
		NodeHost:          map[string]string{"node-a": "host-a", "node-b": "host-b"},
		ExecutorStartTime: map[ExecutorID]time.Time{{1, 2}: t0, {3, 3}: t0.Add(time.Second)},
	}
}

func TestAssignments(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		st, other := b.open(t), b.open(t)

		if _, err := st.GetAssignment(ctx, "topo-1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("GetAssignment(missing) = %v, want ErrNotFound", err)
		}
		a, err := st.SetAssignment(ctx, sampleAssignment("topo-1"))
		if err != nil || a.Version != 1 {
			t.Fatalf("SetAssignment(new) = version %d, %v; want 1, nil", a.Version, err)
		}
		got, err := other.GetAssignment(ctx, "topo-1")
		if err != nil || !reflect.DeepEqual(got, a) {
			t.Fatalf("GetAssignment = %+v, %v; want %+v", got, err, a)
		}
		wantSlots := []Slot{{"node-a", 6700}, {"node-a", 6701}, {"node-b", 6701}}
		if s := got.Slots(); !slices.Equal(s, wantSlots) {
			t.Errorf("Slots() = %v, want %v", s, wantSlots)
		}
		if e := got.ExecutorsOn(Slot{"node-a", 6700}); !slices.Equal(e, []ExecutorID{{-1, -1}, {1, 2}}) {
			t.Errorf("ExecutorsOn(node-a:6700) = %v", e)
		}

		got.Executors[ExecutorID{3, 3}] = Slot{"node-a", 6700}
		upd, err := other.SetAssignment(ctx, got)
		if err != nil || upd.Version != 2 {
			t.Fatalf("SetAssignment(update) = version %d, %v; want 2, nil", upd.Version, err)
		}
		if _, err := st.SetAssignment(ctx, a); !errors.Is(err, ErrVersionConflict) {
			t.Errorf("SetAssignment(stale) = %v, want ErrVersionConflict", err)
		}
		if _, err := st.SetAssignment(ctx, sampleAssignment("topo-1")); !errors.Is(err, ErrExists) {
			t.Errorf("SetAssignment(new, existing) = %v, want ErrExists", err)
		}
		if _, err := st.SetAssignment(ctx, sampleAssignment("topo-2")); err != nil {
			t.Fatal(err)
		}
		if ids, err := other.ListAssignments(ctx); err != nil || !slices.Equal(ids, []string{"topo-1", "topo-2"}) {
			t.Errorf("ListAssignments = %q, %v", ids, err)
		}
		if err := other.DeleteAssignment(ctx, "topo-1"); err != nil {
			t.Fatal(err)
		}
		if err := other.DeleteAssignment(ctx, "topo-1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("DeleteAssignment(deleted) = %v, want ErrNotFound", err)
		}
		if ids, err := st.ListAssignments(ctx); err != nil || !slices.Equal(ids, []string{"topo-2"}) {
			t.Errorf("ListAssignments after delete = %q, %v", ids, err)
		}
	})
}

// Compare-and-set makes concurrent read-modify-write loops lose nothing.
func TestConcurrentCompareAndSet(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		const writers, increments = 4, 5
		rec := sampleTopology("contended")
		rec.NumWorkers = 0
		if _, err := b.open(t).SetTopology(ctx, rec); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for range writers {
			st := b.open(t)
			wg.Go(func() {
				for range increments {
					for {
						cur, err := st.GetTopology(ctx, rec.ID)
						if err != nil {
							errs <- err
							return
						}
						cur.NumWorkers++
						_, err = st.SetTopology(ctx, cur)
						if err == nil {
							break
						}
						if !errors.Is(err, ErrVersionConflict) {
							errs <- err
							return
						}
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		got, err := b.open(t).GetTopology(ctx, rec.ID)
		if err != nil || got.NumWorkers != writers*increments || got.Version != writers*increments+1 {
			t.Fatalf("after %d increments: NumWorkers %d, Version %d, err %v; want %d, %d",
				writers*increments, got.NumWorkers, got.Version, err, writers*increments, writers*increments+1)
		}
	})
}

func sampleSupervisor(id, host string) SupervisorInfo {
	return SupervisorInfo{
		ID: id, Host: host, Ports: []int{6700, 6701, 6702}, StartTime: t0, Time: t0.Add(time.Minute),
		Version: "v0.1.0", Address: host + ":8000",
	}
}

func TestSupervisors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		sup, restarted, reader := b.open(t), b.open(t), b.open(t)

		info := sampleSupervisor("sup-1", "host-a")
		if err := sup.RegisterSupervisor(ctx, info); err != nil {
			t.Fatal(err)
		}
		if ids, err := reader.ListSupervisors(ctx); err != nil || !slices.Equal(ids, []string{"sup-1"}) {
			t.Fatalf("ListSupervisors = %q, %v; want [sup-1]", ids, err)
		}
		if got, err := reader.GetSupervisor(ctx, "sup-1"); err != nil || !reflect.DeepEqual(got, info) {
			t.Fatalf("GetSupervisor = %+v, %v; want %+v", got, err, info)
		}
		info.UsedPorts = []int{6700}
		info.Time = info.Time.Add(time.Minute)
		if err := sup.RegisterSupervisor(ctx, info); err != nil {
			t.Fatal(err)
		}
		if got, err := reader.GetSupervisor(ctx, "sup-1"); err != nil || !reflect.DeepEqual(got, info) {
			t.Fatalf("GetSupervisor after update = %+v, %v; want %+v", got, err, info)
		}
		if _, err := reader.GetSupervisor(ctx, "sup-2"); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetSupervisor(missing) = %v, want ErrNotFound", err)
		}

		// A second supervisor, and the first one restarted (a new session
		// registering the same id) while its old session lives on.
		if err := sup.RegisterSupervisor(ctx, sampleSupervisor("sup-2", "host-b")); err != nil {
			t.Fatal(err)
		}
		again := sampleSupervisor("sup-1", "host-a2")
		if err := restarted.RegisterSupervisor(ctx, again); err != nil {
			t.Fatal(err)
		}
		if got, err := reader.GetSupervisor(ctx, "sup-1"); err != nil || got.Host != "host-a2" {
			t.Fatalf("GetSupervisor after re-registration elsewhere = %+v, %v; want host-a2", got, err)
		}

		// Closing the old session removes its entries only.
		if err := sup.Close(); err != nil {
			t.Fatal(err)
		}
		testenv.WaitErr(t, 20*time.Second, "supervisors after Close", func() error {
			ids, err := reader.ListSupervisors(ctx)
			if err != nil {
				return err
			}
			if !slices.Equal(ids, []string{"sup-1"}) {
				return fmt.Errorf("supervisors %q, want [sup-1]", ids)
			}
			return nil
		})
		if got, err := reader.GetSupervisor(ctx, "sup-1"); err != nil || !reflect.DeepEqual(got, again) {
			t.Errorf("GetSupervisor = %+v, %v; want %+v", got, err, again)
		}
	})
}

// Ephemeral entries outlive a session expiry: they are re-created, with the
// latest info, in the new session.
func TestEphemeralsSurviveExpiry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		st, reader := b.open(t), b.open(t)
		info := sampleSupervisor("sup-1", "host-a")
		if err := st.RegisterSupervisor(ctx, info); err != nil {
			t.Fatal(err)
		}
		info.UsedPorts = []int{6701}
		if err := st.RegisterSupervisor(ctx, info); err != nil {
			t.Fatal(err)
		}
		nimbus := NimbusInfo{Host: "nimbus-a", Port: 6627, Version: "v0.1.0", StartTime: t0}
		if err := st.RegisterNimbus(ctx, nimbus); err != nil {
			t.Fatal(err)
		}

		b.expire(t, st)

		testenv.WaitErr(t, 20*time.Second, "supervisor after expiry", func() error {
			got, err := reader.GetSupervisor(ctx, "sup-1")
			if err == nil && !reflect.DeepEqual(got, info) {
				err = fmt.Errorf("got %+v, want %+v", got, info)
			}
			return err
		})
		testenv.WaitErr(t, 20*time.Second, "nimbus after expiry", func() error {
			got, err := reader.ListNimbuses(ctx)
			if err == nil && !reflect.DeepEqual(got, []NimbusInfo{nimbus}) {
				err = fmt.Errorf("got %+v, want [%+v]", got, nimbus)
			}
			return err
		})

		// The new session works and owns them: closing it removes them.
		info.UsedPorts = nil
		if err := st.RegisterSupervisor(ctx, info); err != nil {
			t.Fatalf("RegisterSupervisor after expiry = %v", err)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		testenv.WaitErr(t, 20*time.Second, "entries after Close", func() error {
			sups, err := reader.ListSupervisors(ctx)
			if err != nil {
				return err
			}
			nims, err := reader.ListNimbuses(ctx)
			if err != nil {
				return err
			}
			if len(sups)+len(nims) > 0 {
				return fmt.Errorf("supervisors %q, nimbuses %+v remain", sups, nims)
			}
			return nil
		})
	})
}

func TestWorkerHeartbeats(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		st, reader := b.open(t), b.open(t)
		beat := func(topo, node string, port int) WorkerHeartbeat {
			return WorkerHeartbeat{
				TopologyID: topo, NodeID: node, Port: port,
				Executors: []ExecutorID{{1, 2}, {5, 5}},
				Time:      t0, UptimeSecs: 42,
				ExecutorStats: []metrics.Snapshot{{
					Component: "split", FirstTask: 1, LastTask: 2, UptimeSecs: 42,
					Series: []metrics.Series{
						{Name: metrics.Emitted, Stream: "default", Kind: metrics.KindCounter, Counts: metrics.Counts{100, 100, 100, 100}},
						{Name: metrics.ExecuteLatency, Stream: "sentences:default", Kind: metrics.KindHistogram,
							Counts: metrics.Counts{1, 1, 1, 1}, Sums: metrics.Sums{5e5, 5e5, 5e5, 5e5},
							Histogram: &metrics.HistogramSnapshot{Count: 1, Sum: 5e5, Buckets: []metrics.Bucket{{Index: 400, Count: 1}}}},
						{Name: metrics.ReceiveQueuePopulation, Kind: metrics.KindGauge, Value: 3},
					},
				}},
			}
		}
		if hbs, err := reader.ListWorkerHeartbeats(ctx, "t1"); err != nil || len(hbs) != 0 {
			t.Fatalf("ListWorkerHeartbeats(none) = %+v, %v; want none", hbs, err)
		}
		b1, b2, b3 := beat("t1", "node-b", 6700), beat("t1", "node-a", 6701), beat("t2", "node-a", 6700)
		for _, hb := range []WorkerHeartbeat{b1, b2, b3} {
			if err := st.PutWorkerHeartbeat(ctx, hb); err != nil {
				t.Fatal(err)
			}
		}
		b1.UptimeSecs, b1.Time = 45, t0.Add(3*time.Second)
		if err := st.PutWorkerHeartbeat(ctx, b1); err != nil {
			t.Fatal(err)
		}
		hbs, err := reader.ListWorkerHeartbeats(ctx, "t1")
		if want := []WorkerHeartbeat{b2, b1}; err != nil || !reflect.DeepEqual(hbs, want) {
			t.Fatalf("ListWorkerHeartbeats = %+v, %v; want %+v", hbs, err, want)
		}
		if err := reader.DeleteWorkerHeartbeat(ctx, "t1", "node-b", 6700); err != nil {
			t.Fatal(err)
		}
		if err := reader.DeleteWorkerHeartbeat(ctx, "t1", "node-b", 6700); !errors.Is(err, ErrNotFound) {
			t.Errorf("DeleteWorkerHeartbeat(deleted) = %v, want ErrNotFound", err)
		}
		if err := st.PutWorkerHeartbeat(ctx, WorkerHeartbeat{TopologyID: "t1", NodeID: "n"}); !errors.Is(err, ErrInvalid) {
			t.Errorf("PutWorkerHeartbeat(no port) = %v, want ErrInvalid", err)
		}
		if err := reader.DeleteWorkerHeartbeats(ctx, "t1"); err != nil {
			t.Fatal(err)
		}
		if err := reader.DeleteWorkerHeartbeats(ctx, "t1"); err != nil {
			t.Errorf("DeleteWorkerHeartbeats(none) = %v, want nil", err)
		}
		if hbs, err := reader.ListWorkerHeartbeats(ctx, "t1"); err != nil || len(hbs) != 0 {
			t.Errorf("ListWorkerHeartbeats after delete = %+v, %v; want none", hbs, err)
		}
		if hbs, err := reader.ListWorkerHeartbeats(ctx, "t2"); err != nil || !reflect.DeepEqual(hbs, []WorkerHeartbeat{b3}) {
			t.Errorf("ListWorkerHeartbeats(t2) = %+v, %v; want [%+v]", hbs, err, b3)
		}
	})
}

func TestErrorRetention(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		st, reader := b.open(t), b.open(t)
		report := func(comp string, i int) ErrorInfo {
			e := ErrorInfo{Component: comp, Task: i, Host: "host-a", Port: 6700, Time: t0.Add(time.Duration(i) * time.Second),
				Message: fmt.Sprintf("boom %d\nTraceback ...", i)}
			if err := st.ReportError(ctx, "t1", e); err != nil {
				t.Fatal(err)
			}
			return e
		}
		var want []ErrorInfo
		for i := range 3 {
			want = append(want, report("count/odd name", i))
		}
		var split []ErrorInfo
		for i := range 15 {
			split = append(split, report("split", i))
		}
		want = append(want, split[15-MaxErrorsPerComponent:]...)
		got, err := reader.ListErrors(ctx, "t1")
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("ListErrors = %+v, %v;\nwant %+v", got, err, want)
		}
		if got, err := reader.ListErrors(ctx, "t2"); err != nil || len(got) != 0 {
			t.Errorf("ListErrors(none) = %+v, %v; want none", got, err)
		}
		if err := st.ReportError(ctx, "t1", ErrorInfo{Message: "no component"}); !errors.Is(err, ErrInvalid) {
			t.Errorf("ReportError(no component) = %v, want ErrInvalid", err)
		}
		if err := reader.DeleteErrors(ctx, "t1"); err != nil {
			t.Fatal(err)
		}
		if got, err := reader.ListErrors(ctx, "t1"); err != nil || len(got) != 0 {
			t.Errorf("ListErrors after delete = %+v, %v; want none", got, err)
		}
		if err := reader.DeleteErrors(ctx, "t1"); err != nil {
			t.Errorf("DeleteErrors(none) = %v, want nil", err)
		}
	})
}

func TestClosed(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		st := b.open(t)
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		if err := st.Close(); err != nil {
			t.Errorf("second Close = %v", err)
		}
		if _, err := st.GetTopology(ctx, "t1"); !errors.Is(err, ErrClosed) {
			t.Errorf("GetTopology after Close = %v, want ErrClosed", err)
		}
		if _, err := st.SetAssignment(ctx, sampleAssignment("t1")); !errors.Is(err, ErrClosed) {
			t.Errorf("SetAssignment after Close = %v, want ErrClosed", err)
		}
		if err := st.RegisterSupervisor(ctx, sampleSupervisor("s", "h")); !errors.Is(err, ErrClosed) {
			t.Errorf("RegisterSupervisor after Close = %v, want ErrClosed", err)
		}
		if _, err := st.Campaign(ctx, NimbusInfo{Host: "h", Port: 1}); !errors.Is(err, ErrClosed) {
			t.Errorf("Campaign after Close = %v, want ErrClosed", err)
		}
		awaitClosed(t, st.WatchTopologies(ctx))
	})
}
