package worker

import (
	"log/slog"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/testenv"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/topology/builtin"
)

// listSpout emits each of its sentences once, reliably, with its index as
// message id, replays what fails, and records every ack and fail.
type listSpout struct {
	field     string
	sentences []string
	// stream is where it emits; "" for the default stream.
	stream string
	out    topology.SpoutCollector
	next   int
	replay []int
	rec    *ackRecord
}

type ackRecord struct {
	mu sync.Mutex
	// acked counts acks per message id; failed counts fails.
	acked, failed map[int]int
	// inFlight is emitted - acked - failed; maxInFlight its peak.
	inFlight, maxInFlight int
}

func newAckRecord() *ackRecord { return &ackRecord{acked: map[int]int{}, failed: map[int]int{}} }

func (r *ackRecord) snapshot() (acked, failed map[int]int, maxInFlight int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.acked), maps.Clone(r.failed), r.maxInFlight
}

func (s *listSpout) DeclareOutputs() []topology.Stream {
	return []topology.Stream{{ID: cmpOr(s.stream, topology.DefaultStream), Fields: []string{s.field}}}
}
func (s *listSpout) Open(_ *topology.TaskContext, out topology.SpoutCollector) error {
	s.out = out
	return nil
}
func (s *listSpout) Next() {
	i := s.next
	switch {
	case len(s.replay) > 0:
		i, s.replay = s.replay[0], s.replay[1:]
	case s.next < len(s.sentences):
		s.next++
	default:
		return
	}
	s.rec.mu.Lock()
	s.rec.inFlight++
	s.rec.maxInFlight = max(s.rec.maxInFlight, s.rec.inFlight)
	s.rec.mu.Unlock()
	s.out.Emit(cmpOr(s.stream, topology.DefaultStream), []any{s.sentences[i]}, i)
}
func (s *listSpout) Ack(id any) {
	s.rec.mu.Lock()
	s.rec.acked[id.(int)]++
	s.rec.inFlight--
	s.rec.mu.Unlock()
}
func (s *listSpout) Fail(id any) {
	s.rec.mu.Lock()
	s.rec.failed[id.(int)]++
	s.rec.inFlight--
	s.rec.mu.Unlock()
	s.replay = append(s.replay, id.(int))
}
func (s *listSpout) Close() {}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// splitBolt splits sentences into words, anchored, and acks.
type splitBolt struct {
	out topology.BoltCollector
}

func (b *splitBolt) DeclareOutputs() []topology.Stream {
	return []topology.Stream{{ID: topology.DefaultStream, Fields: []string{"word"}}}
}
func (b *splitBolt) Prepare(_ *topology.TaskContext, out topology.BoltCollector) error {
	b.out = out
	return nil
}
func (b *splitBolt) Execute(t topology.Tuple) {
	for _, w := range strings.Fields(t.String(0)) {
		b.out.Emit(topology.DefaultStream, []topology.Tuple{t}, []any{w})
	}
	b.out.Ack(t)
}
func (b *splitBolt) Cleanup() {}

func testSentences(n int) []string {
	all := builtin.Sentences()
	out := make([]string, n)
	for i := range out {
		out[i] = all[i%len(all)]
	}
	return out
}

func wordCounts(sentences []string) map[string]int64 {
	want := map[string]int64{}
	for _, s := range sentences {
		for _, w := range strings.Fields(s) {
			want[w]++
		}
	}
	return want
}

// runWorker runs a worker for topo until the test ends.
func runWorker(t *testing.T, cfg Config) *Worker {
	t.Helper()
	w, _ := startWorker(t, cfg)
	return w
}

func testLogger(t *testing.T) *slog.Logger { return testenv.Logger(t) }

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	testenv.WaitUntil(t, timeout, what, cond)
}

func TestWordCountExact(t *testing.T) {
	sentences := testSentences(2000)
	rec := newAckRecord()
	counts := &builtin.CountSet{}
	b := topology.NewBuilder("wc")
	b.SetSpout("sentences", topology.SpoutFunc(func() (topology.Spout, error) {
		return &listSpout{field: "sentence", sentences: sentences, rec: rec}, nil
	}), 1)
	b.SetBolt("split", topology.BoltFunc(func() (topology.Bolt, error) { return &splitBolt{}, nil }), 3).ShuffleGrouping("sentences")
	b.SetBolt("count", builtin.Count(builtin.CountConfig{Field: "word", Set: counts}), 2).SetNumTasks(4).FieldsGrouping("split", "word")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	w := runWorker(t, Config{Topology: topo})
	waitUntil(t, 30*time.Second, "every sentence acked", func() bool {
		acked, _, _ := rec.snapshot()
		return len(acked) == len(sentences)
	})
	acked, failed, _ := rec.snapshot()
	for id, n := range acked {
		if n != 1 {
			t.Errorf("message %d acked %d times", id, n)
		}
	}
	if len(failed) != 0 {
		t.Errorf("failed: %v", failed)
	}
	if got, want := counts.Snapshot(), wordCounts(sentences); !maps.Equal(got, want) {
		t.Errorf("counts = %v\nwant %v", got, want)
	}
	stats := map[string]StreamStats{}
	for _, c := range w.Stats() {
		stats[c.Component] = c.Totals()
	}
	if s := stats["split"]; s.Executed != int64(len(sentences)) || s.Acked != int64(len(sentences)) {
		t.Errorf("split stats = %+v, want %d executed and acked", s, len(sentences))
	}
	if s := stats["sentences"]; s.Emitted != int64(len(sentences)) || s.Acked != int64(len(sentences)) || s.CompleteSamples == 0 {
		t.Errorf("sentences stats = %+v", s)
	}
}

func isCI() bool { return testenv.CI() }
