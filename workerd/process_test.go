package workerd

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/auth"
	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/internal/layout"
	"github.com/squallstream/squall/internal/testenv"
	"github.com/squallstream/squall/metrics"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/topology/builtin"
)

const processTopology = `
name: wcp
config:
  topology.workers: 2
  topology.max.spout.pending: 200
spouts:
  - id: sentences
    go: squall.RandomSentences
    args: {reliable: true, limit: 3000, seed: 7}
bolts:
  - id: count
    go: squall.Count
    args: {field: sentence}
    parallelism: 2
streams:
  - from: sentences
    to: count
    grouping: {type: FIELDS, args: [sentence]}
`

// processFixture is a topology submitted to a memory cluster, with two
// worker slots on one node.
type processFixture struct {
	state    cluster.State
	localDir string
	ports    [2]int
	stormID  string
	asg      cluster.Assignment
}

func newProcessFixture(t *testing.T) *processFixture {
	t.Helper()
	mem := cluster.NewMemory()
	state := mem.Session()
	t.Cleanup(func() { state.Close() })
	f := &processFixture{state: state, localDir: t.TempDir(), ports: [2]int(testenv.FreePorts(t, 2)), stormID: "wcp-1-1"}
	dist := layout.StormDist(f.localDir, f.stormID)
	if err := os.MkdirAll(layout.ResourcesDir(dist), 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := protojson.Marshal(&api.SubmitTopologyRequest{Topology: processTopology, TopologyFile: "topology.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(layout.SubmissionFile(dist), data, 0o644); err != nil {
		t.Fatal(err)
	}
	// The supervisor's part: the topology's secret in each worker's
	// directory.
	secret, err := auth.NewTopologySecret()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"w0", "w1"} {
		dir := layout.WorkerDir(f.localDir, id)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := auth.WriteSecretFile(layout.SecretFile(dir), secret, -1, -1); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	if _, err := state.SetTopology(ctx, cluster.TopologyRecord{ID: f.stormID, Name: "wcp", Status: cluster.StatusActive, NumWorkers: 2}); err != nil {
		t.Fatal(err)
	}
	// Tasks: __acker 1-2, count 3-4, sentences 5. The spout and one acker
	// in slot 0, the counters and the other acker in slot 1.
	f.asg = cluster.Assignment{
		TopologyID: f.stormID,
		NodeHost:   map[string]string{"n1": "127.0.0.1"},
		Executors: map[cluster.ExecutorID]cluster.Slot{
			{Start: 1, End: 1}: {NodeID: "n1", Port: f.ports[0]},
			{Start: 2, End: 2}: {NodeID: "n1", Port: f.ports[1]},
			{Start: 3, End: 3}: {NodeID: "n1", Port: f.ports[1]},
			{Start: 4, End: 4}: {NodeID: "n1", Port: f.ports[1]},
			{Start: 5, End: 5}: {NodeID: "n1", Port: f.ports[0]},
		},
	}
	if f.asg, err = state.SetAssignment(ctx, f.asg); err != nil {
		t.Fatal(err)
	}
	return f
}

// run starts the worker process of slot i; the returned channel gets its
// result.
func (f *processFixture) run(t *testing.T, ctx context.Context, i int) <-chan error {
	reg := topology.NewRegistry()
	builtin.Register(reg)
	done := make(chan error, 1)
	go func() {
		done <- RunProcess(ctx, ProcessConfig{
			StormID: f.stormID, NodeID: "n1", Port: f.ports[i], WorkerID: []string{"w0", "w1"}[i], LocalDir: f.localDir,
			Conf: topology.Defaults().Merge(topology.Config{topology.KeyTaskHeartbeatFreqSecs: 1}), Registry: reg,
			State: f.state, Host: "localhost", Logger: testLogger(t),
		})
	}()
	return done
}

// streamTotals are a component's all-time counts in the heartbeats.
type streamTotals struct{ Emitted, Executed, Acked, Failed int64 }

// totals sums a component's statistics over the worker heartbeats.
func (f *processFixture) totals(t *testing.T, component string) streamTotals {
	hbs, err := f.state.ListWorkerHeartbeats(context.Background(), f.stormID)
	if err != nil {
		t.Fatal(err)
	}
	var s streamTotals
	// The counter's own output is not counted: count its input.
	keep := func(stream string) bool { return component != "count" || stream != "default" }
	for _, hb := range hbs {
		for _, ex := range hb.ExecutorStats {
			if ex.Component != component {
				continue
			}
			all := func(name string) int64 { return ex.Total(name, keep).Counts[metrics.WindowAllTime] }
			s.Emitted += all(metrics.Emitted)
			s.Executed += all(metrics.Executed)
			s.Acked += all(metrics.Acked)
			s.Failed += all(metrics.Failed)
		}
	}
	return s
}

func TestWorkerProcesses(t *testing.T) {
	f := newProcessFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done0, done1 := f.run(t, ctx, 0), f.run(t, ctx, 1)
	// Each worker heartbeats on its own clock: wait for both to tell.
	var spout, count streamTotals
	defer func() {
		if t.Failed() {
			t.Logf("last heartbeats: sentences %+v, count %+v", spout, count)
		}
	}()
	waitUntil(t, 30*time.Second, "every sentence acked and counted, as the heartbeats tell", func() bool {
		spout, count = f.totals(t, "sentences"), f.totals(t, "count")
		return spout.Acked == 3000 && count.Executed == 3000 && count.Acked == 3000
	})
	var hb layout.Heartbeat
	if err := layout.ReadJSON(layout.HeartbeatFile(layout.WorkerDir(f.localDir, "w1")), &hb); err != nil || !hb.Ready || hb.Port != f.ports[1] {
		t.Errorf("heartbeat file = %+v, %v; want a ready worker on port %d", hb, err, f.ports[1])
	}
	// Later beats, which would change only the Time, set the file's
	// modification time and leave its content as it is.
	hbPath := layout.HeartbeatFile(layout.WorkerDir(f.localDir, "w1"))
	waitUntil(t, 30*time.Second, "a heartbeat by modification time", func() bool {
		fi, err := os.Stat(hbPath)
		return err == nil && fi.ModTime().After(hb.Time)
	})
	var again layout.Heartbeat
	if err := layout.ReadJSON(hbPath, &again); err != nil || again != hb {
		t.Errorf("heartbeat file rewritten with %+v, %v; want %+v as it was", again, err, hb)
	}
	if executed := scrapeExecuted(t, hb.MetricsAddr, "count"); executed != 3000 {
		t.Errorf("/metrics of worker 1 at %q: count executed %v, want 3000", hb.MetricsAddr, executed)
	}

	// Moving the counters' slot reassigns worker 1, which stops.
	moved := f.asg
	moved.Executors = map[cluster.ExecutorID]cluster.Slot{}
	for ex, slot := range f.asg.Executors {
		if slot.Port == f.ports[1] {
			slot.Port = f.ports[1] + 1
		}
		moved.Executors[ex] = slot
	}
	if _, err := f.state.SetAssignment(context.Background(), moved); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done1:
		if !errors.Is(err, ErrReassigned) {
			t.Errorf("worker 1 = %v, want ErrReassigned", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("worker 1 kept running after its executors moved")
	}
	cancel()
	if err := <-done0; err != nil {
		t.Errorf("worker 0: %v", err)
	}
}

func TestWorkerProcessErrors(t *testing.T) {
	f := newProcessFixture(t)
	ctx := context.Background()
	reg := topology.NewRegistry()
	builtin.Register(reg)
	// A slot without executors.
	err := RunProcess(ctx, ProcessConfig{StormID: f.stormID, NodeID: "n2", Port: 1, WorkerID: "x", LocalDir: f.localDir,
		Conf: topology.Defaults(), Registry: reg, State: f.state, Logger: testLogger(t)})
	if !errors.Is(err, ErrReassigned) {
		t.Errorf("RunProcess(unassigned slot) = %v, want ErrReassigned", err)
	}
	// A missing package.
	err = RunProcess(ctx, ProcessConfig{StormID: "nope-1-1", NodeID: "n1", Port: 1, WorkerID: "x", LocalDir: filepath.Join(f.localDir, "none"),
		Conf: topology.Defaults(), Registry: reg, State: f.state, Logger: testLogger(t)})
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("RunProcess(no package) = %v, want a missing-file error", err)
	}
}

func testLogger(t *testing.T) *slog.Logger { return testenv.Logger(t) }

// waitUntil polls cond until it holds, failing the test after timeout
// (doubled under CI).
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	testenv.WaitUntil(t, timeout, what, cond)
}

// scrapeExecuted reads a worker's /metrics, which must be on loopback,
// and adds up squall_executed_total of component.
func scrapeExecuted(t *testing.T, addr, component string) float64 {
	t.Helper()
	if host, _, err := net.SplitHostPort(addr); err != nil || host != "127.0.0.1" {
		t.Fatalf("worker serves /metrics on %q, want loopback", addr)
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	var n float64
	for _, m := range families["squall_executed_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "component" && l.GetValue() == component {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}
