package worker

import (
	"testing"
	"time"

	"github.com/squallstream/squall/metrics"
	"github.com/squallstream/squall/topology"
)

// taskSeries reads a series of component's tasks: counters all time,
// gauges now, summed.
func taskSeries(w *Worker, component, name string) (sum float64, seen bool) {
	for _, s := range w.ExecutorSnapshots(time.Now()) {
		if s.Component != component {
			continue
		}
		for _, x := range s.Series {
			if x.Name != name {
				continue
			}
			seen = true
			if x.Kind == metrics.KindGauge {
				sum += x.Value
			} else {
				sum += float64(x.Counts[metrics.WindowAllTime])
			}
		}
	}
	return sum, seen
}

// TestBackpressureMetrics: a spout held back by a slow bolt's full queue
// counts the time in backpressure-time and its held messages in the
// bolt's receive-queue-overflow; a bolt blocked the same way counts its
// own; a spout at topology.max.spout.pending counts that time.
func TestBackpressureMetrics(t *testing.T) {
	t.Run("queues", func(t *testing.T) {
		b := topology.NewBuilder("bp")
		b.AddConfig(topology.KeyExecutorReceiveBufferSize, 8)
		b.SetSpout("spout", topology.SpoutFunc(func() (topology.Spout, error) { return &constSpout{limit: 1 << 30}, nil }), 1)
		b.SetBolt("relay", topology.BoltFunc(func() (topology.Bolt, error) { return &relayBolt{}, nil }), 1).ShuffleGrouping("spout")
		b.SetBolt("slow", topology.BoltFunc(func() (topology.Bolt, error) { return &slowBolt{delay: time.Millisecond}, nil }), 1).ShuffleGrouping("relay")
		topo, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		w := runWorker(t, Config{Topology: topo})
		var overflow float64
		waitUntil(t, 60*time.Second, "backpressure on the spout and the relay, and messages held for full queues", func() bool {
			spout, _ := taskSeries(w, "spout", metrics.BackpressureTime)
			relay, _ := taskSeries(w, "relay", metrics.BackpressureTime)
			o, _ := taskSeries(w, "relay", metrics.ReceiveQueueOverflow)
			p, _ := taskSeries(w, "slow", metrics.ReceiveQueueOverflow)
			overflow = max(overflow, o+p)
			return spout > float64(50*time.Millisecond) && relay > float64(50*time.Millisecond) && overflow > 0
		})
		if v, seen := taskSeries(w, "spout", metrics.MaxSpoutPendingTime); seen {
			t.Errorf("max-spout-pending-time %v without topology.max.spout.pending", v)
		}
	})
	t.Run("max spout pending", func(t *testing.T) {
		rec := newAckRecord()
		b := topology.NewBuilder("pending")
		b.AddConfig(topology.KeyMaxSpoutPending, 4)
		b.SetSpout("spout", topology.SpoutFunc(func() (topology.Spout, error) {
			return &listSpout{field: "sentence", sentences: testSentences(200), rec: rec}, nil
		}), 1)
		b.SetBolt("slow", topology.BoltFunc(func() (topology.Bolt, error) { return &slowBolt{delay: time.Millisecond}, nil }), 1).ShuffleGrouping("spout")
		topo, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		w := runWorker(t, Config{Topology: topo})
		waitUntil(t, 60*time.Second, "every tuple acked", func() bool { acked, _, _ := rec.snapshot(); return len(acked) == 200 })
		// 200 tuples through a bolt taking 1 ms each, 4 at a time: the
		// spout waited at the limit most of at least 200 ms.
		waitUntil(t, 60*time.Second, "max-spout-pending-time", func() bool {
			v, _ := taskSeries(w, "spout", metrics.MaxSpoutPendingTime)
			return v >= float64(100*time.Millisecond)
		})
	})
}
