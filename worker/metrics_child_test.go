package worker

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/squallstream/squall/metrics"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/topology/builtin"
)

// childFigures sums component's child metrics over the worker's
// executors: restarts and CPU time all time, RSS and crash loops now.
func childFigures(w *Worker, component string) (restarts, cpu int64, rss, looping float64, seen int) {
	for _, s := range w.ExecutorSnapshots(time.Now()) {
		if s.Component != component {
			continue
		}
		for _, x := range s.Series {
			switch x.Name {
			case metrics.ChildRestarts:
				restarts += x.Counts[metrics.WindowAllTime]
				seen++
			case metrics.ChildCPUTime:
				cpu += x.Counts[metrics.WindowAllTime]
			case metrics.ChildRSS:
				rss += x.Value
			case metrics.ChildCrashLooping:
				looping += x.Value
			}
		}
	}
	return
}

// TestChildMetrics: a Python bolt's tasks report their children's
// restarts, CPU time and memory in the worker's metrics; Go tasks have
// none.
func TestChildMetrics(t *testing.T) {
	opts, resources := pythonOptions(t)
	const n = 200
	rec := newAckRecord()
	b := topology.NewBuilder("children")
	b.AddConfig(topology.KeyMessageTimeoutSecs, 120)
	b.SetSpout("spout", topology.SpoutFunc(func() (topology.Spout, error) {
		return &listSpout{field: "sentence", sentences: testSentences(n), rec: rec}, nil
	}), 1)
	b.SetBolt("flaky", topology.Shell("python3", "flaky.py").Fields("sentence").
		Env("CRASH_AFTER", "20").Env("CRASH_MARKER", filepath.Join(t.TempDir(), "crashed")), 2).ShuffleGrouping("spout")
	b.SetBolt("sink", builtin.Null(), 1).ShuffleGrouping("flaky")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	w := runWorker(t, Config{Topology: topo, ResourcesDir: resources, Shell: opts})
	waitUntil(t, 120*time.Second, "every message acked", func() bool {
		acked, _, _ := rec.snapshot()
		return len(acked) == n
	})
	restarts, cpu, rss, looping, seen := childFigures(w, "flaky")
	if seen != 2 || restarts != 1 || looping != 0 {
		t.Errorf("flaky: %d tasks with child metrics, %d restarts, %v crash-looping; want 2 tasks, the one crash, none looping", seen, restarts, looping)
	}
	// The crashed child's CPU time is counted exactly; the two running
	// children are Python interpreters, megabytes each.
	if cpu <= 0 || rss < 2<<20 {
		t.Errorf("flaky: child CPU time %v, RSS %v bytes; want both above 0 (RSS: a few MB)", time.Duration(cpu), rss)
	}
	if _, _, _, _, seen := childFigures(w, "sink"); seen != 0 {
		t.Errorf("the Go bolt has child metrics")
	}
}
