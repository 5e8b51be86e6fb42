package worker

import (
	"testing"
	"time"

	"github.com/squallstream/squall/topology"
)

// twiceBolt emits two tuples anchored to each input, then acks it.
type twiceBolt struct{ out topology.BoltCollector }

func (b *twiceBolt) DeclareOutputs() []topology.Stream {
	return []topology.Stream{{ID: topology.DefaultStream, Fields: []string{"sentence"}}}
}
func (b *twiceBolt) Prepare(_ *topology.TaskContext, out topology.BoltCollector) error {
	b.out = out
	return nil
}
func (b *twiceBolt) Execute(t topology.Tuple) {
	for range 2 {
		b.out.Emit(topology.DefaultStream, []topology.Tuple{t}, t.Values())
	}
	b.out.Ack(t)
}
func (b *twiceBolt) Cleanup() {}

// pairBolt joins tuples in threes: it emits one tuple anchored to all
// three and acks them, so that a tuple may be anchored to two tuples of
// the same tree, to tuples of several trees, or both.
type pairBolt struct {
	out  topology.BoltCollector
	held []topology.Tuple
}

func (b *pairBolt) DeclareOutputs() []topology.Stream {
	return []topology.Stream{{ID: topology.DefaultStream, Fields: []string{"sentence"}}}
}
func (b *pairBolt) Prepare(_ *topology.TaskContext, out topology.BoltCollector) error {
	b.out = out
	return nil
}
func (b *pairBolt) Execute(t topology.Tuple) {
	if b.held = append(b.held, t); len(b.held) < 3 {
		return
	}
	b.out.Emit(topology.DefaultStream, b.held, t.Values())
	for _, h := range b.held {
		b.out.Ack(h)
	}
	b.held = b.held[:0]
}
func (b *pairBolt) Cleanup() {}

// TestMultiAnchoredTreesComplete: tuples anchored to several inputs, of
// one tuple tree or of several, complete every tree exactly once.
func TestMultiAnchoredTreesComplete(t *testing.T) {
	const n = 3000 // the pair bolt sees 6000 tuples: it holds none at the end
	sentences := testSentences(n)
	rec := newAckRecord()
	b := topology.NewBuilder("multi")
	b.SetSpout("spout", topology.SpoutFunc(func() (topology.Spout, error) {
		return &listSpout{field: "sentence", sentences: sentences, rec: rec}, nil
	}), 1)
	b.SetBolt("twice", topology.BoltFunc(func() (topology.Bolt, error) { return &twiceBolt{}, nil }), 2).ShuffleGrouping("spout")
	b.SetBolt("pair", topology.BoltFunc(func() (topology.Bolt, error) { return &pairBolt{}, nil }), 1).GlobalGrouping("twice")
	b.SetBolt("sink", topology.BoltFunc(func() (topology.Bolt, error) { return &twiceBolt{}, nil }), 1).ShuffleGrouping("pair")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	runWorker(t, Config{Topology: topo})
	waitUntil(t, 60*time.Second, "every tree acked", func() bool {
		acked, _, _ := rec.snapshot()
		return len(acked) == n
	})
	acked, failed, _ := rec.snapshot()
	for id, k := range acked {
		if k != 1 {
			t.Errorf("message %d acked %d times", id, k)
		}
	}
	if len(failed) != 0 {
		t.Errorf("failed: %v", failed)
	}
}
