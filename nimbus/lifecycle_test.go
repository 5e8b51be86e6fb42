package nimbus

import (
	"context"
	"os"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/cluster"
)

// step advances clock by d and waits for the leader pass its tick
// starts.
func step(t *testing.T, n *testNimbus, clock *fakeClock, d time.Duration) {
	t.Helper()
	before := n.passes.Load()
	clock.Advance(d)
	waitFor(t, "a leader pass", func() bool { return n.passes.Load() > before })
}

// topologyRecord reads a topology's record; ok is false if it is gone.
func topologyRecord(t *testing.T, st cluster.State, id string) (cluster.TopologyRecord, bool) {
	t.Helper()
	rec, err := st.GetTopology(t.Context(), id)
	if err != nil {
		return rec, false
	}
	return rec, true
}

func TestUnknownTopologyIsNotFound(t *testing.T) {
	t.Parallel()
	n, mem := memNimbus(t)
	addSupervisor(t, mem, nil, "a", 6700)
	id := submit(t, n, wordsRequest("known"))
	ctx := t.Context()
	for _, tc := range []struct {
		name string
		call func(id, name string) error
	}{
		{"GetTopology", func(id, name string) error {
			_, err := n.GetTopology(ctx, &api.GetTopologyRequest{Id: id, Name: name})
			return err
		}},
		{"GetComponent", func(id, name string) error {
			_, err := n.GetComponent(ctx, &api.GetComponentRequest{Id: id, Name: name, Component: "words"})
			return err
		}},
		{"GetErrors", func(id, name string) error {
			_, err := n.GetErrors(ctx, &api.GetErrorsRequest{Id: id, Name: name})
			return err
		}},
		{"ActivateTopology", func(id, name string) error {
			_, err := n.ActivateTopology(ctx, &api.ActivateTopologyRequest{Id: id, Name: name})
			return err
		}},
		{"DeactivateTopology", func(id, name string) error {
			_, err := n.DeactivateTopology(ctx, &api.DeactivateTopologyRequest{Id: id, Name: name})
			return err
		}},
		{"KillTopology", func(id, name string) error {
			_, err := n.KillTopology(ctx, &api.KillTopologyRequest{Id: id, Name: name})
			return err
		}},
		{"RebalanceTopology", func(id, name string) error {
			_, err := n.RebalanceTopology(ctx, &api.RebalanceTopologyRequest{Id: id, Name: name})
			return err
		}},
		{"DownloadPackage", func(id, _ string) error {
			if id == "" {
				return grpcError(notFoundf("by id only")) // no name in the request
			}
			return grpcError(n.download(ctx, &api.DownloadPackageRequest{TopologyId: id}, nil))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, "by id", tc.call("nope-1-1", ""), codes.NotFound)
			wantCode(t, "by name", tc.call("", "nope"), codes.NotFound)
			wantCode(t, "path-like id", tc.call("../"+id, ""), codes.NotFound)
		})
	}
	_, err := n.GetComponent(ctx, &api.GetComponentRequest{Id: id, Component: "nope"})
	wantCode(t, "GetComponent of an unknown component", err, codes.NotFound)
	// Over gRPC too, and the download stream.
	conn, err := grpc.NewClient(n.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := api.NewNimbusClient(conn)
	_, err = c.KillTopology(ctx, &api.KillTopologyRequest{Id: "nope-1-1"})
	wantCode(t, "KillTopology over gRPC", err, codes.NotFound)
	stream, err := c.DownloadPackage(ctx, &api.DownloadPackageRequest{TopologyId: "nope-1-1"})
	if err == nil {
		_, err = stream.Recv()
	}
	wantCode(t, "DownloadPackage over gRPC", err, codes.NotFound)
	// The known topology downloads, and a wrong digest is refused.
	stream, err = c.DownloadPackage(ctx, &api.DownloadPackageRequest{TopologyId: id, Digest: "sha256:00"})
	if err == nil {
		_, err = stream.Recv()
	}
	wantCode(t, "DownloadPackage with another digest", err, codes.FailedPrecondition)
	stream, err = c.DownloadPackage(ctx, &api.DownloadPackageRequest{TopologyId: id})
	if err != nil {
		t.Fatal(err)
	}
	m, err := api.ReceivePackage(stream, nil, nil)
	if err != nil || m.GetSubmission().GetName() != "known" || m.GetTopologyId() != id {
		t.Errorf("DownloadPackage = %v, %v", m, err)
	}
}

