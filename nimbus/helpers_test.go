package nimbus

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/internal/tarball"
	"github.com/squallstream/squall/internal/zktest"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/topology/builtin"
)

// TestMain runs the tests, or, when nimbus runs this test binary as a
// submission's Go binary (`<binary> validate`), plays that binary, or,
// for the load test, is a nimbus daemon (nimbusProcess).
func TestMain(m *testing.M) {
	if os.Getenv(envNimbusProcess) != "" {
		os.Exit(nimbusProcess())
	}
	os.Exit(zktest.Main(m))
}

// CustomSpoutName is a Go spout the test binary's registry has and
// nimbus's does not: a topology using it is known to nimbus by the outline
// its submitter sends only.
const CustomSpoutName = "test.Custom"

// binaryRegistry is the registry of the test binary acting as a
// topology's Go binary: the built-ins and CustomSpoutName.
func binaryRegistry() *topology.Registry {
	r := topology.NewRegistry()
	builtin.Register(r)
	r.RegisterSpout(CustomSpoutName, func(a topology.Args) (topology.Spout, error) {
		return builtin.NewWordSpout(builtin.WordsConfig{})
	})
	return r
}

// fakeClock is a Clock whose time moves only with Advance. It is safe for
// concurrent use.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c       *fakeClock
	at      time.Time
	f       func()
	stopped bool // guarded by c.mu
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), f: f}
	if d <= 0 {
		t.stopped = true
		go f()
		return t
	}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

// Advance moves the time on by d and fires the timers now due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*fakeTimer
	keep := c.timers[:0]
	for _, t := range c.timers {
		switch {
		case t.stopped:
		case !t.at.After(c.now):
			t.stopped = true
			due = append(due, t)
		default:
			keep = append(keep, t)
		}
	}
	c.timers = keep
	c.mu.Unlock()
	sort.Slice(due, func(i, j int) bool { return due[i].at.Before(due[j].at) })
	for _, t := range due {
		go t.f()
	}
}

// testNimbus is a running Nimbus.
type testNimbus struct {
	*Nimbus
	cancel context.CancelFunc
	done   chan error
	stop   sync.Once
}

// options adjust a test nimbus's Config.
type option func(*Config)

func withClock(c Clock) option { return func(cfg *Config) { cfg.Clock = c } }

func withConf(kv ...any) option {
	return func(cfg *Config) {
		for i := 0; i+1 < len(kv); i += 2 {
			cfg.Cluster[kv[i].(string)] = kv[i+1]
		}
	}
}

func withHTTP() option { return func(cfg *Config) { cfg.HTTPAddr = "127.0.0.1:0" } }

// startNimbus runs a nimbus on st (closed by the caller) until the test
// ends, and waits until it listens.
func startNimbus(t *testing.T, st cluster.State, opts ...option) *testNimbus {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Host = "127.0.0.1"
	cfg.GRPCAddr = "127.0.0.1:0"
	cfg.HTTPAddr = ""
	cfg.LocalDir = t.TempDir()
	cfg.Registry = stockRegistry()
	cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.ShutdownTimeout = 2 * time.Second
	for _, o := range opts {
		o(&cfg)
	}
	n, err := New(cfg, st)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tn := &testNimbus{Nimbus: n, cancel: cancel, done: make(chan error, 1)}
	go func() { tn.done <- n.Run(ctx) }()
	select {
	case <-n.Ready():
	case err := <-tn.done:
		t.Fatalf("Run: %v", err)
	}
	t.Cleanup(func() { tn.shutdown(t) })
	return tn
}

