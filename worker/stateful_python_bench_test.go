package worker

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/squallstream/squall/adapters"
	"github.com/squallstream/squall/shell"
	"github.com/squallstream/squall/state/checkpoint"
	"github.com/squallstream/squall/topology"
)

// The two Python word counts BenchmarkPythonStatefulCount compares: the
// same count in a dict (a BasicBolt) and in the task's state (the
// adapters' StatefulBolt), each emitting the word and its count.
const (
	dictCountPy = `import storm

class Count(storm.BasicBolt):
    def initialize(self, conf, context):
        self.counts = {}

    def process(self, tup):
        word = tup.values[0]
        n = self.counts.get(word, 0) + 1
        self.counts[word] = n
        storm.emit([word, n])

Count().run()
`
	stateCountPy = `import storm

class Count(storm.StatefulBolt):
    def process(self, tup):
        word = tup.values[0]
        n = self.state.get(word, 0) + 1
        self.state[word] = n
        storm.emit([word, n])

Count().run()
`
)

// BenchmarkPythonCount is BenchmarkPythonStatefulCount's baseline: the
// Python count in a dict, in a topology without state.
func BenchmarkPythonCount(b *testing.B) { benchPythonCount(b, dictCountPy, false, false) }

// BenchmarkPythonStatefulCount is a reliable word count, a Go spout (1000
// words) -> a Python count (one task, FIELDS) -> a Go sink, with the
// counts in the task's checkpointed state on the embedded provider,
// checkpoints at the default interval (1 s), in Storm's mode and
// exactly-once; BenchmarkPythonCount is the same count in a dict without
// state. It reports spout tuples acked per second, timed from the first
// 2000 being acked (the interpreter's start and the first checkpoint are
// not counted). A stateful count's acks wait for the commit that includes
// them: the figure includes up to one checkpoint cycle of waiting for the
// last commit, so run it long (-benchtime 200000x or more), and
// max.spout.pending must cover a cycle's tuples (it is 100000 here;
// SQUALL_BENCH_CONF overrides).
func BenchmarkPythonStatefulCount(b *testing.B) {
	b.Run("storm", func(b *testing.B) { benchPythonCount(b, stateCountPy, true, false) })
	b.Run("exactly-once", func(b *testing.B) { benchPythonCount(b, stateCountPy, true, true) })
}

// pacedWordSpout is a wordSpout that emits warm words, then waits for its
// gate before the rest.
type pacedWordSpout struct {
	wordSpout
	warm int
	gate <-chan struct{}
	open bool
}

func (s *pacedWordSpout) Next() {
	if s.n >= s.warm && !s.open {
		select {
		case <-s.gate:
			s.open = true
		default:
			return
		}
	}
	s.wordSpout.Next()
}

// ackingSink acks what it gets and counts it.
type ackingSink struct {
	out topology.BoltCollector
	n   *atomic.Int64
}

func (s *ackingSink) Prepare(_ *topology.TaskContext, out topology.BoltCollector) error {
	s.out = out
	return nil
}
func (s *ackingSink) Cleanup() {}
func (s *ackingSink) Execute(t topology.Tuple) {
	s.n.Add(1)
	s.out.Ack(t)
}

func benchPythonCount(b *testing.B, script string, stateful, exactly bool) {
	dir := b.TempDir()
	env, err := adapters.Install(dir)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, "count.py")
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		b.Fatal(err)
	}
	const warm = 2000
	n := b.N
	gate := make(chan struct{})
	var sunk atomic.Int64
	bld := topology.NewBuilder("pycount")
	bld.AddConfig(topology.KeyLocalDir, filepath.Join(dir, "local"))
	bld.AddConfig(topology.KeyMaxSpoutPending, 100_000)
	bld.AddConfig(checkpoint.KeyExactlyOnce, exactly)
	bld.SetSpout("words", topology.SpoutFunc(func() (topology.Spout, error) {
		return &pacedWordSpout{wordSpout: wordSpout{limit: warm + n}, warm: warm, gate: gate}, nil
	}), 1)
	d := bld.SetBolt("count", topology.Shell("python3", path).Fields("word", "count"), 1).FieldsGrouping("words", "word")
	if stateful {
		d.Stateful()
	}
	bld.SetBolt("sink", topology.BoltFunc(func() (topology.Bolt, error) { return &ackingSink{n: &sunk}, nil }), 1).ShuffleGrouping("count")
	topo, err := bld.Build()
	if err != nil {
		b.Fatal(err)
	}
	topo.Config = topo.Config.Merge(benchConf(b))
	// Every tuple in flight may be held back while a PREPARE waits
	// (exactly-once): a smaller cap fails the excess, which the spout
	// never replays, and the figure would be of the cap, not the count.
	if _, set := topo.Config.IntOK(checkpoint.KeyMaxBuffered); !set {
		topo.Config[checkpoint.KeyMaxBuffered] = topo.Config.Int(topology.KeyMaxSpoutPending, 0)
	}
	w, err := New(Config{Topology: topo, StormID: "pycount-1-1", Shell: shell.Options{Env: env},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	children := rusage(b, syscall.RUSAGE_CHILDREN)
	go func() { done <- w.Run(ctx) }()
	// Waits until want tuples were acked or failed: the spout does not
	// replay, so a failed one would never be acked.
	waitAcked := func(want int64) {
		deadline := time.Now().Add(10 * time.Minute)
		for {
			acked, failed := resolvedByComponent(w, "words")
			if acked+failed >= want {
				break
			}
			select {
			case err := <-done:
				b.Fatalf("worker stopped: %v", err)
			case <-time.After(2 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d tuples acked (%d failed) after 10 minutes", acked, want, failed)
			}
		}
	}
	waitAcked(warm)
	// The checkpoint cycle: the interval plus how long the barriers take
	// to go round (behind the tuples queued ahead of them).
	txid := func() int64 {
		for _, x := range w.spouts {
			for _, task := range x.tasks {
				if s, ok := task.spout.(*checkpointSpout); ok {
					return s.txid.Load()
				}
			}
		}
		return 0
	}
	txid0 := txid()
	b.ResetTimer()
	host := rusage(b, syscall.RUSAGE_SELF)
	close(gate)
	waitAcked(int64(warm + n))
	b.StopTimer()
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "tuples/s")
	if stateful {
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(max(txid()-txid0, 1)), "ms/checkpoint")
	}
	b.ReportMetric(float64(rusage(b, syscall.RUSAGE_SELF)-host)/float64(n), "host-cpu-ns/tuple")
	// Replays (timeouts, failed checkpoints) would flatter no one: shown.
	var failed int64
	for _, c := range w.Stats() {
		if c.Spout && c.Component == "words" {
			failed += c.Totals().Failed
		}
	}
	b.ReportMetric(float64(failed), "failed")
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(rusage(b, syscall.RUSAGE_CHILDREN)-children)/float64(warm+n), "child-cpu-ns/tuple")
}