func TestKillWithWait(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	n, mem := memNimbus(t, withClock(clock))
	addSupervisor(t, mem, clock, "a", 6700, 6701)
	st := mem.Session()
	defer st.Close()
	id := submit(t, n, wordsRequest("doomed"))
	if err := st.ReportError(t.Context(), id, cluster.ErrorInfo{Component: "count", Message: "boom", Time: clock.Now()}); err != nil {
		t.Fatal(err)
	}
	beat(t, st, assignment(t, st, id), clock.Now(), nil)

	resp, err := n.KillTopology(t.Context(), &api.KillTopologyRequest{Name: "doomed", WaitSecs: proto.Int32(30)})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetTopologyOperation() != api.OperationKill || resp.GetTopologyId() != id || resp.GetStatus() != api.StatusSuccess {
		t.Errorf("KillTopology = %v", resp)
	}
	rec, _ := topologyRecord(t, st, id)
	if rec.Status != cluster.StatusKilled || rec.Pending == nil || !rec.Pending.At.Equal(clock.Now().Add(30*time.Second)) {
		t.Fatalf("record after kill = %+v, want KILLED pending at +30s", rec)
	}
	// Killed topologies are still listed, and keep their name.
	_, err = n.SubmitTopology(t.Context(), wordsRequest("doomed"))
	wantCode(t, "SubmitTopology of a killed topology's name", err, codes.AlreadyExists)
	_, err = n.ActivateTopology(t.Context(), &api.ActivateTopologyRequest{Id: id})
	wantCode(t, "ActivateTopology of a killed topology", err, codes.FailedPrecondition)

	step(t, n, clock, 29*time.Second)
	if _, ok := topologyRecord(t, st, id); !ok {
		t.Fatalf("topology removed before its wait was over")
	}
	if a := assignment(t, st, id); len(a.Executors) == 0 {
		t.Errorf("a killed topology lost its assignment before its removal")
	}
	clock.Advance(time.Second)
	waitFor(t, "the removal", func() bool {
		_, ok := topologyRecord(t, st, id)
		return !ok
	})
	if a := assignment(t, st, id); a.Executors != nil {
		t.Errorf("assignment left after removal: %v", a)
	}
	if beats, _ := st.ListWorkerHeartbeats(t.Context(), id); len(beats) != 0 {
		t.Errorf("heartbeats left after removal: %v", beats)
	}
	if errs, _ := st.ListErrors(t.Context(), id); len(errs) != 0 {
		t.Errorf("errors left after removal: %v", errs)
	}
	if _, err := os.Stat(n.store.dir(id)); !os.IsNotExist(err) {
		t.Errorf("package left after removal: %v", err)
	}
	// The name is free again.
	submit(t, n, wordsRequest("doomed"))
}

func TestKillDefaultsToMessageTimeout(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	n, mem := memNimbus(t, withClock(clock))
	st := mem.Session()
	defer st.Close()
	req := wordsRequest("patient")
	req.Config = mustStruct(t, map[string]any{"topology.message.timeout.secs": 45})
	id := submit(t, n, req)
	if _, err := n.KillTopology(t.Context(), &api.KillTopologyRequest{Id: id}); err != nil {
		t.Fatal(err)
	}
	rec, _ := topologyRecord(t, st, id)
	if rec.Pending == nil || !rec.Pending.At.Equal(clock.Now().Add(45*time.Second)) {
		t.Errorf("pending = %+v, want a kill at +45s", rec.Pending)
	}
	// A second kill brings it forward.
	if _, err := n.KillTopology(t.Context(), &api.KillTopologyRequest{Id: id, WaitSecs: proto.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the removal", func() bool {
		_, ok := topologyRecord(t, st, id)
		return !ok
	})
	_, err := n.KillTopology(t.Context(), &api.KillTopologyRequest{Id: id, WaitSecs: proto.Int32(-1)})
	wantCode(t, "negative wait", err, codes.InvalidArgument)
}

