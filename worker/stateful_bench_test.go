package worker

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/squallstream/squall/state/checkpoint"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/topology/builtin"
)

// wordSpout emits limit words from a vocabulary of 1000, reliably.
type wordSpout struct {
	limit int
	out   topology.SpoutCollector
	words []any
	n     int
}

func (s *wordSpout) DeclareOutputs() []topology.Stream {
	return []topology.Stream{{ID: topology.DefaultStream, Fields: []string{"word"}}}
}
func (s *wordSpout) Open(_ *topology.TaskContext, out topology.SpoutCollector) error {
	s.out = out
	for i := range 1000 {
		s.words = append(s.words, "word"+strconv.Itoa(i))
	}
	return nil
}
func (s *wordSpout) Next() {
	if s.n >= s.limit {
		return
	}
	s.out.Emit(topology.DefaultStream, []any{s.words[s.n%len(s.words)]}, s.n)
	s.n++
}
func (s *wordSpout) Ack(any)  {}
func (s *wordSpout) Fail(any) {}
func (s *wordSpout) Close()   {}

// BenchmarkGoStatefulCount is a reliable word count, spout -> count
// (FIELDS, 2 tasks), with the counts in checkpointed state on the embedded
// provider (Storm's mode and exactly-once), against the same count in
// memory (BenchmarkGoCount). Checkpoints every 100 ms; a stateful count's
// acks wait for them, so max.spout.pending is large.
func BenchmarkGoStatefulCount(b *testing.B) {
	b.Run("storm", func(b *testing.B) { benchCount(b, true, false) })
	b.Run("exactly-once", func(b *testing.B) { benchCount(b, true, true) })
}

func BenchmarkGoCount(b *testing.B) { benchCount(b, false, false) }

func benchCount(b *testing.B, stateful, exactly bool) {
	n := b.N
	bld := topology.NewBuilder("count")
	bld.AddConfig(topology.KeyLocalDir, b.TempDir())
	bld.AddConfig(topology.KeyMaxSpoutPending, 20000)
	bld.AddConfig(checkpoint.KeyInterval, 100)
	bld.AddConfig(checkpoint.KeyExactlyOnce, exactly)
	bld.SetSpout("words", topology.SpoutFunc(func() (topology.Spout, error) { return &wordSpout{limit: n}, nil }), 1)
	count := builtin.Count(builtin.CountConfig{Field: "word"})
	if stateful {
		count = builtin.StatefulCount(builtin.CountConfig{Field: "word"})
	}
	bld.SetBolt("count", count, 2).FieldsGrouping("words", "word")
	topo, err := bld.Build()
	if err != nil {
		b.Fatal(err)
	}
	topo.Config = topo.Config.Merge(benchConf(b))
	w, err := New(Config{Topology: topo, StormID: "count-1-1", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	b.ResetTimer()
	before := readUsage(b)
	go func() { done <- w.Run(ctx) }()
	for ackedByComponent(w, "words") < int64(n) {
		select {
		case err := <-done:
			b.Fatalf("worker stopped: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	b.StopTimer()
	after := readUsage(b)
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "tuples/s")
	// CPU per tuple: throughput is bounded by max.spout.pending per
	// checkpoint cycle (acks wait for commits), CPU shows the cost.
	b.ReportMetric(float64(after.cpu-before.cpu)/float64(n), "cpu-ns/tuple")
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

func ackedByComponent(w *Worker, comp string) int64 {
	acked, _ := resolvedByComponent(w, comp)
	return acked
}

// resolvedByComponent returns how many tuples comp's spout tasks saw
// acked and failed. The benchmarks' spouts do not replay: a benchmark
// waits for both, so that a failure ends it with a figure, not a hang.
func resolvedByComponent(w *Worker, comp string) (acked, failed int64) {
	for _, x := range w.spouts {
		if x.comp.ID != comp {
			continue
		}
		for _, t := range x.tasks {
			for _, so := range t.out.routes {
				acked += so.stats.acked.Value()
				failed += so.stats.failed.Value()
			}
		}
	}
	return acked, failed
}
