package kafka

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/squallstream/squall/adapters"
	"github.com/squallstream/squall/internal/fakekafka"
	"github.com/squallstream/squall/internal/transcript"
	"github.com/squallstream/squall/shell"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/topology/builtin"
	"github.com/squallstream/squall/worker"
)

// benchBroker starts a fake broker holding n records of about 40 bytes
// in a topic of 4 partitions.
func benchBroker(b *testing.B, n int) *fakekafka.Broker {
	b.Helper()
	br, err := fakekafka.Start(fakekafka.Config{Topics: []string{"bench"}, Partitions: 4})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(br.Close)
	const chunk = 100_000
	for from := 0; from < n; from += chunk {
		recs := make([]*kgo.Record, min(chunk, n-from))
		for i := range recs {
			j := from + i
			recs[i] = &kgo.Record{Topic: "bench", Partition: int32(j % 4), Key: fmt.Appendf(nil, "k%d", j), Value: fmt.Appendf(nil, "the value of record number %09d", j)}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		err := fakekafka.Produce(ctx, br.Addr(), recs)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
	}
	return br
}

// runBench runs topo until done says the records went through, and
// reports records/s.
func runBench(b *testing.B, topo *topology.Topology, cfg worker.Config, n int, done func(w *worker.Worker) bool) {
	b.Helper()
	cfg.Topology, cfg.StormID, cfg.Logger = topo, topo.Name+"-1-1", testLogger(b)
	w, err := worker.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	b.ResetTimer()
	cpu, children := processCPU(b), childrenCPU(b)
	// The label marks the topology's goroutines (the spout's client's
	// included) in a CPU profile: go tool pprof -tagfocus bench=topology.
	go pprof.Do(ctx, pprof.Labels("bench", "topology"), func(ctx context.Context) { errc <- w.Run(ctx) })
	deadline := time.Now().Add(10 * time.Minute)
	for !done(w) {
		if time.Now().After(deadline) {
			cancel()
			<-errc
			b.Fatalf("the records did not get through in 10 minutes; errors: %v", w.Errors())
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
	// The process's CPU per record (broker included) moves less with the
	// machine's load than records/s.
	b.ReportMetric(float64(processCPU(b)-cpu)/float64(n), "cpu-ns/record")
	cancel()
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	// The multilang children, waited for once the worker stopped: the
	// CPU they used per record, their start included.
	if d := childrenCPU(b) - children; d > 0 {
		b.ReportMetric(float64(d)/float64(n), "child-cpu-ns/record")
	}
}

// childrenCPU returns the CPU time the process's children that were
// waited for used.
func childrenCPU(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		tb.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// processCPU returns the CPU time the process has used.
func processCPU(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSpoutNullBolt reads b.N records from a fake broker with one
// AT_LEAST_ONCE spout task into a Go null bolt, with one acker, and reports
// records/s (the timer includes opening the spout and its first fetches).
func BenchmarkSpoutNullBolt(b *testing.B) {
	n := b.N
	br := benchBroker(b, n)
	cfg := testSpoutConfig(br.Addr(), "bench", "bench")
	cfg.OffsetCommitPeriod = time.Second
	tb := topology.NewBuilder("kafkanull")
	tb.AddConfig(topology.KeyAckerExecutors, 1)
	tb.AddConfig(topology.KeyMaxSpoutPending, 5000)
	tb.SetSpout("kafka", topology.SpoutFunc(func() (topology.Spout, error) { return NewSpout(cfg) }), 1)
	tb.SetBolt("null", builtin.Null(), 1).LocalOrShuffleGrouping("kafka")
	topo, err := tb.Build()
	if err != nil {
		b.Fatal(err)
	}
	runBench(b, topo, worker.Config{}, n, func(w *worker.Worker) bool { return ackedOf(w, "kafka") >= int64(n) })
}

// BenchmarkSpoutPython reads b.N records with one spout task through one
// Python child (the passthrough reference component) into a Go null bolt,
// acked, and reports records/s, with each multilang serializer, the tuples
// carrying the default five fields, or the value alone (value-json).
func BenchmarkSpoutPython(b *testing.B) {
	for _, ser := range []string{"json", "msgpack"} {
		b.Run(ser, func(b *testing.B) { benchSpoutPython(b, ser, DefaultFields) })
	}
	b.Run("value-json", func(b *testing.B) { benchSpoutPython(b, "json", []string{FieldValue}) })
}

func benchSpoutPython(b *testing.B, serializer string, fields []string) {
	if _, err := exec.LookPath("python3"); err != nil {
		b.Skip("python3 not found")
	}
	env, err := adapters.Install(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	if serializer == "msgpack" {
		dir, ok := transcript.PythonMsgpack(b, "python3")
		if !ok {
			b.Skip("python3 cannot import the msgpack module")
		}
		if dir != "" {
			env = adapters.Env{"PYTHONPATH=" + dir}.Apply(env)
		}
	}
	script, err := filepath.Abs(filepath.Join("..", "adapters", "python", "components", "passthrough.py"))
	if err != nil {
		b.Fatal(err)
	}
	n := b.N
	br := benchBroker(b, n)
	cfg := testSpoutConfig(br.Addr(), "bench", "bench")
	cfg.OffsetCommitPeriod = time.Second
	cfg.Fields = fields
	tb := topology.NewBuilder("kafkapy")
	tb.AddConfig(topology.KeyAckerExecutors, 1)
	tb.AddConfig(topology.KeyMaxSpoutPending, 5000)
	tb.AddConfig(topology.KeyMultilangSerializer, serializer)
	tb.SetSpout("kafka", topology.SpoutFunc(func() (topology.Spout, error) { return NewSpout(cfg) }), 1)
	tb.SetBolt("py", topology.Shell("python3", script).Fields(fields...), 1).ShuffleGrouping("kafka")
	tb.SetBolt("null", builtin.Null(), 1).LocalOrShuffleGrouping("py")
	topo, err := tb.Build()
	if err != nil {
		b.Fatal(err)
	}
	runBench(b, topo, worker.Config{Shell: shell.Options{Env: env}}, n, func(w *worker.Worker) bool { return ackedOf(w, "kafka") >= int64(n) })
}

// BenchmarkFakeBrokerAlone reads b.N records from the fake broker with a
// bare franz-go client polling as the spout's fetcher does (500 records a
// poll, the same fetch settings), and nothing else: the ceiling the
// broker and the client's decoding put on BenchmarkSpoutNullBolt, which
// times the same records through a spout task, an acker and a bolt.
func BenchmarkFakeBrokerAlone(b *testing.B) {
	n := b.N
	br := benchBroker(b, n)
	cl, err := fakekafka.Client(br.Addr(), kgo.FetchMaxWait(500*time.Millisecond),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"bench": {
			0: kgo.NewOffset().AtStart(), 1: kgo.NewOffset().AtStart(), 2: kgo.NewOffset().AtStart(), 3: kgo.NewOffset().AtStart(),
		}}))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	b.ResetTimer()
	cpu := processCPU(b)
	for got := 0; got < n; {
		fs := cl.PollRecords(ctx, defaultPollRecords)
		if err := ctx.Err(); err != nil {
			b.Fatalf("%d of %d records read: %v", got, n, err)
		}
		got += fs.NumRecords()
	}
	b.StopTimer()
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(processCPU(b)-cpu)/float64(n), "cpu-ns/record")
}

// ackingCollector acks, in batches, what the spout emits: the spout's side
// of a topology whose tuples all succeed, without the topology.
type ackingCollector struct {
	s      *Spout
	ids    []any
	errors []error
}

func (c *ackingCollector) Emit(_ string, _ []any, msgID any) []int {
	c.ids = append(c.ids, msgID)
	if len(c.ids) == cap(c.ids) {
		for _, id := range c.ids {
			c.s.Ack(id)
		}
		c.ids = c.ids[:0]
	}
	return nil
}
func (c *ackingCollector) EmitDirect(int, string, []any, any) {}
func (c *ackingCollector) ReportError(err error)              { c.errors = append(c.errors, err) }

// spoutFeeder returns a spout task reading 4 partitions, opened on an
// ackingCollector with no broker, and a function that hands it n records
// in polled batches and runs Next until it emitted them all.
func spoutFeeder(tb testing.TB) (*Spout, func(n int)) {
	tb.Helper()
	cfg := testSpoutConfig("127.0.0.1:9", "bench", "bench")
	cfg.OffsetCommitPeriod = time.Hour
	s, err := NewSpout(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	c := &ackingCollector{s: s, ids: make([]any, 0, 1000)}
	s.out, s.log = c, testLogger(tb)
	s.parts, s.revoked, s.lag = map[TopicPartition]*partition{}, map[TopicPartition]int64{}, map[TopicPartition]PartitionLag{}
	s.nextCommit = time.Now().Add(time.Hour)
	s.f = &fetcher{events: make(chan fetchEvent, 1), commitDone: make(chan commitResult), errs: make(chan error)}
	const parts, batch = 4, defaultPollRecords
	var added []addedPartition
	for p := range int32(parts) {
		added = append(added, addedPartition{tp: TopicPartition{"bench", p}, committed: -1})
	}
	s.apply(fetchEvent{added: added})
	recs := make([]kgo.Record, batch)
	ptrs := make([]*kgo.Record, batch)
	for i := range recs {
		recs[i] = kgo.Record{Topic: "bench", Partition: int32(i % parts), Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "the value of record number %09d", i)}
	}
	ends := []partitionEnds{{tp: TopicPartition{"bench", 0}, start: 0, end: 1}}
	next := 0 // the number of the next record, over every call
	return s, func(n int) {
		for i := 0; i < n; i += batch {
			for j := range recs {
				recs[j].Offset = int64((next + j) / parts)
				ptrs[j] = &recs[j]
			}
			k := min(batch, n-i)
			next += k
			s.f.events <- fetchEvent{records: ptrs[:k], ends: ends}
			for s.bufPos < len(s.buf) || len(s.f.events) > 0 {
				s.Next()
			}
		}
	}
}

// BenchmarkSpoutNext times the spout task's own work for a record, and
// nothing else: taking a polled batch in, making and emitting the tuple
// (to a collector that only keeps the message id), and the ack. One op is
// one record; records/s and allocations are the spout's alone.
func BenchmarkSpoutNext(b *testing.B) {
	_, feed := spoutFeeder(b)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU(b)
	feed(b.N)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(processCPU(b)-cpu)/float64(b.N), "cpu-ns/record")
}