func TestDeactivateActivate(t *testing.T) {
	t.Parallel()
	n, mem := memNimbus(t)
	st := mem.Session()
	defer st.Close()
	id := submit(t, n, wordsRequest("switch"))
	status := func() cluster.TopologyStatus {
		rec, _ := topologyRecord(t, st, id)
		return rec.Status
	}
	for _, tc := range []struct {
		op   func() error
		want cluster.TopologyStatus
	}{
		{func() error {
			_, err := n.DeactivateTopology(t.Context(), &api.DeactivateTopologyRequest{Id: id})
			return err
		}, cluster.StatusInactive},
		{func() error { // twice is fine
			_, err := n.DeactivateTopology(t.Context(), &api.DeactivateTopologyRequest{Name: "switch"})
			return err
		}, cluster.StatusInactive},
		{func() error {
			_, err := n.ActivateTopology(t.Context(), &api.ActivateTopologyRequest{Id: id})
			return err
		}, cluster.StatusActive},
	} {
		if err := tc.op(); err != nil {
			t.Fatal(err)
		}
		if got := status(); got != tc.want {
			t.Errorf("status = %s, want %s", got, tc.want)
		}
	}
}

func TestRebalance(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	n, mem := memNimbus(t, withClock(clock))
	addSupervisor(t, mem, clock, "a", 6700, 6701, 6702)
	addSupervisor(t, mem, clock, "b", 6700, 6701, 6702)
	st := mem.Session()
	defer st.Close()
	id := submit(t, n, wordsRequest("elastic"))
	before := assignment(t, st, id)
	if len(before.Slots()) != 2 {
		t.Fatalf("assignment has %d workers, want 2", len(before.Slots()))
	}

	for _, tc := range []struct {
		name string
		opts *api.RebalanceOptions
	}{
		{"unknown component", &api.RebalanceOptions{Executors: map[string]int32{"nope": 1}}},
		{"more executors than tasks", &api.RebalanceOptions{Executors: map[string]int32{"count": 7}}},
		{"no executors", &api.RebalanceOptions{Executors: map[string]int32{"count": 0}}},
		{"system component", &api.RebalanceOptions{Executors: map[string]int32{"__acker": 1}}},
		{"negative workers", &api.RebalanceOptions{NumWorkers: proto.Int32(-1)}},
	} {
		_, err := n.RebalanceTopology(t.Context(), &api.RebalanceTopologyRequest{Id: id, RebalanceOptions: tc.opts})
		wantCode(t, tc.name, err, codes.InvalidArgument)
	}
	if rec, _ := topologyRecord(t, st, id); rec.Status != cluster.StatusActive {
		t.Fatalf("status after refused rebalances = %s, want ACTIVE", rec.Status)
	}

	_, err := n.RebalanceTopology(t.Context(), &api.RebalanceTopologyRequest{
		Id:               id,
		WaitSecs:         proto.Int32(10),
		RebalanceOptions: &api.RebalanceOptions{NumWorkers: proto.Int32(4), Executors: map[string]int32{"count": 6}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if rec, _ := topologyRecord(t, st, id); rec.Status != cluster.StatusRebalancing {
		t.Fatalf("status = %s, want REBALANCING", rec.Status)
	}
	_, err = n.RebalanceTopology(t.Context(), &api.RebalanceTopologyRequest{Id: id})
	wantCode(t, "rebalance while rebalancing", err, codes.FailedPrecondition)

	clock.Advance(10 * time.Second)
	waitFor(t, "the rebalance", func() bool {
		rec, _ := topologyRecord(t, st, id)
		return rec.Status == cluster.StatusActive
	})
	rec, _ := topologyRecord(t, st, id)
	if rec.NumWorkers != 4 || rec.ComponentExecutors["count"] != 6 || rec.ComponentExecutors["words"] != 2 {
		t.Errorf("record after rebalance = %+v, want 4 workers, count 6, words 2", rec)
	}
	a := assignment(t, st, id)
	// 2 spout, 6 bolt and 2 acker executors over 4 workers, 2 per node.
	if len(a.Executors) != 10 || len(a.Slots()) != 4 {
		t.Errorf("assignment has %d executors on %d workers, want 10 on 4", len(a.Executors), len(a.Slots()))
	}
	if got := workersPerNode(a); !mapsEqual(got, map[string]int{"a": 2, "b": 2}) {
		t.Errorf("workers per node = %v, want 2 and 2", got)
	}
	if a.Version <= before.Version {
		t.Errorf("assignment version %d, want above %d", a.Version, before.Version)
	}

	// An inactive topology returns to INACTIVE.
	if _, err := n.DeactivateTopology(t.Context(), &api.DeactivateTopologyRequest{Id: id}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.RebalanceTopology(t.Context(), &api.RebalanceTopologyRequest{Id: id, WaitSecs: proto.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second rebalance", func() bool {
		rec, _ := topologyRecord(t, st, id)
		return rec.Status == cluster.StatusInactive
	})
}

// TestTimersSurviveLeaderChange: a new leader re-arms the pending kill of
// the old one.
func TestTimersSurviveLeaderChange(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	mem := cluster.NewMemory()
	s1, s2 := mem.Session(), mem.Session()
	defer s1.Close()
	defer s2.Close()
	n1 := startNimbus(t, s1, withClock(clock))
	waitLeader(t, n1)
	n2 := startNimbus(t, s2, withClock(clock))
	id := submit(t, n1, wordsRequest("orphan"))
	if _, err := n1.KillTopology(t.Context(), &api.KillTopologyRequest{Id: id, WaitSecs: proto.Int32(20)}); err != nil {
		t.Fatal(err)
	}
	n1.shutdown(t)
	s1.Close()
	waitLeader(t, n2)
	clock.Advance(20 * time.Second)
	waitFor(t, "the new leader's removal", func() bool {
		_, ok := topologyRecord(t, s2, id)
		return !ok
	})
}

// TestFollowerWithoutLeader: a follower that finds no leader answers
// writes Unavailable.
func TestFollowerWithoutLeader(t *testing.T) {
	t.Parallel()
	mem := cluster.NewMemory()
	st := mem.Session()
	defer st.Close()
	cfg := DefaultConfig()
	cfg.Host, cfg.LocalDir, cfg.Registry = "127.0.0.1", t.TempDir(), stockRegistry()
	n, err := New(cfg, st) // not running: never leads
	if err != nil {
		t.Fatal(err)
	}
	defer n.closeConns()
	_, err = n.KillTopology(t.Context(), &api.KillTopologyRequest{Id: "x-1-1"})
	wantCode(t, "KillTopology", err, codes.Unavailable)
	_, err = n.SubmitTopology(t.Context(), wordsRequest("x"))
	wantCode(t, "SubmitTopology", err, codes.Unavailable)

	// A leader that does not answer: Unavailable too.
	other := mem.Session()
	defer other.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if _, err := other.Campaign(ctx, cluster.NimbusInfo{Host: "127.0.0.1", Port: 1}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, err = n.ActivateTopology(ctx, &api.ActivateTopologyRequest{Id: "x-1-1"})
	wantCode(t, "ActivateTopology", err, codes.Unavailable)
}
