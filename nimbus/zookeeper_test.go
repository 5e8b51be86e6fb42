package nimbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/auth/zkacl"
	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/internal/zkserver"
	"github.com/squallstream/squall/internal/zktest"
)

// zkState opens a session on the test's ZooKeeper root, closed when the
// test ends.
func zkState(t *testing.T, addr, root string) *cluster.ZooKeeper {
	t.Helper()
	return openZKState(t, addr, root, zkacl.Credential{})
}

// securedZKState opens a session with the digest credential the ZooKeeper
// auth tests give nimbus.
func securedZKState(t *testing.T, addr, root string) *cluster.ZooKeeper {
	t.Helper()
	return openZKState(t, addr, root, zkacl.Credential{Scheme: zkacl.SchemeDigest, Payload: []byte("squall:nimbus-test")})
}

func openZKState(t *testing.T, addr, root string, auth zkacl.Credential) *cluster.ZooKeeper {
	t.Helper()
	cfg := cluster.DefaultConfig()
	cfg.Servers = []string{addr}
	cfg.Root = root
	cfg.SessionTimeout = 2 * time.Second
	cfg.Auth = auth
	st, err := cluster.NewZooKeeper(cfg, slog.New(slog.NewTextHandler(t.Output(), nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func registerSupervisor(t *testing.T, st cluster.State, id string, ports ...int) {
	t.Helper()
	now := time.Now()
	info := cluster.SupervisorInfo{ID: id, Host: "host-" + id, Ports: ports, StartTime: now, Time: now}
	if err := st.RegisterSupervisor(t.Context(), info); err != nil {
		t.Fatal(err)
	}
}

func TestTwoNimbusesOnZooKeeper(t *testing.T) {
	t.Parallel()
	srv := zktest.Shared(t)
	root := zktest.Root(t)
	s1 := zkState(t, srv.Addr(), root)
	n1 := startNimbus(t, s1)
	waitLeader(t, n1)
	s2 := zkState(t, srv.Addr(), root)
	n2 := startNimbus(t, s2)
	ctx := t.Context()
	waitFor(t, "the follower's registration", func() bool {
		ns, _ := s2.ListNimbuses(ctx)
		return len(ns) == 2
	})
	if n2.currentLeader() != nil {
		t.Fatalf("two leaders")
	}
	supA := zkState(t, srv.Addr(), root)
	supB := zkState(t, srv.Addr(), root)
	registerSupervisor(t, supA, "a", 6700, 6701)
	registerSupervisor(t, supB, "b", 6700, 6701)

	// The follower forwards a submission; the leader has scheduled it
	// when the answer comes back.
	start := time.Now()
	id := submit(t, n2, wordsRequest("ha"))
	a := assignment(t, s2, id)
	if len(a.Executors) != 7 || len(a.Slots()) != 2 {
		t.Fatalf("assignment right after the submission = %v, want 7 executors on 2 workers", a)
	}
	t.Logf("submit through the follower to assignment: %v", time.Since(start))
	rec, _ := topologyRecord(t, s2, id)
	if !n1.store.has(id, rec.PackageDigest) {
		t.Errorf("the leader does not hold the package")
	}

	// The follower copies the package, and answers reads.
	waitFor(t, "the follower's copy of the package", func() bool { return n2.store.has(id, rec.PackageDigest) })
	p, err := n2.GetTopology(ctx, &api.GetTopologyRequest{Id: id})
	if err != nil || p.GetExecutorsTotal() != 7 {
		t.Errorf("follower's GetTopology = %v, %v", p, err)
	}
	waitFor(t, "replication count 2 on both", func() bool {
		for _, n := range []*testNimbus{n1, n2} {
			ts, err := n.ListTopologies(ctx, &api.ListTopologiesRequest{})
			if err != nil || len(ts.GetTopologies()) != 1 || ts.GetTopologies()[0].GetReplicationCount() != 2 {
				return false
			}
		}
		return true
	})
	ns, err := n2.GetNimbusSummary(ctx, &api.GetNimbusSummaryRequest{})
	if err != nil {
		t.Fatal(err)
	}
	statuses := map[string]string{}
	for _, nb := range ns.GetNimbuses() {
		statuses[net.JoinHostPort(nb.GetHost(), strconv.Itoa(int(nb.GetPort())))] = nb.GetStatus()
	}
	if statuses[n1.info().Addr()] != api.NimbusLeader || statuses[n2.info().Addr()] != api.NimbusNotLeader {
		t.Errorf("nimbus summary = %v", statuses)
	}
	// Other writes are forwarded too.
	if _, err := n2.DeactivateTopology(ctx, &api.DeactivateTopologyRequest{Name: "ha"}); err != nil {
		t.Fatal(err)
	}
	if rec, _ := topologyRecord(t, s2, id); rec.Status != cluster.StatusInactive {
		t.Errorf("status after a forwarded deactivate = %s", rec.Status)
	}

	// A killed topology's package goes from the follower too.
	short := submit(t, n2, wordsRequest("short"))
	shortRec, _ := topologyRecord(t, s2, short)
	waitFor(t, "the follower's copy of the second package", func() bool { return n2.store.has(short, shortRec.PackageDigest) })
	if _, err := n2.KillTopology(ctx, &api.KillTopologyRequest{Id: short, WaitSecs: proto.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the follower to drop the killed topology's package", func() bool {
		ids, _ := n2.store.list()
		return !slices.Contains(ids, short)
	})

	// The leader dies: the follower takes over and keeps scheduling.
	supC := zkState(t, srv.Addr(), root)
	registerSupervisor(t, supC, "c", 6700, 6701)
	// Its session ends under it, as when ZooKeeper expires the session of
	// a nimbus that hangs: it must stop acting as the leader.
	s1.Close()
	waitLeader(t, n2)
	waitFor(t, "the old leader's leader loop to stop", func() bool { return n1.currentLeader() == nil })
	// A supervisor vanishing moves nothing by itself: its worker is
	// judged by its heartbeats (in their launch grace here).
	before := assignment(t, s2, id)
	supB.Close()
	passes := n2.passes.Load()
	waitFor(t, "two passes of the new leader", func() bool { return n2.passes.Load() >= passes+2 })
	if a := assignment(t, s2, id); a.Version != before.Version {
		t.Errorf("assignment changed when a supervisor vanished: %v, was %v", a.Executors, before.Executors)
	}
	id2 := submit(t, n2, wordsRequest("after"))
	if a := assignment(t, s2, id2); len(a.Executors) != 7 {
		t.Errorf("the new leader did not schedule a new topology: %v", a)
	}
	if _, err := n2.ActivateTopology(ctx, &api.ActivateTopologyRequest{Id: id}); err != nil {
		t.Errorf("the new leader refused an operation: %v", err)
	}
}

// TestZooKeeperOutage stops ZooKeeper under a nimbus serving REST: reads
// answer at once from the last known state, marked stale; writes answer
// 503 with Retry-After; once ZooKeeper is back, on the same port with the
// same data, everything answers fresh again without help.
func TestZooKeeperOutage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv, err := zkserver.Start(zkserver.Options{Dir: dir, Test: true})
	if err != nil {
		if _, missing := errors.AsType[*zkserver.MissingError](err); missing && os.Getenv("CI") == "" {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	_, port, _ := net.SplitHostPort(srv.Addr())
	root := "/outage"
	n := startNimbus(t, zkState(t, srv.Addr(), root), withHTTP())
	waitLeader(t, n)
	registerSupervisor(t, zkState(t, srv.Addr(), root), "a", 6700, 6701)
	id := submit(t, n, wordsRequest("outage"))
	base := "http://" + n.HTTPAddr()

	type answer struct {
		code  int
		stale string
		retry string
		body  map[string]any
		took  time.Duration
	}
	call := func(method, path string) answer {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second) // what hung before
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, method, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		a := answer{code: resp.StatusCode, stale: resp.Header.Get(api.StaleHeader), retry: resp.Header.Get("Retry-After"), took: time.Since(start)}
		if err := json.NewDecoder(resp.Body).Decode(&a.body); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		return a
	}
	reads := []string{
		"/api/v1/cluster/summary",
		"/api/v1/supervisor/summary",
		"/api/v1/nimbus/summary",
		"/api/v1/topology/summary",
		"/api/v1/topology/" + id,
		"/api/v1/topology/" + id + "/component/count",
	}
	for _, path := range reads {
		if a := call("GET", path); a.code != http.StatusOK || a.stale != "" {
			t.Fatalf("GET %s before the outage = %d (stale %q): %v", path, a.code, a.stale, a.body)
		}
	}

	srv.Stop()
	for _, path := range reads {
		a := call("GET", path)
		if a.code != http.StatusOK || a.stale == "" || a.took > 2*time.Second {
			t.Errorf("GET %s during the outage = %d in %v, %s %q; want 200 within 2s, stale", path, a.code, a.took, api.StaleHeader, a.stale)
		}
		if age, err := strconv.Atoi(a.stale); a.stale != "" && (err != nil || age < 0 || age > 60) {
			t.Errorf("GET %s: %s = %q, want an age in seconds", path, api.StaleHeader, a.stale)
		}
	}
	if a := call("GET", "/api/v1/topology/summary"); len(a.body["topologies"].([]any)) != 1 {
		t.Errorf("stale topology list = %v, want the topology", a.body)
	}
	a := call("POST", "/api/v1/topology/"+id+"/deactivate")
	if a.code != http.StatusServiceUnavailable || a.retry == "" || a.took > 2*time.Second ||
		!strings.Contains(fmt.Sprint(a.body["errorMessage"]), "ZooKeeper is unreachable") {
		t.Errorf("deactivate during the outage = %d in %v, Retry-After %q: %v; want 503 within 2s with Retry-After", a.code, a.took, a.retry, a.body)
	}
	// gRPC says it too, in a response header.
	var header metadata.MD
	if _, err := n.grpcClient(t).ListTopologies(t.Context(), &api.ListTopologiesRequest{}, grpc.Header(&header)); err != nil || len(header.Get(api.StaleMetadataKey)) != 1 {
		t.Errorf("gRPC ListTopologies during the outage: header %v, %v; want %s", header, err, api.StaleMetadataKey)
	}

	srv, err = zkserver.Start(zkserver.Options{Dir: dir, Test: true, Port: mustAtoi(t, port)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	waitFor(t, "fresh reads and writes after the outage", func() bool {
		return call("GET", "/api/v1/topology/summary").stale == "" &&
			call("POST", "/api/v1/topology/"+id+"/deactivate").code == http.StatusOK
	})
	if p := call("GET", "/api/v1/topology/"+id); p.stale != "" || p.body["status"] != "INACTIVE" {
		t.Errorf("topology page after the outage: stale %q, %v", p.stale, p.body["status"])
	}
}

// grpcClient returns a gRPC client of tn, closed when t ends.
func (tn *testNimbus) grpcClient(t *testing.T) api.NimbusClient {
	t.Helper()
	conn, err := grpc.NewClient(tn.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return api.NewNimbusClient(conn)
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestLeaderSecuresZooKeeper: a cluster run without ZooKeeper
// authentication, then started again with it, has its nodes closed by the
// leader's SetACL pass: a session without credentials gets NoAuth, and the
// topology's own credential reads its record.
func TestLeaderSecuresZooKeeper(t *testing.T) {
	t.Parallel()
	srv := zktest.Shared(t)
	root := zktest.Root(t)
	dir := t.TempDir()
	sameDir := func(cfg *Config) { cfg.LocalDir = dir }

	open := zkState(t, srv.Addr(), root)
	n0 := startNimbus(t, open, sameDir)
	waitLeader(t, n0)
	registerSupervisor(t, open, "a", 6700, 6701)
	id := submit(t, n0, wordsRequest("before-acls"))
	assignment(t, open, id)
	n0.shutdown(t)
	open.Close()

	secured := securedZKState(t, srv.Addr(), root)
	n1 := startNimbus(t, secured, sameDir)
	waitLeader(t, n1)

	stranger, _, err := zk.Connect([]string{srv.Addr()}, 10*time.Second, zk.WithLogger(quietZK{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stranger.Close)
	waitFor(t, "the SetACL pass to close the topology's record", func() bool {
		_, _, err := stranger.Get(root + "/storms/" + id)
		return errors.Is(err, zk.ErrNoAuth)
	})
	for _, p := range []string{root, root + "/assignments/" + id, root + "/secrets/" + id} {
		if _, _, err := stranger.Get(p); !errors.Is(err, zk.ErrNoAuth) {
			t.Errorf("a session without credentials reads %s: %v, want zk.ErrNoAuth", p, err)
		}
	}
	secret, err := secured.GetTopologySecret(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	topo := zkacl.DerivedTopologyCredential(id, secret)
	if err := stranger.AddAuth(topo.Scheme, topo.Payload); err != nil {
		t.Fatal(err)
	}
	if _, _, err := stranger.Get(root + "/storms/" + id); err != nil {
		t.Errorf("the topology's credential reads its record: %v", err)
	}
	if p, err := n1.GetTopology(t.Context(), &api.GetTopologyRequest{Id: id}); err != nil || p.GetName() != "before-acls" {
		t.Errorf("GetTopology after the pass = %v, %v", p, err)
	}
}

// quietZK drops the ZooKeeper client's log lines.
type quietZK struct{}

func (quietZK) Printf(string, ...any) {}
