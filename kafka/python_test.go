package kafka

import (
	"fmt"
	"maps"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/squallstream/squall/adapters"
	"github.com/squallstream/squall/internal/testenv"
	"github.com/squallstream/squall/shell"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/worker"
)

// pythonOptions installs squall's adapters for the test's children. Without
// python3 the test fails in CI and is skipped elsewhere.
func pythonOptions(t *testing.T) (shell.Options, string) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		if isCI() {
			t.Fatalf("python3 is required: %v", err)
		}
		t.Skipf("python3 not found: %v", err)
	}
	env, err := adapters.Install(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir, err := filepath.Abs(filepath.Join("testdata", "resources"))
	if err != nil {
		t.Fatal(err)
	}
	return shell.Options{Env: env, StopGrace: time.Second, MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}, dir
}

// keys records which record keys reached the end of the topology, and how
// often.
type keys struct {
	mu sync.Mutex
	n  map[string]int
}

func (k *keys) add(key string) {
	k.mu.Lock()
	k.n[key]++
	k.mu.Unlock()
}

func (k *keys) distinct() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.n)
}

// keySink acks every tuple and records its key, checking that the Python
// bolt upper-cased the value.
type keySink struct {
	out  topology.BoltCollector
	keys *keys
	bad  *sync.Map
}

func (b *keySink) Prepare(_ *topology.TaskContext, out topology.BoltCollector) error {
	b.out = out
	return nil
}
func (b *keySink) Execute(t topology.Tuple) {
	key, value := t.String(0), t.String(1)
	if want := "V" + key[1:]; value != want {
		b.bad.Store(key, value)
	}
	b.keys.add(key)
	b.out.Ack(t)
}
func (b *keySink) Cleanup() {}

// pythonTopology is Kafka spout (spoutTasks) -> Python tag.py (2 children)
// -> Go key sink.
func pythonTopology(t *testing.T, name string, cfg SpoutConfig, spoutTasks int, k *keys, bad *sync.Map) *topology.Topology {
	t.Helper()
	tb := topology.NewBuilder(name)
	tb.AddConfig(topology.KeyMaxSpoutPending, 1000)
	tb.AddConfig(topology.KeyMessageTimeoutSecs, 30)
	tb.SetSpout("kafka", topology.SpoutFunc(func() (topology.Spout, error) { return NewSpout(cfg) }), spoutTasks)
	tb.SetBolt("tag", topology.Shell("python3", "tag.py").Fields("key", "value", "partition", "offset"), 2).ShuffleGrouping("kafka")
	tb.SetBolt("sink", topology.BoltFunc(func() (topology.Bolt, error) { return &keySink{keys: k, bad: bad}, nil }), 1).ShuffleGrouping("tag")
	topo, err := tb.Build()
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// killChild kills one Python child of the worker with SIGKILL and waits
// for the host to start another in its place.
func killChild(t *testing.T, w *running) {
	t.Helper()
	var task, pid int
	// A restarted worker starts its children as tuples come, and
	// python3 may take seconds to start on a busy machine.
	testenv.WaitUntil(t, 60*time.Second, "a Python child running", func() bool {
		for id, h := range w.Health() {
			if h.Pid != 0 {
				task, pid = id, h.Pid
				return true
			}
		}
		return false
	})
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %d: %v", pid, err)
	}
	testenv.WaitUntil(t, 60*time.Second, "the child restarted", func() bool {
		p := w.Health()[task].Pid
		return p != 0 && p != pid
	})
	t.Logf("killed child %d of task %d; restarted as %d", pid, task, w.Health()[task].Pid)
}

// TestPythonThroughKillsAndRescale processes a topic of 100k records
// through a Python bolt while its child is killed with SIGKILL (the host
// restarts it), then stops the topology and starts it again with twice
// the spout tasks (4 instead of 2; the commits carry over), and kills a
// child again: every record reaches the end at least once, and the
// group's commits end at the log ends. The records are written a quarter
// at a time, each kill and the stop coming before the next quarter is
// written, so that every step has records to process after it however
// fast the topology goes (once, the first topology took every record
// before its stop landed, and the rescaled one had nothing left to do).
func TestPythonThroughKillsAndRescale(t *testing.T) {
	opts, resources := pythonOptions(t)
	n := 100_000
	if testing.Short() {
		n = 20_000
	}
	const parts = 8
	quarter := n / 4 // a multiple of parts: every partition gets as many
	b := startBroker(t, parts, "events")
	cfg := testSpoutConfig(b.Addr(), "py", "events")
	cfg.OffsetCommitPeriod = 200 * time.Millisecond
	k := &keys{n: map[string]int{}}
	var bad sync.Map
	start := time.Now()

	produce(t, b.Addr(), "events", parts, 0, quarter)
	w := runWorker(t, worker.Config{Topology: pythonTopology(t, "py", cfg, 2, k, &bad), ResourcesDir: resources, Shell: opts})
	testenv.WaitUntil(t, 120*time.Second, "an eighth of the records", func() bool { return k.distinct() >= quarter/2 })
	killChild(t, w)
	produce(t, b.Addr(), "events", parts, quarter, quarter)
	// Stop mid-way through the second quarter, most likely: the
	// restart reads again what was not committed.
	testenv.WaitUntil(t, 120*time.Second, "three eighths of the records", func() bool { return k.distinct() >= quarter+quarter/2 })
	w.stop()
	atStop := k.distinct()
	commits := committed(t, b.Addr(), "py", partitionsOf("events", parts))
	var committedSum int64
	for _, c := range commits {
		committedSum += c
	}
	t.Logf("stopped with %d records through, %d committed", atStop, committedSum)
	if committedSum == 0 || committedSum > int64(atStop) {
		t.Fatalf("%d records committed with %d through: commits must follow the records that got through", committedSum, atStop)
	}

	produce(t, b.Addr(), "events", parts, 2*quarter, quarter)
	w = runWorker(t, worker.Config{Topology: pythonTopology(t, "py", cfg, 4, k, &bad), ResourcesDir: resources, Shell: opts})
	testenv.WaitUntil(t, 120*time.Second, "five eighths of the records", func() bool { return k.distinct() >= 2*quarter+quarter/2 })
	killChild(t, w)
	produce(t, b.Addr(), "events", parts, 3*quarter, quarter)
	testenv.WaitUntil(t, 180*time.Second, "every record", func() bool { return k.distinct() == n })
	testenv.WaitUntil(t, 60*time.Second, "commits at the log ends", func() bool {
		return maps.Equal(committed(t, b.Addr(), "py", partitionsOf("events", parts)), endsOf("events", parts, int64(n/parts)))
	})
	elapsed := time.Since(start)

	k.mu.Lock()
	var missing []string
	dups := 0
	for i := range n {
		c := k.n[fmt.Sprintf("k%d", i)]
		if c == 0 {
			missing = append(missing, fmt.Sprintf("k%d", i))
		}
		dups += max(c-1, 0)
	}
	k.mu.Unlock()
	if len(missing) > 0 {
		t.Errorf("%d records never got through, e.g. %v", len(missing), missing[:min(5, len(missing))])
	}
	bad.Range(func(key, value any) bool {
		t.Errorf("record %v came out as %v", key, value)
		return false
	})
	t.Logf("%d records through 2 kills and a rescale from 2 to 4 spout tasks in %v; %d duplicates (%.2f%%)",
		n, elapsed.Round(time.Millisecond), dups, 100*float64(dups)/float64(n))
}
