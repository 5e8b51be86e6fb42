package kafka

import (
	"fmt"
	"maps"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/testenv"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/worker"
)

// TestSpoutAtLeastOnce reads every record of a topic of 4 partitions with
// a spout of 2 tasks, acks them all, and sees the commits reach the log
// end and the lag fall to 0.
func TestSpoutAtLeastOnce(t *testing.T) {
	const n, parts = 2000, 4
	b := startBroker(t, parts, "orders")
	produce(t, b.Addr(), "orders", parts, 0, n)

	s := newSeen()
	var sp spouts
	tb := topology.NewBuilder("alo")
	tb.SetSpout("kafka", sp.factory(t, testSpoutConfig(b.Addr(), "g1", "orders")), 2)
	tb.SetBolt("rec", recorderBolt(s, nil), 2).ShuffleGrouping("kafka")
	topo, err := tb.Build()
	if err != nil {
		t.Fatal(err)
	}
	w := runWorker(t, worker.Config{Topology: topo})
	testenv.WaitUntil(t, 60*time.Second, "every record delivered", func() bool { return s.distinct() == n })
	want := map[TopicPartition]int64{}
	for _, tp := range partitionsOf("orders", parts) {
		want[tp] = n / parts
	}
	testenv.WaitUntil(t, 30*time.Second, "commits at the log end", func() bool {
		return maps.Equal(committed(t, b.Addr(), "g1", partitionsOf("orders", parts)), want)
	})
	testenv.WaitUntil(t, 30*time.Second, "lag 0", func() bool {
		l := sp.lag()
		if len(l) != parts {
			return false
		}
		for _, pl := range l {
			if pl.Lag() != 0 || pl.LogEnd != n/parts {
				return false
			}
		}
		return true
	})
	// The tasks record the same as metrics, within LagMetricsEvery.
	testenv.WaitUntil(t, 30*time.Second, "lag metrics of every partition at 0, the log end at n/parts", func() bool {
		got := map[string]any{}
		for _, m := range w.UserMetrics() {
			if m.Component == "kafka" {
				got[m.Name] = m.Value
			}
		}
		for p := range parts {
			prefix := "orders/partition_" + strconv.Itoa(p) + "/"
			if got[prefix+MetricSpoutLag] != 0.0 || got[prefix+MetricLogHead] != float64(n/parts) || got[prefix+MetricLatestComplete] != float64(n/parts) {
				return false
			}
		}
		return true
	})
	if d := s.deliveries(); d != n {
		t.Errorf("%d deliveries of %d records with nothing failing, want each once", d, n)
	}
}

func TestParseLagMetric(t *testing.T) {
	tests := []struct {
		name, topic, figure string
		partition           int32
		ok                  bool
	}{
		{"orders/partition_3/spoutLag", "orders", MetricSpoutLag, 3, true},
		{"a.b-c/partition_12/latestTimeOffset", "a.b-c", MetricLogHead, 12, true},
		{"orders/partition_0/latestCompletedOffset", "orders", MetricLatestComplete, 0, true},
		{"orders/partition_0/earliestTimeOffset", "", "", 0, false},
		{"orders/partition_x/spoutLag", "", "", 0, false},
		{"orders/partition_-1/spoutLag", "", "", 0, false},
		{"/partition_1/spoutLag", "", "", 0, false},
		{"spoutLag", "", "", 0, false},
		{"words-seen", "", "", 0, false},
	}
	for _, tt := range tests {
		topic, part, figure, ok := ParseLagMetric(tt.name)
		if ok != tt.ok || ok && (topic != tt.topic || part != tt.partition || figure != tt.figure) {
			t.Errorf("ParseLagMetric(%q) = %q, %d, %q, %v; want %q, %d, %q, %v", tt.name, topic, part, figure, ok, tt.topic, tt.partition, tt.figure, tt.ok)
		}
	}
}

