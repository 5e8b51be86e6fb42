package kafka

import (
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/testenv"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/worker"
)

func endsOf(topic string, parts int32, perPartition int64) map[TopicPartition]int64 {
	want := map[TopicPartition]int64{}
	for _, tp := range partitionsOf(topic, parts) {
		want[tp] = perPartition
	}
	return want
}

// TestAtMostOnce: Storm's AT_MOST_ONCE commits each polled batch before it
// emits its tuples, and never retries them: every record reaches the bolt
// exactly once although the bolt fails them all, its offset is committed
// by the time it arrives, and a restarted topology does not read again the
// records the first one took but never acked.
func TestAtMostOnce(t *testing.T) {
	const n, parts = 1000, 2
	b := startBroker(t, parts, "t")
	produce(t, b.Addr(), "t", parts, 0, n)
	cfg := testSpoutConfig(b.Addr(), "g", "t")
	cfg.ProcessingGuarantee = AtMostOnce
	var early atomic.Value // an error: a record arrived before its commit
	fail := func(tp TopicPartition, off int64) bool {
		if off%50 == 0 {
			c, err := committedNow(b.Addr(), "g", []TopicPartition{tp})
			if err == nil && c[tp] <= off {
				early.Store(fmt.Errorf("%s@%d arrived with the partition committed at %d", tp, off, c[tp]))
			}
		}
		return true
	}
	s := newSeen()
	var sp spouts
	w := runWorker(t, worker.Config{Topology: buildTopology(t, "amo", sp.factory(t, cfg), 2, s, fail, nil)})
	testenv.WaitUntil(t, 60*time.Second, "every record delivered", func() bool { return s.distinct() == n })
	if err, _ := early.Load().(error); err != nil {
		t.Error(err)
	}
	if d := s.deliveries(); d != n {
		t.Errorf("%d deliveries of %d failing records, want each exactly once", d, n)
	}
	if got := committed(t, b.Addr(), "g", partitionsOf("t", parts)); !maps.Equal(got, endsOf("t", parts, n/parts)) {
		t.Errorf("committed = %v, want the log ends", got)
	}
	w.stop()

	// A new deployment resumes after what the first one took.
	produce(t, b.Addr(), "t", parts, n, 100)
	s2 := newSeen()
	var sp2 spouts
	runWorker(t, worker.Config{Topology: buildTopology(t, "amo2", sp2.factory(t, cfg), 2, s2, nil, nil)})
	testenv.WaitUntil(t, 60*time.Second, "the new records delivered", func() bool { return s2.distinct() == 100 })
	for tp, offs := range s2.counts {
		for off := range offs {
			if off < n/parts {
				t.Errorf("the second topology read %s@%d again", tp, off)
			}
		}
	}
}

// TestNoGuarantee: NO_GUARANTEE commits what it polled, periodically,
// whatever became of the tuples, and never retries: the bolt fails every
// tuple, each arrives once, and the commits reach the log end.
func TestNoGuarantee(t *testing.T) {
	const n, parts = 1000, 2
	b := startBroker(t, parts, "t")
	produce(t, b.Addr(), "t", parts, 0, n)
	cfg := testSpoutConfig(b.Addr(), "g", "t")
	cfg.ProcessingGuarantee = NoGuarantee
	cfg.TupleTrackingEnforced = true // so that the failures reach the spout
	s := newSeen()
	var sp spouts
	w := runWorker(t, worker.Config{Topology: buildTopology(t, "ng", sp.factory(t, cfg), 2, s, func(TopicPartition, int64) bool { return true }, nil)})
	testenv.WaitUntil(t, 60*time.Second, "every record delivered", func() bool { return s.distinct() == n })
	testenv.WaitUntil(t, 30*time.Second, "every tuple failed", func() bool { return failedOf(w.Worker, "kafka") == n })
	testenv.WaitUntil(t, 30*time.Second, "commits at the log end", func() bool {
		return maps.Equal(committed(t, b.Addr(), "g", partitionsOf("t", parts)), endsOf("t", parts, n/parts))
	})
	if d := s.deliveries(); d != n {
		t.Errorf("%d deliveries of %d failing records, want each exactly once", d, n)
	}
}