// shutdown stops the nimbus and checks that Run returns nil in time.
func (tn *testNimbus) shutdown(t *testing.T) {
	t.Helper()
	tn.stop.Do(func() {
		tn.cancel()
		select {
		case err := <-tn.done:
			if err != nil {
				t.Errorf("Run = %v, want nil", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("Run did not return 15s after its context ended")
		}
	})
}

func stockRegistry() *topology.Registry {
	r := topology.NewRegistry()
	builtin.RegisterWith(r, builtin.Options{Stdout: io.Discard})
	return r
}

// waitFor polls cond until it holds, failing t after a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitLeader waits until n runs its leader loop.
func waitLeader(t *testing.T, n *testNimbus) {
	t.Helper()
	waitFor(t, "leadership", func() bool { return n.currentLeader() != nil })
}

// memNimbus starts a leading nimbus on a fresh in-memory cluster state
// and returns it with the store, for fake supervisors and workers.
func memNimbus(t *testing.T, opts ...option) (*testNimbus, *cluster.Memory) {
	t.Helper()
	mem := cluster.NewMemory()
	st := mem.Session()
	t.Cleanup(func() { st.Close() })
	n := startNimbus(t, st, opts...)
	waitLeader(t, n)
	return n, mem
}

// fakeSupervisor is a supervisor's registration in its own session:
// Close makes it vanish as a dead supervisor's does.
type fakeSupervisor struct {
	sess *cluster.MemorySession
	info cluster.SupervisorInfo
}

func addSupervisor(t *testing.T, mem *cluster.Memory, clock Clock, id string, ports ...int) *fakeSupervisor {
	t.Helper()
	sess := mem.Session()
	t.Cleanup(func() { sess.Close() })
	now := time.Now()
	if clock != nil {
		now = clock.Now()
	}
	s := &fakeSupervisor{sess: sess, info: cluster.SupervisorInfo{
		ID: id, Host: "host-" + id, Ports: ports, StartTime: now, Time: now, Version: "test",
	}}
	if err := sess.RegisterSupervisor(t.Context(), s.info); err != nil {
		t.Fatal(err)
	}
	return s
}

// beat writes a heartbeat for each worker of topology id's assignment,
// except those on skip's node.
func beat(t *testing.T, st cluster.State, a cluster.Assignment, at time.Time, skip func(cluster.Slot) bool) {
	t.Helper()
	for _, slot := range a.Slots() {
		if skip != nil && skip(slot) {
			continue
		}
		hb := cluster.WorkerHeartbeat{
			TopologyID: a.TopologyID, NodeID: slot.NodeID, Port: slot.Port,
			Executors: a.ExecutorsOn(slot), Time: at, UptimeSecs: 5,
		}
		if err := st.PutWorkerHeartbeat(t.Context(), hb); err != nil {
			t.Fatal(err)
		}
	}
}

// wordsYAML is a topology of built-in components: 2 spout executors, 3
// bolt executors over 6 tasks, 2 workers (so 2 ackers): 10 executors.
const wordsYAML = `name: %s
config:
  topology.workers: 2
spouts:
  - id: words
    go: squall.TestWordSpout
    parallelism: 2
bolts:
  - id: count
    go: squall.Count
    args: {field: word}
    parallelism: 3
    numTasks: 6
streams:
  - from: words
    to: count
    grouping: {type: FIELDS, args: [word]}
`

func wordsRequest(name string) *api.SubmitTopologyRequest {
	return &api.SubmitTopologyRequest{Topology: fmt.Sprintf(wordsYAML, name), TopologyFile: "topology.yaml"}
}

// submit submits req and returns the new topology's id.
func submit(t *testing.T, n api.NimbusServer, req *api.SubmitTopologyRequest) string {
	t.Helper()
	resp, err := n.SubmitTopology(t.Context(), req)
	if err != nil {
		t.Fatalf("SubmitTopology: %v", err)
	}
	if resp.GetTopologyId() == "" {
		t.Fatalf("SubmitTopology = %v, want an id", resp)
	}
	return resp.GetTopologyId()
}

// wantCode checks that err is a gRPC status with code.
func wantCode(t *testing.T, what string, err error, code codes.Code) {
	t.Helper()
	if got := status.Code(err); got != code {
		t.Errorf("%s: error %v (code %v), want code %v", what, err, got, code)
	}
}

// assignment reads topology id's assignment, failing t on errors other
// than NotFound (the zero Assignment).
func assignment(t *testing.T, st cluster.State, id string) cluster.Assignment {
	t.Helper()
	a, err := st.GetAssignment(t.Context(), id)
	if err != nil && !errors.Is(err, cluster.ErrNotFound) {
		t.Fatal(err)
	}
	return a
}

// workersPerNode counts an assignment's workers on each node.
func workersPerNode(a cluster.Assignment) map[string]int {
	out := map[string]int{}
	for _, s := range a.Slots() {
		out[s.NodeID]++
	}
	return out
}

// executorsPerWorker returns the sorted executor counts of the workers.
func executorsPerWorker(a cluster.Assignment) []int {
	var out []int
	for _, s := range a.Slots() {
		out = append(out, len(a.ExecutorsOn(s)))
	}
	slices.Sort(out)
	return out
}

func mustStruct(t *testing.T, m map[string]any) *structpb.Struct {
	t.Helper()
	s, err := structpb.NewStruct(m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// tarGz builds a .tar.gz of entries, written as given (for hostile
// archives).
type tarEntry struct {
	name     string
	body     string
	typeflag byte
	linkname string
	size     int64 // when set, the declared size
}

func tarGz(t *testing.T, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o644, Typeflag: e.typeflag, Linkname: e.linkname, Size: int64(len(e.body))}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if e.size > 0 {
			h.Size = e.size
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			body := []byte(e.body)
			if e.size > 0 {
				body = bytes.Repeat([]byte("x"), int(e.size))
			}
			if _, err := tw.Write(body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// resourcesTarGz packs a directory tree given as path → content.
func resourcesTarGz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := tarball.Create(&buf, dir); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
