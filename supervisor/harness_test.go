package supervisor

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/auth"
	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/internal/layout"
	"github.com/squallstream/squall/internal/tarball"
	"github.com/squallstream/squall/internal/testenv"
	"github.com/squallstream/squall/internal/zktest"
)

// Timings of the supervisors under test: short, so that every scenario
// runs in a few seconds, yet long enough for a loaded machine.
const (
	testMonitor      = 50 * time.Millisecond
	testWorkerTO     = 2 * time.Second
	testStartTO      = 5 * time.Second
	testGrace        = 500 * time.Millisecond
	testBackoff      = 50 * time.Millisecond
	testMaxBackoff   = 400 * time.Millisecond
	testWaitDeadline = 15 * time.Second
)

// harness is a cluster with a fake nimbus leading it, and a control
// directory for the fake workers.
type harness struct {
	t *testing.T
	// session opens a session on the cluster.
	session func() cluster.State
	// admin is the test's own session, nimbus's part: it writes topologies
	// and assignments and leads.
	admin   cluster.State
	nimbus  *fakeNimbus
	control string
	// noSecret makes submit store no worker secret, as an older nimbus.
	noSecret bool
	// owner is the owner of the topologies submitted from now on.
	owner string
}

// newHarness returns a harness on an in-memory cluster.
func newHarness(t *testing.T) *harness {
	t.Helper()
	mem := cluster.NewMemory()
	return newHarnessOn(t, func() cluster.State { return mem.Session() })
}

