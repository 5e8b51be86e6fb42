package worker

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/squallstream/squall/adapters"
	"github.com/squallstream/squall/shell"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/topology/builtin"
)

// sentenceSpout emits one sentence of six words, limit times, reliably
// if asked.
type sentenceSpout struct {
	constSpout
}

func (s *sentenceSpout) DeclareOutputs() []topology.Stream {
	return []topology.Stream{{ID: topology.DefaultStream, Fields: []string{"sentence"}}}
}
func (s *sentenceSpout) Open(_ *topology.TaskContext, out topology.SpoutCollector) error {
	s.out, s.values = out, []any{"snow white and the seven dwarfs"}
	return nil
}

// BenchmarkWordCountPython runs Go spout -> the Python splitsentence
// reference component (one child) -> Go count, without and with acking,
// and reports sentences/s: compare with BenchmarkSplitCeiling in package
// adapters, the same child driven alone.
func BenchmarkWordCountPython(b *testing.B) {
	for _, acked := range []bool{false, true} {
		name := "unacked"
		if acked {
			name = "acked"
		}
		b.Run(name, func(b *testing.B) { benchWordCountPython(b, acked) })
	}
}

func benchWordCountPython(b *testing.B, acked bool) {
	env, err := adapters.Install(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	script, err := filepath.Abs(filepath.Join("..", "adapters", "python", "components", "splitsentence.py"))
	if err != nil {
		b.Fatal(err)
	}
	n := b.N
	bld := topology.NewBuilder("wcbench")
	ackers := 0
	if acked {
		ackers = 1
		bld.AddConfig(topology.KeyMaxSpoutPending, 1000)
	}
	bld.AddConfig(topology.KeyAckerExecutors, ackers)
	bld.SetSpout("sentences", topology.SpoutFunc(func() (topology.Spout, error) {
		return &sentenceSpout{constSpout{limit: n, reliable: acked}}, nil
	}), 1)
	bld.SetBolt("split", topology.Shell("python3", script).Fields("word"), 1).ShuffleGrouping("sentences")
	bld.SetBolt("count", builtin.Count(builtin.CountConfig{Field: "word"}), 1).FieldsGrouping("split", "word")
	topo, err := bld.Build()
	if err != nil {
		b.Fatal(err)
	}
	w, err := New(Config{Topology: topo, StormID: "wcbench-1-1", Shell: shell.Options{Env: env},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	<-w.Started()
	b.ResetTimer()
	for {
		var executed, spoutAcked int64
		for _, c := range w.Stats() {
			t := c.Totals()
			if c.Component == "count" {
				executed = t.Executed
			}
			if c.Spout {
				spoutAcked = t.Acked
			}
		}
		if executed >= int64(6*n) && (!acked || spoutAcked >= int64(n)) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "sentences/s")
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}