// buildTopology is kafka spout -> recorder bolt.
func buildTopology(t testing.TB, name string, sp topology.SpoutFunc, spoutPar int, s *seen, fail func(TopicPartition, int64) bool, conf map[string]any) *topology.Topology {
	t.Helper()
	tb := topology.NewBuilder(name)
	for k, v := range conf {
		tb.AddConfig(k, v)
	}
	tb.SetSpout("kafka", sp, spoutPar)
	tb.SetBolt("rec", recorderBolt(s, fail), 2).ShuffleGrouping("kafka")
	topo, err := tb.Build()
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// TestCommitsNeverPassUnacked holds one record failing while every other
// record is acked: the commits of its partition stop right below it and
// never pass it, other partitions commit to their end; once it is acked,
// its partition commits to the end too. Other records fail a few times
// first, and are retried.
func TestCommitsNeverPassUnacked(t *testing.T) {
	const n, parts = 3000, 3
	b := startBroker(t, parts, "t")
	produce(t, b.Addr(), "t", parts, 0, n)
	held := TopicPartition{"t", 1}
	const heldOffset = 100
	var release sync.Once
	released := make(chan struct{})
	var mu sync.Mutex
	failsLeft := map[int64]int{}
	fail := func(tp TopicPartition, off int64) bool {
		if tp == held && off == heldOffset {
			select {
			case <-released:
				return false
			default:
				return true
			}
		}
		if off%17 != 0 {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		k := off*10 + int64(tp.Partition)
		if _, ok := failsLeft[k]; !ok {
			failsLeft[k] = 2
		}
		failsLeft[k]--
		return failsLeft[k] >= 0
	}
	s := newSeen()
	var sp spouts
	runWorker(t, worker.Config{Topology: buildTopology(t, "hold", sp.factory(t, testSpoutConfig(b.Addr(), "g", "t")), 2, s, fail, nil)})

	// Watch the commits all along.
	stopWatch := make(chan struct{})
	watchDone := make(chan error, 1)
	go func() {
		var err error
		defer func() { watchDone <- err }()
		for {
			select {
			case <-stopWatch:
				return
			case <-released:
				return
			case <-time.After(20 * time.Millisecond):
			}
			// A failed read is retried; err is the violation the test reports.
			c, rerr := committedNow(b.Addr(), "g", []TopicPartition{held})
			if c, ok := c[held]; rerr == nil && ok && c > heldOffset {
				select {
				case <-released:
				default:
					err = fmt.Errorf("partition %s committed at %d past the unacked record %d", held, c, heldOffset)
					return
				}
			}
		}
	}()
	defer close(stopWatch)

	testenv.WaitUntil(t, 60*time.Second, "every record delivered", func() bool { return s.distinct() == n })
	want := map[TopicPartition]int64{{"t", 0}: n / parts, held: heldOffset, {"t", 2}: n / parts}
	testenv.WaitUntil(t, 30*time.Second, "commits up to the held record", func() bool {
		return maps.Equal(committed(t, b.Addr(), "g", partitionsOf("t", parts)), want)
	})
	if c := s.count(held, heldOffset); c < 3 {
		t.Errorf("the held record was delivered %d times, want retries", c)
	}
	if c := s.count(TopicPartition{"t", 0}, 17); c != 3 {
		t.Errorf("record t-0@17 (failing twice) was delivered %d times, want 3", c)
	}
	release.Do(func() { close(released) })
	if err := <-watchDone; err != nil {
		t.Fatal(err)
	}
	want[held] = n / parts
	testenv.WaitUntil(t, 30*time.Second, "commits at the end once the record is acked", func() bool {
		return maps.Equal(committed(t, b.Addr(), "g", partitionsOf("t", parts)), want)
	})
}

// TestRestartResumesFromCommits stops a topology after it committed
// everything, writes more records, and starts a new topology (a new storm
// id) of the same group with twice the spout tasks: it reads exactly the
// new records.
func TestRestartResumesFromCommits(t *testing.T) {
	const n, parts = 1000, 4
	b := startBroker(t, parts, "t")
	produce(t, b.Addr(), "t", parts, 0, n)
	cfg := testSpoutConfig(b.Addr(), "g", "t")
	cfg.OffsetCommitPeriod = time.Hour // only the commits of deactivation and close
	s1 := newSeen()
	var sp1 spouts
	w := runWorker(t, worker.Config{Topology: buildTopology(t, "first", sp1.factory(t, cfg), 2, s1, nil, nil)})
	testenv.WaitUntil(t, 60*time.Second, "every record delivered", func() bool { return s1.distinct() == n })
	// Acks may still be on their way: wait for them before stopping, so
	// that the final commit covers every record.
	testenv.WaitUntil(t, 30*time.Second, "every record acked", func() bool { return ackedOf(w.Worker, "kafka") == n })
	w.stop()
	want := map[TopicPartition]int64{}
	for _, tp := range partitionsOf("t", parts) {
		want[tp] = n / parts
	}
	if got := committed(t, b.Addr(), "g", partitionsOf("t", parts)); !maps.Equal(got, want) {
		t.Fatalf("committed after stop = %v, want %v", got, want)
	}

	produce(t, b.Addr(), "t", parts, n, n)
	s2 := newSeen()
	var sp2 spouts
	runWorker(t, worker.Config{Topology: buildTopology(t, "second", sp2.factory(t, cfg), 4, s2, nil, nil)})
	testenv.WaitUntil(t, 60*time.Second, "the new records delivered", func() bool { return s2.distinct() == n })
	for tp, offs := range s2.counts {
		for off, c := range offs {
			if off < n/parts || c != 1 {
				t.Errorf("second topology got %s@%d %d times; want only new records, once", tp, off, c)
			}
		}
	}
}

// ackedOf returns how many tuples a component's tasks got acks for.
func ackedOf(w *worker.Worker, component string) int64 {
	var n int64
	for _, c := range w.Stats() {
		if c.Component == component {
			for _, s := range c.Streams {
				n += s.Acked
			}
		}
	}
	return n
}

// TestSpoutRecordAllocations bounds what the spout task allocates per
// record under AT_LEAST_ONCE: the key and value as one string, their two
// interface boxes and the offset's; the message id and the values come
// from slices made once a batch.
func TestSpoutRecordAllocations(t *testing.T) {
	s, feed := spoutFeeder(t)
	feed(10_000) // the window and the slices grow to their size
	const perRun = 5000
	allocs := testing.AllocsPerRun(5, func() { feed(perRun) }) / perRun
	if allocs > 4.1 {
		t.Errorf("the spout allocates %.2f times per record, want at most 4.1", allocs)
	}
	if got := s.parts[TopicPartition{"bench", 0}].offsets.pendingCount(); got > 1000 {
		t.Errorf("%d records of partition 0 pending with every tuple acked in batches of 1000", got)
	}
}

// TestStopReportsNoCanceledCommit stops a topology while its spout
// commits all the time: a commit that stopping cut short is not an error
// of the component (Close commits those offsets again).
func TestStopReportsNoCanceledCommit(t *testing.T) {
	const n, parts = 20_000, 4
	b := startBroker(t, parts, "t")
	produce(t, b.Addr(), "t", parts, 0, n)
	for round := range 3 {
		cfg := testSpoutConfig(b.Addr(), fmt.Sprint("g", round), "t")
		cfg.OffsetCommitPeriod = time.Millisecond
		s := newSeen()
		tb := topology.NewBuilder("stop")
		tb.SetSpout("kafka", topology.SpoutFunc(func() (topology.Spout, error) { return NewSpout(cfg) }), 2)
		tb.SetBolt("rec", recorderBolt(s, nil), 1).ShuffleGrouping("kafka")
		topo, err := tb.Build()
		if err != nil {
			t.Fatal(err)
		}
		w := runWorker(t, worker.Config{Topology: topo})
		testenv.WaitUntil(t, 60*time.Second, "records flowing", func() bool { return s.distinct() > 100 })
		w.stop()
		for _, r := range w.Errors()["kafka"] {
			t.Errorf("round %d: the spout reported %v", round, r.Err)
		}
	}
}
