package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/squallstream/squall/internal/fakekafka"
	"github.com/squallstream/squall/internal/testenv"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/worker"
)

// rowSpout emits rows reliably on its default stream, once each.
type rowSpout struct {
	fields []string
	rows   [][]any
	next   int
	out    topology.SpoutCollector
}

func (s *rowSpout) DeclareOutputs() []topology.Stream {
	return []topology.Stream{{ID: topology.DefaultStream, Fields: s.fields}}
}
func (s *rowSpout) Open(_ *topology.TaskContext, out topology.SpoutCollector) error {
	s.out = out
	return nil
}
func (s *rowSpout) Next() {
	if s.next < len(s.rows) {
		s.out.Emit(topology.DefaultStream, s.rows[s.next], s.next)
		s.next++
	}
}
func (s *rowSpout) Ack(any)  {}
func (s *rowSpout) Fail(any) {}
func (s *rowSpout) Close()   {}

// runBolt runs rowSpout(rows) -> KafkaBolt(c) and returns the worker.
func runBolt(t *testing.T, c BoltConfig, fields []string, rows [][]any) *running {
	t.Helper()
	if _, err := NewBolt(c); err != nil {
		t.Fatal(err)
	}
	tb := topology.NewBuilder("bolt")
	tb.SetSpout("rows", topology.SpoutFunc(func() (topology.Spout, error) { return &rowSpout{fields: fields, rows: rows}, nil }), 1)
	tb.SetBolt("kafka", topology.BoltFunc(func() (topology.Bolt, error) { return NewBolt(c) }), 2).ShuffleGrouping("rows")
	topo, err := tb.Build()
	if err != nil {
		t.Fatal(err)
	}
	return runWorker(t, worker.Config{Topology: topo})
}

// readTopic reads n records of a topic.
func readTopic(t *testing.T, addr, topic string, n int) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience(30*time.Second))
	defer cancel()
	recs, err := fakekafka.Consume(ctx, addr, topic, func(r []*kgo.Record) bool { return len(r) >= n })
	if err != nil {
		t.Fatalf("read %s: %v (got %d of %d)", topic, err, len(recs), n)
	}
	return recs
}

func TestBoltProduces(t *testing.T) {
	const n = 500
	b := startBroker(t, 3, "out", "audit")
	var rows [][]any
	for i := range n {
		topic := "out"
		if i%5 == 0 {
			topic = "audit"
		}
		var value any = fmt.Sprintf("m%d", i)
		if i == 7 {
			value = map[string]any{"n": 7} // from a multilang bolt: JSON
		}
		var key any = fmt.Sprintf("k%d", i)
		if i == 8 {
			key = nil
		}
		rows = append(rows, []any{key, value, topic})
	}
	w := runBolt(t, BoltConfig{BootstrapServers: []string{b.Addr()}, Topic: "out", TopicField: "dest"}, []string{"key", "message", "dest"}, rows)
	testenv.WaitUntil(t, 30*time.Second, "every tuple acked", func() bool { return ackedOf(w.Worker, "rows") == n })
	got := map[string]string{}
	for _, r := range append(readTopic(t, b.Addr(), "out", n-n/5), readTopic(t, b.Addr(), "audit", n/5)...) {
		got[r.Topic+"/"+string(r.Key)] = string(r.Value)
		if r.Key == nil && string(r.Value) != "m8" {
			t.Errorf("record with a null key: %q", r.Value)
		}
	}
	for i := range n {
		topic := "out"
		if i%5 == 0 {
			topic = "audit"
		}
		want := fmt.Sprintf("m%d", i)
		key := fmt.Sprintf("k%d", i)
		switch i {
		case 7:
			want = `{"n":7}`
		case 8:
			key = ""
		}
		if got[topic+"/"+key] != want {
			t.Errorf("record %d in %s: %q, want %q", i, topic, got[topic+"/"+key], want)
		}
	}
}

// TestBoltFailsWhatItCannotProduce: a tuple without the value field, one
// whose topic field is not a topic name, and one the client refuses (too
// large) are failed and reported; the others are acked.
func TestBoltFailsWhatItCannotProduce(t *testing.T) {
	b := startBroker(t, 1, "out")
	big := strings.Repeat("x", 4096)
	rows := [][]any{{"ok1", "out"}, {big, "out"}, {"ok2", 42}, {"ok3", "bad topic!"}, {"ok4", "out"}}
	c := BoltConfig{BootstrapServers: []string{b.Addr()}, Topic: "out", TopicField: "dest", ValueField: "v", Props: map[string]any{"batch.size": 1024}}
	w := runBolt(t, c, []string{"v", "dest"}, rows)
	testenv.WaitUntil(t, 30*time.Second, "every tuple acked or failed", func() bool {
		return ackedOf(w.Worker, "rows")+failedOf(w.Worker, "rows") == int64(len(rows))
	})
	if a, f := ackedOf(w.Worker, "rows"), failedOf(w.Worker, "rows"); a != 2 || f != 3 {
		t.Errorf("acked %d failed %d, want 2 and 3", a, f)
	}
	var values []string
	for _, r := range readTopic(t, b.Addr(), "out", 2) {
		values = append(values, string(r.Value))
	}
	if slices.Sort(values); !slices.Equal(values, []string{"ok1", "ok4"}) {
		t.Errorf("records %q, want ok1 and ok4", values)
	}
	var errCount int64
	for _, c := range w.Stats() {
		if c.Component == "kafka" {
			errCount = c.Errors
		}
	}
	if errCount != 3 {
		t.Errorf("the bolt reported %d errors, want 3", errCount)
	}

	// No value field at all.
	bt, err := NewBolt(BoltConfig{BootstrapServers: []string{b.Addr()}, Topic: "out"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bt.record(topology.NewTuple(&topology.Source{Component: "c", Stream: "s", Fields: topology.NewFields("key")}, []any{"k"}, nil)); !errors.Is(err, ErrTuple) {
		t.Errorf("record without a message field: %v, want ErrTuple", err)
	}
}

// TestBoltFailsWhenTheBrokerIsGone: with the broker stopped, the bolt's
// tuples are failed once delivery.timeout.ms passes (and reported), never
// acked: a tuple is acked only for a record the broker has.
func TestBoltFailsWhenTheBrokerIsGone(t *testing.T) {
	b := startBroker(t, 1, "out")
	addr := b.Addr()
	b.Close()
	rows := [][]any{{"m1"}, {"m2"}, {"m3"}}
	c := BoltConfig{BootstrapServers: []string{addr}, Topic: "out", ValueField: "v", Props: map[string]any{"delivery.timeout.ms": 1000}}
	w := runBolt(t, c, []string{"v"}, rows)
	testenv.WaitUntil(t, 60*time.Second, "every tuple failed", func() bool { return failedOf(w.Worker, "rows") == int64(len(rows)) })
	if a := ackedOf(w.Worker, "rows"); a != 0 {
		t.Errorf("%d tuples acked with no broker", a)
	}
	var errCount int64
	for _, c := range w.Stats() {
		if c.Component == "kafka" {
			errCount = c.Errors
		}
	}
	if errCount == 0 {
		t.Error("the bolt reported no error")
	}
}