// TestTupleTracking: with AT_MOST_ONCE, tuples carry message ids only when
// tuple tracking is enforced, and only then does
// topology.max.spout.pending hold back a spout whose tuples are never
// acked.
func TestTupleTracking(t *testing.T) {
	const n, parts = 500, 1
	for _, tracked := range []bool{false, true} {
		t.Run(fmt.Sprint("tracked=", tracked), func(t *testing.T) {
			b := startBroker(t, parts, "t")
			produce(t, b.Addr(), "t", parts, 0, n)
			cfg := testSpoutConfig(b.Addr(), "g", "t")
			cfg.ProcessingGuarantee = AtMostOnce
			cfg.TupleTrackingEnforced = tracked
			s := newSeen()
			var sp spouts
			held := &holder{seen: s}
			tb := topology.NewBuilder("track")
			tb.AddConfig(topology.KeyMaxSpoutPending, 20)
			tb.AddConfig(topology.KeyMessageTimeoutSecs, 3600)
			tb.SetSpout("kafka", sp.factory(t, cfg), 1)
			tb.SetBolt("hold", topology.BoltFunc(func() (topology.Bolt, error) { return held, nil }), 1).ShuffleGrouping("kafka")
			topo, err := tb.Build()
			if err != nil {
				t.Fatal(err)
			}
			runWorker(t, worker.Config{Topology: topo})
			if !tracked {
				testenv.WaitUntil(t, 60*time.Second, "every record delivered", func() bool { return s.distinct() == n })
				return
			}
			testenv.WaitUntil(t, 60*time.Second, "max.spout.pending tuples delivered", func() bool { return s.distinct() == 20 })
			// The bound is a hard one: no more arrive while none is acked.
			deadline := time.Now().Add(300 * time.Millisecond)
			for time.Now().Before(deadline) {
				if d := s.distinct(); d > 20 {
					t.Fatalf("%d tuples delivered with topology.max.spout.pending 20 and none acked", d)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// holder records tuples and never acks them.
type holder struct{ seen *seen }

func (h *holder) Prepare(*topology.TaskContext, topology.BoltCollector) error { return nil }
func (h *holder) Execute(t topology.Tuple) {
	p, _ := t.ValueByField(FieldPartition)
	off, _ := t.ValueByField(FieldOffset)
	topic, _ := t.ValueByField(FieldTopic)
	h.seen.add(TopicPartition{topic.(string), p.(int32)}, off.(int64))
}
func (h *holder) Cleanup() {}

// TestMaxUncommittedOffsets: a partition stops being read at
// max.uncommitted.offsets until a commit (none comes here, the period is
// an hour); with frequent commits every record gets through.
func TestMaxUncommittedOffsets(t *testing.T) {
	const n, parts = 4000, 2
	b := startBroker(t, parts, "t")
	produce(t, b.Addr(), "t", parts, 0, n)
	base := testSpoutConfig(b.Addr(), "g", "t")
	base.MaxUncommittedOffsets = 50
	base.Props = map[string]any{"max.poll.records": 10, "max.partition.fetch.bytes": 1024, "fetch.max.wait.ms": 50}

	cfg := base
	cfg.OffsetCommitPeriod = time.Hour
	s := newSeen()
	var sp spouts
	runWorker(t, worker.Config{Topology: buildTopology(t, "cap", sp.factory(t, cfg), 1, s, nil, nil)})
	testenv.WaitUntil(t, 60*time.Second, "the first 50 records of each partition", func() bool {
		for _, tp := range partitionsOf("t", parts) {
			if s.count(tp, 49) == 0 {
				return false
			}
		}
		return true
	})
	// Past the bound, only what was already fetched may arrive: far less
	// than the partition.
	deadline := time.Now().Add(500 * time.Millisecond)
	for time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	for _, tp := range partitionsOf("t", parts) {
		s.mu.Lock()
		got := len(s.counts[tp])
		s.mu.Unlock()
		if got > 500 {
			t.Errorf("%s: %d records read with max.uncommitted.offsets 50 and no commit", tp, got)
		}
	}

	cfg = base
	cfg.GroupID = "g2"
	s2 := newSeen()
	var sp2 spouts
	runWorker(t, worker.Config{Topology: buildTopology(t, "cap2", sp2.factory(t, cfg), 1, s2, nil, nil)})
	testenv.WaitUntil(t, 60*time.Second, "every record with frequent commits", func() bool { return s2.distinct() == n })
}

// TestRetriesGiveUp: a record that always fails is emitted 1 +
// retry.max.retries times, then counts as processed, and the commits go
// past it.
func TestRetriesGiveUp(t *testing.T) {
	const n, parts = 100, 1
	b := startBroker(t, parts, "t")
	produce(t, b.Addr(), "t", parts, 0, n)
	cfg := testSpoutConfig(b.Addr(), "g", "t")
	cfg.Retry.MaxRetries = 2
	bad := TopicPartition{"t", 0}
	s := newSeen()
	var sp spouts
	runWorker(t, worker.Config{Topology: buildTopology(t, "giveup", sp.factory(t, cfg), 1, s,
		func(tp TopicPartition, off int64) bool { return tp == bad && off == 5 }, nil)})
	testenv.WaitUntil(t, 30*time.Second, "commits at the log end", func() bool {
		return maps.Equal(committed(t, b.Addr(), "g", partitionsOf("t", parts)), endsOf("t", parts, n))
	})
	if c := s.count(bad, 5); c != 3 {
		t.Errorf("the always failing record was emitted %d times, want 3 (1 + 2 retries)", c)
	}
}

// TestTopicPatternAndNewPartitions reads the topics matching a pattern,
// takes up topics created later, and goes on through the reassignment
// that a new topic sorting first causes: every record arrives.
func TestTopicPatternAndNewPartitions(t *testing.T) {
	b := startBroker(t, 2, "events.a", "other")
	produce(t, b.Addr(), "events.a", 2, 0, 200)
	produce(t, b.Addr(), "other", 2, 0, 50)
	cfg := testSpoutConfig(b.Addr(), "g", "")
	cfg.Topics, cfg.TopicPattern = nil, `events\..*`
	s := newSeen()
	var sp spouts
	runWorker(t, worker.Config{Topology: buildTopology(t, "pattern", sp.factory(t, cfg), 2, s, nil, nil)})
	testenv.WaitUntil(t, 60*time.Second, "events.a read", func() bool { return s.distinct() == 200 })

	if err := b.CreateTopic("events.b", 3); err != nil {
		t.Fatal(err)
	}
	produce(t, b.Addr(), "events.b", 3, 0, 300)
	testenv.WaitUntil(t, 60*time.Second, "events.b read", func() bool { return s.distinct() == 500 })

	// events.0 sorts first: most partitions change task.
	if err := b.CreateTopic("events.0", 1); err != nil {
		t.Fatal(err)
	}
	produce(t, b.Addr(), "events.0", 1, 0, 100)
	produce(t, b.Addr(), "events.a", 2, 200, 200)
	produce(t, b.Addr(), "events.b", 3, 300, 300)
	testenv.WaitUntil(t, 60*time.Second, "every record after the reassignment", func() bool { return s.distinct() == 1100 })
	s.mu.Lock()
	defer s.mu.Unlock()
	for tp := range s.counts {
		if tp.Topic == "other" {
			t.Errorf("read %s, which the pattern does not match", tp)
		}
	}
}

// TestFirstPollOffsetStrategies: EARLIEST starts over in a new deployment
// but resumes its own commits; LATEST reads only what comes after it.
func TestFirstPollOffsetStrategies(t *testing.T) {
	const n, parts = 200, 2
	b := startBroker(t, parts, "t")
	produce(t, b.Addr(), "t", parts, 0, n)
	run := func(name, stormID string, strategy FirstPollOffsetStrategy) (*seen, *running, *spouts) {
		cfg := testSpoutConfig(b.Addr(), "g", "t")
		cfg.FirstPollOffsetStrategy = strategy
		s := newSeen()
		sp := &spouts{}
		w := runWorker(t, worker.Config{Topology: buildTopology(t, name, sp.factory(t, cfg), 1, s, nil, nil), StormID: stormID})
		return s, w, sp
	}
	stopAfterCommit := func(w *running, want int64) {
		testenv.WaitUntil(t, 30*time.Second, "commits at the log end", func() bool {
			return maps.Equal(committed(t, b.Addr(), "g", partitionsOf("t", parts)), endsOf("t", parts, want))
		})
		w.stop()
	}

	s, w, _ := run("first", "first-1-1", UncommittedEarliest)
	testenv.WaitUntil(t, 30*time.Second, "all read", func() bool { return s.distinct() == n })
	stopAfterCommit(w, n/parts)

	// A new deployment with EARLIEST ignores the other topology's commits.
	s, w, _ = run("second", "second-1-1", Earliest)
	testenv.WaitUntil(t, 30*time.Second, "all read again", func() bool { return s.distinct() == n })
	stopAfterCommit(w, n/parts)

	// The same deployment restarted (same storm id) resumes its commits.
	produce(t, b.Addr(), "t", parts, n, 20)
	s, w, _ = run("second", "second-1-1", Earliest)
	testenv.WaitUntil(t, 30*time.Second, "the new records", func() bool { return s.distinct() == 20 })
	stopAfterCommit(w, (n+20)/parts)
	for tp, offs := range s.counts {
		for off := range offs {
			if off < n/parts {
				t.Errorf("EARLIEST restarted with the same storm id read %s@%d again", tp, off)
			}
		}
	}

	// LATEST in a new deployment: only what comes once it is assigned.
	s, _, sp := run("third", "third-1-1", Latest)
	testenv.WaitUntil(t, 30*time.Second, "partitions assigned", func() bool { return len(sp.lag()) == parts })
	produce(t, b.Addr(), "t", parts, n+20, 10)
	testenv.WaitUntil(t, 30*time.Second, "the newest records", func() bool { return s.distinct() == 10 })
	for tp, offs := range s.counts {
		for off := range offs {
			if off < (n+20)/parts {
				t.Errorf("LATEST read %s@%d, written before it started", tp, off)
			}
		}
	}
}

// failedOf returns how many tuples a component's tasks got fails for.
func failedOf(w *worker.Worker, component string) int64 {
	var n int64
	for _, c := range w.Stats() {
		if c.Component == component {
			for _, s := range c.Streams {
				n += s.Failed
			}
		}
	}
	return n
}

// streamSink records, per stream, the values of every tuple it gets, and
// acks it.
type streamSink struct {
	out topology.BoltCollector
	mu  *sync.Mutex
	got map[string][][]any
}

func (b *streamSink) Prepare(_ *topology.TaskContext, out topology.BoltCollector) error {
	b.out = out
	return nil
}
func (b *streamSink) Execute(t topology.Tuple) {
	b.mu.Lock()
	b.got[t.SourceStream()] = append(b.got[t.SourceStream()], t.Values())
	b.mu.Unlock()
	b.out.Ack(t)
}
func (b *streamSink) Cleanup() {}

// TestTopicStreams runs Storm's ByTopicRecordTranslator shape through a
// topology: the records of one topic go out on their own stream with their
// own fields, the others on the default route, and every tuple is acked
// back to the spout, so both topics commit to their ends.
func TestTopicStreams(t *testing.T) {
	const n = 100
	b := startBroker(t, 2, "orders", "audit")
	produce(t, b.Addr(), "orders", 2, 0, n)
	produce(t, b.Addr(), "audit", 2, 0, n/2)
	cfg := testSpoutConfig(b.Addr(), "g", "orders", "audit")
	cfg.Fields = []string{FieldKey, FieldValue}
	cfg.TopicRoutes = map[string]Route{"audit": {Stream: "audit", Fields: []string{FieldOffset, FieldValue}}}
	var mu sync.Mutex
	got := map[string][][]any{}
	tb := topology.NewBuilder("streams")
	tb.SetSpout("kafka", topology.SpoutFunc(func() (topology.Spout, error) { return NewSpout(cfg) }), 2)
	sink := topology.BoltFunc(func() (topology.Bolt, error) { return &streamSink{mu: &mu, got: got}, nil })
	tb.SetBolt("sink", sink, 1).ShuffleGrouping("kafka").ShuffleGrouping("kafka", "audit")
	topo, err := tb.Build()
	if err != nil {
		t.Fatal(err)
	}
	w := runWorker(t, worker.Config{Topology: topo})
	testenv.WaitUntil(t, 60*time.Second, "every tuple acked", func() bool { return ackedOf(w.Worker, "kafka") == n+n/2 })
	testenv.WaitUntil(t, 30*time.Second, "commits at the log ends", func() bool {
		return maps.Equal(committed(t, b.Addr(), "g", partitionsOf("orders", 2)), endsOf("orders", 2, n/2)) &&
			maps.Equal(committed(t, b.Addr(), "g", partitionsOf("audit", 2)), endsOf("audit", 2, n/4))
	})
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || len(got[topology.DefaultStream]) != n || len(got["audit"]) != n/2 {
		t.Fatalf("tuples by stream: default %d, audit %d, streams %d; want %d, %d, 2", len(got[topology.DefaultStream]), len(got["audit"]), len(got), n, n/2)
	}
	for _, v := range got[topology.DefaultStream] {
		if len(v) != 2 || "v"+v[0].(string)[1:] != v[1] {
			t.Fatalf("default stream tuple %v, want [key value] of an orders record", v)
		}
	}
	for _, v := range got["audit"] {
		off, ok := v[0].(int64)
		if len(v) != 2 || !ok || off < 0 || off >= n/4 {
			t.Fatalf("audit stream tuple %v, want [offset value] of an audit record", v)
		}
	}
}