// newZooKeeperHarness returns a harness on the package's shared ZooKeeper
// server, under a root of the test's own.
func newZooKeeperHarness(t *testing.T) *harness {
	t.Helper()
	srv := zktest.Shared(t)
	cfg := cluster.DefaultConfig()
	cfg.Servers = []string{srv.Addr()}
	cfg.Root = zktest.Root(t)
	cfg.SessionTimeout = 4 * time.Second
	return newHarnessOn(t, func() cluster.State {
		z, err := cluster.NewZooKeeper(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		return z
	})
}

func newHarnessOn(t *testing.T, session func() cluster.State) *harness {
	t.Helper()
	checkLeaks(t)
	h := &harness{t: t, session: session, nimbus: &fakeNimbus{pkgs: map[string]fakePackage{}}, control: t.TempDir()}
	for _, d := range []string{"launches", "procs"} {
		if err := os.Mkdir(filepath.Join(h.control, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { killAll(t, h.control) })

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	api.RegisterNimbusServer(srv, h.nimbus)
	var wg sync.WaitGroup
	wg.Go(func() { srv.Serve(lis) })
	t.Cleanup(func() {
		srv.Stop()
		wg.Wait()
	})

	h.admin = session()
	t.Cleanup(func() { h.admin.Close() })
	port := lis.Addr().(*net.TCPAddr).Port
	if _, err := h.admin.Campaign(t.Context(), cluster.NimbusInfo{Host: "127.0.0.1", Port: port}); err != nil {
		t.Fatal(err)
	}
	return h
}

// testSup is a supervisor running under a harness.
type testSup struct {
	*Supervisor
	sess   cluster.State
	cancel context.CancelFunc
	done   chan error
	logs   *logBuffer
	once   sync.Once
}

// startSupervisor starts a supervisor on localDir offering ports, and
// waits until it has registered. It is stopped when the test ends.
func (h *harness) startSupervisor(localDir string, ports []int, opts ...func(*Config)) *testSup {
	t := h.t
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{t: t}
	cfg := DefaultConfig()
	cfg.Host = "127.0.0.1"
	cfg.Ports = ports
	cfg.LocalDir = localDir
	cfg.WorkerBinary = exe
	cfg.WorkerArgs = []string{"-c", "test.key=1"}
	cfg.WorkerEnv = append(os.Environ(), controlEnv+"="+h.control)
	cfg.WorkerTimeout = testWorkerTO
	cfg.WorkerStartTimeout = testStartTO
	cfg.MonitorInterval = testMonitor
	cfg.StopGrace = testGrace
	cfg.RestartBackoff = testBackoff
	cfg.MaxRestartBackoff = testMaxBackoff
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	for _, o := range opts {
		o(&cfg)
	}
	sess := h.session()
	s, err := New(cfg, sess)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testSup{Supervisor: s, sess: sess, cancel: cancel, done: make(chan error, 1), logs: logs}
	go func() { ts.done <- s.Run(ctx) }()
	t.Cleanup(func() { ts.stop(t) })
	select {
	case <-s.Ready():
	case err := <-ts.done:
		t.Fatalf("Run: %v", err)
	case <-time.After(testWaitDeadline):
		t.Fatal("supervisor not ready")
	}
	return ts
}

// stop stops the supervisor, as SIGTERM would, and closes its session.
func (ts *testSup) stop(t *testing.T) {
	t.Helper()
	ts.once.Do(func() {
		ts.cancel()
		select {
		case err := <-ts.done:
			if err != nil {
				t.Errorf("Run() = %v, want nil", err)
			}
		case <-time.After(testWaitDeadline):
			t.Errorf("Run did not return after its context ended")
		}
		ts.sess.Close()
	})
}

// worker returns the worker on port that is not stopping, if any.
func (ts *testSup) worker(port int) (WorkerStatus, bool) {
	for _, w := range ts.Workers() {
		if w.Port == port && w.State != WorkerStopping {
			return w, true
		}
	}
	return WorkerStatus{}, false
}

// waitRunning waits until a worker on port heartbeats, other than the ones
// with the pids given, and returns it.
func (ts *testSup) waitRunning(t *testing.T, port int, notPids ...int) WorkerStatus {
	t.Helper()
	var got WorkerStatus
	testenv.WaitUntil(t, testWaitDeadline, fmt.Sprintf("a running worker on port %d", port), func() bool {
		w, ok := ts.worker(port)
		got = w
		return ok && w.State == WorkerRunning && !slices.Contains(notPids, w.Pid)
	})
	return got
}

// submit stores a topology whose package holds files (path → content)
// and goBinary, and returns its digest.
func (h *harness) submit(stormID string, files map[string]string, goBinary []byte) string {
	t := h.t
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var archive bytes.Buffer
	if err := tarball.Create(&archive, dir); err != nil {
		t.Fatal(err)
	}
	return h.submitRaw(stormID, archive.Bytes(), goBinary)
}

// submitRaw stores a topology with the given resources archive.
func (h *harness) submitRaw(stormID string, archive, goBinary []byte) string {
	t := h.t
	t.Helper()
	sum := sha256.New()
	sum.Write(archive)
	sum.Write(goBinary)
	digest := hex.EncodeToString(sum.Sum(nil))
	h.nimbus.add(fakePackage{
		manifest: &api.PackageManifest{
			TopologyId: stormID,
			Digest:     digest,
			Submission: &api.SubmitTopologyRequest{
				Topology:     "name: " + stormID + "\n",
				TopologyFile: "topology.yaml",
				Name:         stormID,
			},
			PackageSize:  int64(len(archive)),
			GoBinarySize: int64(len(goBinary)),
		},
		resources: archive,
		goBinary:  goBinary,
	})
	_, err := h.admin.SetTopology(t.Context(), cluster.TopologyRecord{
		ID:            stormID,
		Name:          stormID,
		Status:        cluster.StatusActive,
		NumWorkers:    1,
		LaunchTime:    time.Now(),
		PackageDigest: digest,
		PackageSize:   int64(len(archive) + len(goBinary)),
		Owner:         h.owner,
	})
	if err != nil {
		t.Fatal(err)
	}
	if h.noSecret {
		return digest
	}
	if err := h.admin.SetTopologySecret(t.Context(), stormID, bytes.Repeat([]byte{1}, auth.TopologySecretBytes)); err != nil {
		t.Fatal(err)
	}
	return digest
}

// assign writes a topology's assignment, replacing the current one.
func (h *harness) assign(stormID string, executors map[cluster.ExecutorID]cluster.Slot) cluster.Assignment {
	t := h.t
	t.Helper()
	a := cluster.Assignment{TopologyID: stormID, Executors: executors, NodeHost: map[string]string{}}
	for _, s := range executors {
		a.NodeHost[s.NodeID] = "127.0.0.1"
	}
	if cur, err := h.admin.GetAssignment(t.Context(), stormID); err == nil {
		a.Version = cur.Version
	} else if !errors.Is(err, cluster.ErrNotFound) {
		t.Fatal(err)
	}
	a, err := h.admin.SetAssignment(t.Context(), a)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// unassign removes a topology's assignment.
func (h *harness) unassign(stormID string) {
	h.t.Helper()
	if err := h.admin.DeleteAssignment(h.t.Context(), stormID); err != nil {
		h.t.Fatal(err)
	}
}

// fakeNimbus serves DownloadPackage from packages given by the test.
type fakeNimbus struct {
	api.UnimplementedNimbusServer
	mu sync.Mutex
	// Guarded by mu:
	pkgs      map[string]fakePackage
	downloads int
}

type fakePackage struct {
	manifest            *api.PackageManifest
	resources, goBinary []byte
}

func (f *fakeNimbus) add(p fakePackage) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pkgs[p.manifest.GetTopologyId()] = p
}

func (f *fakeNimbus) downloadCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.downloads
}

func (f *fakeNimbus) DownloadPackage(r *api.DownloadPackageRequest, s grpc.ServerStreamingServer[api.DownloadPackageResponse]) error {
	f.mu.Lock()
	f.downloads++
	p, ok := f.pkgs[r.GetTopologyId()]
	f.mu.Unlock()
	if !ok {
		return status.Errorf(codes.NotFound, "topology %q not found", r.GetTopologyId())
	}
	if r.GetDigest() != "" && r.GetDigest() != p.manifest.GetDigest() {
		return status.Errorf(codes.FailedPrecondition, "digest %q is not the stored %q", r.GetDigest(), p.manifest.GetDigest())
	}
	return api.SendPackage(s, p.manifest, bytes.NewReader(p.resources), bytes.NewReader(p.goBinary))
}

// logBuffer keeps a supervisor's log lines and shows them in the test log.
type logBuffer struct {
	t  *testing.T
	mu sync.Mutex
	// Guarded by mu:
	lines []string
}

func (b *logBuffer) Write(p []byte) (int, error) {
	line := strings.TrimRight(string(p), "\n")
	b.mu.Lock()
	b.lines = append(b.lines, line)
	b.mu.Unlock()
	b.t.Log(line)
	return len(p), nil
}

// find returns the log lines holding every one of parts.
func (b *logBuffer) find(parts ...string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, l := range b.lines {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(l, p)
		}
		if ok {
			out = append(out, l)
		}
	}
	return out
}

// running reports whether pid is a live process (not a zombie).
func running(pid int) bool {
	_, ok := identify(pid)
	return ok
}

// killAll kills every process the fake workers recorded in the control
// directory, and waits until they are gone.
func killAll(t *testing.T, control string) {
	entries, _ := os.ReadDir(filepath.Join(control, "procs"))
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, _ := os.ReadFile(filepath.Join(control, "procs", e.Name()))
		start, _ := strconv.ParseUint(string(data), 10, 64)
		p := procID{pid, start}
		if !p.alive() {
			continue
		}
		syscall.Kill(-pid, syscall.SIGKILL)
		syscall.Kill(pid, syscall.SIGKILL)
		if !waitGone(p, 5*time.Second) {
			t.Errorf("process %d survived SIGKILL", pid)
		}
	}
}

// checkLeaks registers a cleanup, to run after every later one, that fails
// the test if goroutines started during it are still running.
func checkLeaks(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				t.Fatalf("%d goroutines leaked:\n%s", runtime.NumGoroutine()-before, buf[:runtime.Stack(buf, true)])
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

func sortByTime(rs []launchRecord) {
	slices.SortFunc(rs, func(a, b launchRecord) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return a.Pid - b.Pid
	})
}

// workerDirs returns the names of the worker directories under localDir.
func workerDirs(t *testing.T, localDir string) []string {
	t.Helper()
	entries, err := os.ReadDir(layout.WorkersRoot(localDir))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// slots maps executors [i i] to slot for i in tasks.
func slots(slot cluster.Slot, tasks ...int) map[cluster.ExecutorID]cluster.Slot {
	m := make(map[cluster.ExecutorID]cluster.Slot)
	for _, i := range tasks {
		m[cluster.ExecutorID{Start: i, End: i}] = slot
	}
	return m
}

// merge merges executor maps.
func merge(ms ...map[cluster.ExecutorID]cluster.Slot) map[cluster.ExecutorID]cluster.Slot {
	out := make(map[cluster.ExecutorID]cluster.Slot)
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}
