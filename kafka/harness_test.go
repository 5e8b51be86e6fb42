package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/squallstream/squall/internal/fakekafka"
	"github.com/squallstream/squall/internal/testenv"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/worker"
)

func isCI() bool { return testenv.CI() }

// patience scales a deadline: the machine may be loaded.
func patience(d time.Duration) time.Duration { return testenv.Patience(d) }

func testLogger(t testing.TB) *slog.Logger { return testenv.Logger(t) }

// startBroker starts a fake broker with topics of `partitions`
// partitions until the test ends.
func startBroker(t testing.TB, partitions int32, topics ...string) *fakekafka.Broker {
	t.Helper()
	b, err := fakekafka.Start(fakekafka.Config{Topics: topics, Partitions: partitions})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// produce writes n records to topic, record i to partition i%partitions
// with key "k<i>" and value "v<i>".
func produce(t testing.TB, addr, topic string, partitions int32, from, n int) {
	t.Helper()
	recs := make([]*kgo.Record, n)
	for i := range n {
		j := from + i
		recs[i] = &kgo.Record{Topic: topic, Partition: int32(j) % partitions, Key: fmt.Appendf(nil, "k%d", j), Value: fmt.Appendf(nil, "v%d", j)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience(60*time.Second))
	defer cancel()
	if err := fakekafka.Produce(ctx, addr, recs); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// running is a worker a test started.
type running struct {
	*worker.Worker
	stop func()
}

// runWorker runs all of a topology's executors in this process until the
// test ends or stop is called.
func runWorker(t testing.TB, cfg worker.Config) *running {
	t.Helper()
	if cfg.StormID == "" {
		cfg.StormID = fmt.Sprintf("%s-%d-%d", cfg.Topology.Name, time.Now().UnixNano()%1000, time.Now().Unix())
	}
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	w, err := worker.New(cfg)
	if err != nil {
		t.Fatalf("worker.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("worker Run: %v", err)
				}
			case <-time.After(patience(60 * time.Second)):
				t.Errorf("worker Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	select {
	case <-w.Started():
	case err := <-done:
		t.Fatalf("worker Run: %v", err)
	case <-time.After(patience(60 * time.Second)):
		t.Fatalf("worker did not start")
	}
	return &running{Worker: w, stop: stop}
}

// seen counts the deliveries of each record (topic, partition, offset) a
// recorder bolt got.
type seen struct {
	mu     sync.Mutex
	counts map[TopicPartition]map[int64]int
	total  int
}

func newSeen() *seen { return &seen{counts: map[TopicPartition]map[int64]int{}} }

func (s *seen) add(tp TopicPartition, off int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.counts[tp]
	if m == nil {
		m = map[int64]int{}
		s.counts[tp] = m
	}
	m[off]++
	s.total++
}

// distinct returns how many different records were seen.
func (s *seen) distinct() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, m := range s.counts {
		n += len(m)
	}
	return n
}

func (s *seen) deliveries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

func (s *seen) count(tp TopicPartition, off int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[tp][off]
}

// recorder is a bolt that records the [topic, partition, offset] of each
// tuple and acks it, or fails it while fail says so.
type recorder struct {
	out  topology.BoltCollector
	seen *seen
	fail func(tp TopicPartition, off int64) bool
}

func (r *recorder) Prepare(_ *topology.TaskContext, out topology.BoltCollector) error {
	r.out = out
	return nil
}

func (r *recorder) Execute(t topology.Tuple) {
	topic, _ := t.ValueByField(FieldTopic)
	p, _ := t.ValueByField(FieldPartition)
	off, _ := t.ValueByField(FieldOffset)
	tp := TopicPartition{topic.(string), p.(int32)}
	r.seen.add(tp, off.(int64))
	if r.fail != nil && r.fail(tp, off.(int64)) {
		r.out.Fail(t)
		return
	}
	r.out.Ack(t)
}

func (r *recorder) Cleanup() {}

func recorderBolt(s *seen, fail func(TopicPartition, int64) bool) topology.BoltFunc {
	return func() (topology.Bolt, error) { return &recorder{seen: s, fail: fail}, nil }
}

// spouts collects the spout instances a topology's factory made.
type spouts struct {
	mu  sync.Mutex
	all []*Spout
}

func (s *spouts) factory(t testing.TB, c SpoutConfig) topology.SpoutFunc {
	return func() (topology.Spout, error) {
		sp, err := NewSpout(c)
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		s.all = append(s.all, sp)
		s.mu.Unlock()
		return sp, nil
	}
}

// lag returns the lag entries of every opened spout instance.
func (s *spouts) lag() []PartitionLag {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []PartitionLag
	for _, sp := range s.all {
		if sp.lag != nil {
			out = append(out, sp.Lag()...)
		}
	}
	return out
}

// committed returns the group's committed offsets, failing the test if
// the broker does not answer within committedPatience.
func committed(t testing.TB, addr, group string, tps []TopicPartition) map[TopicPartition]int64 {
	t.Helper()
	c, err := committedNow(addr, group, tps)
	if err != nil {
		t.Fatalf("fetch committed: %v", err)
	}
	return c
}

// committedPatience bounds committedNow. The fake broker serves every
// request of the process in one goroutine, so on a loaded machine, behind
// a topology's fetches, an offset fetch with a new client can take far
// longer than a real broker would: 10 s was once too little.
var committedPatience = patience(60 * time.Second)

// committedNow is committed for goroutines other than the test's: it
// retries failed offset fetches until committedPatience has passed.
func committedNow(addr, group string, tps []TopicPartition) (map[TopicPartition]int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), committedPatience)
	defer cancel()
	cl, err := fakekafka.Client(addr)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	for {
		c, err := fetchCommitted(ctx, cl, group, tps)
		if err == nil {
			out := map[TopicPartition]int64{}
			for tp, co := range c {
				out[tp] = co.offset
			}
			return out, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("after %v: %w", committedPatience, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func partitionsOf(topic string, n int32) []TopicPartition {
	out := make([]TopicPartition, n)
	for i := range n {
		out[i] = TopicPartition{topic, i}
	}
	return out
}

// testSpoutConfig is a spout reading topic at addr for group, with quick
// commits and refreshes.
func testSpoutConfig(addr, group string, topics ...string) SpoutConfig {
	return SpoutConfig{
		BootstrapServers:       []string{addr},
		Topics:                 topics,
		GroupID:                group,
		OffsetCommitPeriod:     50 * time.Millisecond,
		PartitionRefreshPeriod: 200 * time.Millisecond,
		Retry:                  RetryPolicy{DelayPeriod: time.Millisecond, MaxDelay: 50 * time.Millisecond, MaxRetries: -1},
	}
}
