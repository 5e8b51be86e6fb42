package worker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/topology/builtin"
)

// constSpout emits the same values limit times, reliably if asked, as
// Storm's ConstSpout benchmarks do.
type constSpout struct {
	limit    int
	reliable bool
	out      topology.SpoutCollector
	values   []any
	n        int
}

func (s *constSpout) DeclareOutputs() []topology.Stream {
	return []topology.Stream{{ID: topology.DefaultStream, Fields: []string{"str"}}}
}
func (s *constSpout) Open(_ *topology.TaskContext, out topology.SpoutCollector) error {
	s.out, s.values = out, []any{"some data"}
	return nil
}
func (s *constSpout) Next() {
	if s.n >= s.limit {
		return
	}
	var id any
	if s.reliable {
		id = s.n
	}
	s.n++
	s.out.Emit(topology.DefaultStream, s.values, id)
}
func (s *constSpout) Ack(any)  {}
func (s *constSpout) Fail(any) {}
func (s *constSpout) Close()   {}

// benchTopology returns const spout -> [identity]* -> null with the
// given grouping and acker count.
func benchTopology(b testing.TB, n int, reliable bool, identities int, grouping topology.GroupingType, ackers int) *topology.Topology {
	bld := topology.NewBuilder("bench")
	bld.AddConfig(topology.KeyAckerExecutors, ackers)
	bld.SetSpout("spout", topology.SpoutFunc(func() (topology.Spout, error) { return &constSpout{limit: n, reliable: reliable}, nil }), 1)
	prev := "spout"
	for i := range identities {
		id := fmt.Sprintf("identity%d", i)
		bld.SetBolt(id, builtin.Identity("str"), 1).Grouping(prev, topology.DefaultStream, topology.Grouping{Type: grouping})
		prev = id
	}
	bld.SetBolt("null", builtin.Null(), 1).Grouping(prev, topology.DefaultStream, topology.Grouping{Type: grouping})
	topo, err := bld.Build()
	if err != nil {
		b.Fatal(err)
	}
	return topo
}

// runBench runs topo until its null bolt executed n tuples (and, when
// reliable, the spout saw n acks) and reports tuples/s.
func runBench(b *testing.B, topo *topology.Topology, n int, reliable bool) *Worker {
	var out *Worker
	runBenchThen(b, topo, n, reliable, func(w *Worker) { out = w })
	return out
}

// runBenchThen is runBench calling then with the worker once the tuples
// arrived, before the worker stops.
func runBenchThen(b *testing.B, topo *topology.Topology, n int, reliable bool, then func(*Worker)) {
	topo.Config = topo.Config.Merge(benchConf(b))
	w, err := New(Config{Topology: topo, StormID: "bench-1-1", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	b.ResetTimer()
	before := readUsage(b)
	var mem runtime.MemStats
	runtime.ReadMemStats(&mem)
	allocated, gcs := mem.TotalAlloc, mem.NumGC
	go func() { done <- w.Run(ctx) }()
	// A failed (timed-out) tuple is not replayed: the run ends when every
	// tuple was acked or failed, and reports how many failed.
	var failed int64
	for {
		if reliable {
			if failed = failedBy(w); ackedBy(w)+failed >= int64(n) {
				break
			}
		} else if executedBy(w, "null") >= int64(n) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	after := readUsage(b)
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "tuples/s")
	// CPU time per tuple moves less than tuples/s with the machine's load.
	b.ReportMetric(float64(after.cpu-before.cpu)/float64(n), "cpu-ns/tuple")
	// Threads that slept and were woken: what a hand-off between executors
	// costs beyond their work, whatever else the machine runs.
	b.ReportMetric(float64(after.voluntary-before.voluntary)*1000/float64(n), "wakeups/ktuple")
	// Time runnable but waiting for a processor: the machine's load, which
	// tuples/s suffers from and cpu-ns/tuple does not count.
	if after.runq > 0 {
		b.ReportMetric(float64(after.runq-before.runq)/float64(n), "runq-ns/tuple")
	}
	runtime.ReadMemStats(&mem)
	b.ReportMetric(float64(mem.TotalAlloc-allocated)/float64(n), "B/tuple")
	b.ReportMetric(float64(mem.NumGC-gcs), "GCs")
	if reliable {
		b.ReportMetric(float64(failed), "failed")
	}
	then(w)
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

func BenchmarkSpoutNullLocalOrShuffle(b *testing.B) {
	runBench(b, benchTopology(b, b.N, false, 0, topology.LocalOrShuffle, 0), b.N, false)
}

func BenchmarkSpoutIdentityNull(b *testing.B) {
	runBench(b, benchTopology(b, b.N, false, 1, topology.LocalOrShuffle, 0), b.N, false)
}

// BenchmarkAckedSpoutBoltNull: Go spout -> Go bolt -> null bolt with one
// acker; reports the complete latency's median and 99th percentile.
func BenchmarkAckedSpoutBoltNull(b *testing.B) {
	for _, pending := range []int{0, 1000, 5000, 20000} {
		b.Run(fmt.Sprintf("max-pending-%d", pending), func(b *testing.B) { benchAcked(b, pending) })
	}
}

func benchAcked(b *testing.B, maxPending int) {
	topo := benchTopology(b, b.N, true, 1, topology.LocalOrShuffle, 1)
	if maxPending > 0 {
		topo.Config[topology.KeyMaxSpoutPending] = maxPending
	}
	w := runBench(b, topo, b.N, true)
	for _, c := range w.Stats() {
		if c.Spout {
			t := c.Totals()
			b.ReportMetric(float64(t.CompletePercentile(0.5).Microseconds()), "p50-µs")
			b.ReportMetric(float64(t.CompletePercentile(0.99).Microseconds()), "p99-µs")
		}
	}
}

// benchConf returns the configuration given in SQUALL_BENCH_CONF
// ("key=value,key=value"), laid over the benchmarks' topologies to compare
// settings without rebuilding.
func benchConf(tb testing.TB) topology.Config {
	conf := topology.Config{}
	for kv := range strings.SplitSeq(os.Getenv("SQUALL_BENCH_CONF"), ",") {
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			tb.Fatalf("SQUALL_BENCH_CONF: %q is not key=value", kv)
		}
		var val any = v
		if n, err := strconv.Atoi(v); err == nil {
			val = n
		}
		conf[k] = val
	}
	return conf
}

// executedBy counts what the bolts of component executed, reading their
// counters only (Stats, which builds every component's, would weigh on
// the benchmark).
func executedBy(w *Worker, component string) int64 {
	var n int64
	for _, x := range w.bolts {
		if x.comp.ID != component {
			continue
		}
		for _, t := range x.tasks {
			for i := range t.out.inputs {
				if in := t.out.inputs[i].Load(); in != nil {
					n += in.executed.Value()
				}
			}
		}
	}
	return n
}

// ackedBy counts the spouts' acked tuples.
func ackedBy(w *Worker) int64 {
	var n int64
	for _, x := range w.spouts {
		for _, t := range x.tasks {
			for _, so := range t.out.routes {
				n += so.stats.acked.Value()
			}
		}
	}
	return n
}

// failedBy counts the spouts' failed tuples.
func failedBy(w *Worker) int64 {
	var n int64
	for _, x := range w.spouts {
		for _, t := range x.tasks {
			for _, so := range t.out.routes {
				n += so.stats.failed.Value()
			}
		}
	}
	return n
}
