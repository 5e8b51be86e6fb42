package kafka

import (
	"maps"
	"testing"
	"time"

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
	runWorker(t, worker.Config{Topology: topo})
	waitUntil(t, 60*time.Second, "every record delivered", func() bool { return s.distinct() == n })
	want := map[TopicPartition]int64{}
	for _, tp := range partitionsOf("orders", parts) {
		want[tp] = n / parts
	}
	waitUntil(t, 30*time.Second, "commits at the log end", func() bool {
		return maps.Equal(committed(t, b.Addr(), "g1", partitionsOf("orders", parts)), want)
	})
	waitUntil(t, 30*time.Second, "lag 0", func() bool {
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
	if d := s.deliveries(); d != n {
		t.Errorf("%d deliveries of %d records with nothing failing, want each once", d, n)
	}
}
