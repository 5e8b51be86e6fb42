package worker

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/topology/builtin"
)

// manyStreamsTopology: a spout declaring streams streams, and a bolt of
// tasks tasks subscribing to the first.
func manyStreamsTopology(tb testing.TB, streams, tasks int) *topology.Topology {
	b := topology.NewBuilder("streams")
	var decl []topology.Stream
	for i := range streams {
		decl = append(decl, topology.Stream{ID: fmt.Sprintf("s%d", i), Fields: []string{"v"}})
	}
	b.SetSpout("spout", topology.SpoutFunc(func() (topology.Spout, error) { return &declaringSpout{decl}, nil }), 1)
	b.SetBolt("bolt", builtin.Null(), tasks).Grouping("spout", "s0", topology.Grouping{Type: topology.Shuffle})
	topo, err := b.Build()
	if err != nil {
		tb.Fatal(err)
	}
	return topo
}

type declaringSpout struct{ streams []topology.Stream }

func (s *declaringSpout) DeclareOutputs() []topology.Stream                         { return s.streams }
func (s *declaringSpout) Open(*topology.TaskContext, topology.SpoutCollector) error { return nil }
func (s *declaringSpout) Next()                                                     {}
func (s *declaringSpout) Ack(any)                                                   {}
func (s *declaringSpout) Fail(any)                                                  {}
func (s *declaringSpout) Close()                                                    {}

// heapOfNewWorker returns the bytes a new worker for topo holds on the
// heap once built.
func heapOfNewWorker(tb testing.TB, topo *topology.Topology) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	w, err := New(Config{Topology: topo, StormID: "streams-1-1"})
	if err != nil {
		tb.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(w)
	return after.HeapAlloc - before.HeapAlloc
}

// BenchmarkWorkerMemory reports the heap a worker holds for a bolt of 100
// tasks in a topology of 40 streams, before any tuple.
func BenchmarkWorkerMemory(b *testing.B) {
	topo := manyStreamsTopology(b, 40, 100)
	var total uint64
	for range b.N {
		total += heapOfNewWorker(b, topo)
	}
	b.ReportMetric(float64(total)/float64(b.N), "heap-B/worker")
}

// TestWorkerMemoryFollowsSubscriptions: a bolt's statistics are made for
// the streams it gets tuples from, not for every stream of the topology
// (which took 56 MB for 100 tasks and 40 streams).
func TestWorkerMemoryFollowsSubscriptions(t *testing.T) {
	const limit = 2 << 20
	if got := heapOfNewWorker(t, manyStreamsTopology(t, 40, 100)); got > limit {
		t.Errorf("a worker of 100 bolt tasks in a topology of 40 streams holds %d bytes, want at most %d", got, limit)
	}
}
