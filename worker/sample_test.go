package worker

import (
	"testing"
	"time"
	"unsafe"

	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/worker/acker"
)

// TestProcessLatencySampled: with every tuple sampled, a bolt that acks
// in Execute and one that acks tuples it held across Executes both
// measure every ack's process latency.
func TestProcessLatencySampled(t *testing.T) {
	const n = 600 // the pair bolt sees 1200 tuples: it holds none at the end
	sentences := testSentences(n)
	rec := newAckRecord()
	b := topology.NewBuilder("process")
	b.AddConfig(topology.KeyStatsSampleRate, 1.0)
	b.SetSpout("spout", topology.SpoutFunc(func() (topology.Spout, error) {
		return &listSpout{field: "sentence", sentences: sentences, rec: rec}, nil
	}), 1)
	b.SetBolt("twice", topology.BoltFunc(func() (topology.Bolt, error) { return &twiceBolt{}, nil }), 1).ShuffleGrouping("spout")
	b.SetBolt("pair", topology.BoltFunc(func() (topology.Bolt, error) { return &pairBolt{}, nil }), 1).GlobalGrouping("twice")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	w := runWorker(t, Config{Topology: topo})
	waitUntil(t, 60*time.Second, "every tree acked", func() bool {
		acked, _, _ := rec.snapshot()
		return len(acked) == n
	})
	want := map[string]int64{"twice": n, "pair": 2 * n}
	for _, c := range w.Stats() {
		wantSamples, ok := want[c.Component]
		if !ok {
			continue
		}
		tot := c.Totals()
		if tot.ProcessSamples != wantSamples {
			t.Errorf("%s: %d process latency samples, want %d", c.Component, tot.ProcessSamples, wantSamples)
		}
		if tot.ProcessNanos <= 0 {
			t.Errorf("%s: process latencies add up to %d ns", c.Component, tot.ProcessNanos)
		}
	}
}

// TestAnchorSize: an Anchor is made for every tracked delivery; at 24
// bytes it is in the smallest size class that holds it.
func TestAnchorSize(t *testing.T) {
	if got := unsafe.Sizeof(acker.Anchor{}); got != 24 {
		t.Errorf("an Anchor takes %d bytes, want 24", got)
	}
}

// TestHeldSamplesBounded: the starts of sampled tuples left unacked are
// kept up to maxHeldSamples, then let go; each is returned once.
func TestHeldSamplesBounded(t *testing.T) {
	var c boltCollector
	first := acker.NewAnchor(acker.Edge{Root: 1, ID: 1})
	c.beginSample(first, 100)
	c.endSample()
	if at := c.sampledAt(first); at != 100 {
		t.Fatalf("sampledAt of a held tuple = %d, want 100", at)
	}
	if at := c.sampledAt(first); at != 0 {
		t.Fatalf("sampledAt of a tuple already acked = %d, want 0", at)
	}
	for i := range maxHeldSamples + 1 {
		c.beginSample(acker.NewAnchor(acker.Edge{Root: 1, ID: uint64(i) + 2}), int64(i)+1)
		c.endSample()
		if len(c.held) > maxHeldSamples {
			t.Fatalf("%d samples held, want at most %d", len(c.held), maxHeldSamples)
		}
	}
}
