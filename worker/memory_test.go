package worker

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/procstat"

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

// BenchmarkChainMemory runs b.N tuples as fast as they go through a chain
// of 100 Go bolts (99 identity bolts and a null bolt, one executor each,
// no acking) and reports the memory the process held: its peak resident
// set and heap while the tuples flowed (sampled every 50 ms), and once
// they all arrived and the executors were idle long enough to let their
// buffers go, and the garbage collector ran (what an idle worker keeps:
// the heap in use, and the resident set after the runtime gave free
// memory back to the system).
func BenchmarkChainMemory(b *testing.B) {
	const bolts = 100
	topo := benchTopology(b, b.N, false, bolts-1, topology.LocalOrShuffle, 0)
	var peakRSS, peakHeap uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if s, err := procstat.Read(os.Getpid()); err == nil {
				peakRSS = max(peakRSS, uint64(s.RSS))
			}
			runtime.ReadMemStats(&m)
			peakHeap = max(peakHeap, m.HeapInuse)
		}
	}()
	runBenchThen(b, topo, b.N, false, func(w *Worker) {
		close(stop)
		<-sampled
		time.Sleep(idleRelease + time.Second) // idle executors let their buffers go
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		kept, err := procstat.Read(os.Getpid())
		if err != nil {
			b.Fatal(err)
		}
		debug.FreeOSMemory()
		s, err := procstat.Read(os.Getpid())
		if err != nil {
			b.Fatal(err)
		}
		const mib = 1 << 20
		// What the runtime had given back by itself; it returns the rest
		// gradually, or when memory runs short.
		b.ReportMetric(float64(kept.RSS)/mib, "idle-rss-unreleased-MiB")
		b.ReportMetric(float64(peakRSS)/mib, "peak-rss-MiB")
		b.ReportMetric(float64(peakHeap)/mib, "peak-heap-MiB")
		b.ReportMetric(float64(m.HeapInuse)/mib, "idle-heap-MiB")
		b.ReportMetric(float64(s.RSS)/mib, "idle-rss-MiB")
	})
}
