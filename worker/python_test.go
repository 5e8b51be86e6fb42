package worker

import (
	"maps"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/squallstream/squall/adapters"
	"github.com/squallstream/squall/shell"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/topology/builtin"
)

// pythonOptions installs squall's adapters for a test's shell children
// and returns the options that make them importable. Without python3 the
// test fails in CI and is skipped elsewhere.
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
	return shell.Options{Env: env, StopGrace: time.Second, MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}, dir
}

// recordBolt records the source and values of every tuple it gets, and
// acks it.
type recordBolt struct {
	out topology.BoltCollector
	rec *tupleLog
}

type tupleLog struct {
	mu     sync.Mutex
	tuples []topology.Tuple
}

func (l *tupleLog) all() []topology.Tuple {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.tuples)
}

func (b *recordBolt) Prepare(_ *topology.TaskContext, out topology.BoltCollector) error {
	b.out = out
	return nil
}
func (b *recordBolt) Execute(t topology.Tuple) {
	b.rec.mu.Lock()
	b.rec.tuples = append(b.rec.tuples, t)
	b.rec.mu.Unlock()
	b.out.Ack(t)
}
func (b *recordBolt) Cleanup() {}

func recorder(l *tupleLog) topology.BoltFunc {
	return func() (topology.Bolt, error) { return &recordBolt{rec: l}, nil }
}

// TestMixedTopologyStreams runs Go spout -> Python split -> Go bolts, where
// split emits on two named streams: each reaches only its subscribers, and
// the word counts are exact.
func TestMixedTopologyStreams(t *testing.T) {
	opts, resources := pythonOptions(t)
	sentences := testSentences(500)
	rec := newAckRecord()
	counts := &builtin.CountSet{}
	lengths, ticks := &tupleLog{}, &tupleLog{}
	b := topology.NewBuilder("mixed")
	b.SetSpout("sentences", topology.SpoutFunc(func() (topology.Spout, error) {
		return &listSpout{field: "sentence", sentences: sentences, rec: rec}, nil
	}), 1)
	b.SetBolt("split", topology.Shell("python3", "split.py").Fields("word").Stream("lengths", "sentence", "n").Stream("ticks", "tick"), 2).
		ShuffleGrouping("sentences")
	b.SetBolt("count", builtin.Count(builtin.CountConfig{Field: "word", Set: counts}), 2).FieldsGrouping("split", "word")
	b.SetBolt("lengths", recorder(lengths), 1).ShuffleGrouping("split", "lengths")
	b.SetBolt("ticks", recorder(ticks), 1).ShuffleGrouping("split", "ticks")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	w := runWorker(t, Config{Topology: topo, ResourcesDir: resources, Shell: opts})
	waitUntil(t, 60*time.Second, "every sentence acked", func() bool {
		acked, _, _ := rec.snapshot()
		return len(acked) == len(sentences)
	})
	acked, failed, _ := rec.snapshot()
	if len(failed) != 0 || slices.ContainsFunc(slices.Collect(maps.Values(acked)), func(n int) bool { return n != 1 }) {
		t.Errorf("failed %v, acks per message %v; want each acked once", failed, acked)
	}
	if got, want := counts.Snapshot(), wordCounts(sentences); !maps.Equal(got, want) {
		t.Errorf("counts = %v\nwant %v", got, want)
	}
	got := lengths.all()
	if len(got) != len(sentences) {
		t.Fatalf("lengths bolt got %d tuples, want %d", len(got), len(sentences))
	}
	for _, tup := range got {
		if tup.SourceStream() != "lengths" || tup.SourceComponent() != "split" || tup.Len() != 2 {
			t.Fatalf("lengths bolt got %s:%s %v", tup.SourceComponent(), tup.SourceStream(), tup.Values())
		}
	}
	for _, c := range w.Stats() {
		if c.Component == "count" {
			for key, s := range c.Streams {
				if key != "default" && key != "split:default" && s.Executed > 0 {
					t.Errorf("count executed tuples from %s", key)
				}
			}
		}
	}
	if len(ticks.all()) != 0 {
		t.Errorf("ticks arrived without tick configuration")
	}
}

// TestTickTuples checks that ticks reach Go and shell bolts at the
// configured rate.
func TestTickTuples(t *testing.T) {
	opts, resources := pythonOptions(t)
	goTicks, shellTicks := &tupleLog{}, &tupleLog{}
	b := topology.NewBuilder("ticks")
	b.SetSpout("idle", topology.SpoutFunc(func() (topology.Spout, error) {
		return &listSpout{field: "sentence", rec: newAckRecord()}, nil
	}), 1)
	b.SetBolt("gobolt", recorder(goTicks), 2).ShuffleGrouping("idle").AddConfig(topology.KeyTickTupleFreqSecs, 0.2)
	b.SetBolt("split", topology.Shell("python3", "split.py").Fields("word").Stream("lengths", "sentence", "n").Stream("ticks", "tick"), 1).
		ShuffleGrouping("idle").AddConfig(topology.KeyTickTupleFreqSecs, 0.2)
	b.SetBolt("ticks", recorder(shellTicks), 1).ShuffleGrouping("split", "ticks")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	runWorker(t, Config{Topology: topo, ResourcesDir: resources, Shell: opts})
	// The shell child needs a moment to start; count from its first tick.
	waitUntil(t, 30*time.Second, "the shell bolt's first tick", func() bool { return len(shellTicks.all()) > 0 })
	// Count over 5 s, 25 ticks: a child held up to 1.5 s at either end
	// of the window (a loaded machine) stays within 30%, and a wrong
	// rate (every second, every 0.1 s) is still far outside it.
	start, goStart, shellStart := time.Now(), len(goTicks.all()), len(shellTicks.all())
	time.Sleep(5 * time.Second)
	elapsed := time.Since(start)
	want := elapsed.Seconds() / 0.2
	goGot := float64(len(goTicks.all())-goStart) / 2 // two tasks
	shellGot := float64(len(shellTicks.all()) - shellStart)
	for name, got := range map[string]float64{"go bolt (per task)": goGot, "shell bolt": shellGot} {
		if got < want*0.7 || got > want*1.3+1 {
			t.Errorf("%s got %.1f ticks in %v, want about %.1f", name, got, elapsed, want)
		}
	}
	for _, tup := range goTicks.all() {
		if !tup.IsTick() || tup.Value(0) != 0.2 {
			t.Fatalf("go bolt got %v from %s:%s, want tick tuples [0.2]", tup.Values(), tup.SourceComponent(), tup.SourceStream())
		}
	}
}
