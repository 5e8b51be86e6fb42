package nimbus

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/metrics"
)

// lagSnapshot is a spout executor's snapshot with lag gauges recorded as
// the Kafka spout records them.
func lagSnapshot(t *testing.T, gauges map[string]float64) metrics.Snapshot {
	t.Helper()
	reg := metrics.NewRegistry(metrics.Config{}, t0)
	task := reg.Task("orders", 1)
	for name, v := range gauges {
		if err := task.Record(name, map[string]any{"type": "gauge", "value": v}); err != nil {
			t.Fatal(err)
		}
	}
	task.Counter(metrics.Emitted, "default").Add(5)
	return reg.Snapshot(t0)[0]
}

// t0 is when the lag snapshots are read.
var t0 = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

func TestLagResult(t *testing.T) {
	old := lagSnapshot(t, map[string]float64{
		"orders/partition_0/latestCompletedOffset": 90, "orders/partition_0/latestTimeOffset": 100, "orders/partition_0/spoutLag": 10,
		"orders/partition_1/latestCompletedOffset": 40, "orders/partition_1/latestTimeOffset": 50, "orders/partition_1/spoutLag": 10,
	})
	// Partition 1 moved to the other task, which committed further.
	moved := lagSnapshot(t, map[string]float64{
		"orders/partition_1/latestCompletedOffset": 48, "orders/partition_1/latestTimeOffset": 50, "orders/partition_1/spoutLag": 2,
		"audit/partition_0/latestTimeOffset": 7, "audit/partition_0/spoutLag": 7, // never committed
		"words-seen": 3,
	})
	got, err := json.Marshal(lagResult([]metrics.Snapshot{old, moved}))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"audit":{"0":{"consumerCommittedOffset":-1,"lag":7,"logHeadOffset":7}},` +
		`"orders":{"0":{"consumerCommittedOffset":90,"lag":10,"logHeadOffset":100},"1":{"consumerCommittedOffset":48,"lag":2,"logHeadOffset":50}}}`
	if string(got) != want {
		t.Errorf("lagResult() = %s\nwant %s", got, want)
	}
	// The component page lists the same figures by topic and partition.
	var rows []string
	for _, r := range lagRows(bestLag([]metrics.Snapshot{old, moved})) {
		rows = append(rows, fmt.Sprintf("%s/%d:%d/%d/%d", r.GetTopic(), r.GetPartition(), r.GetConsumerCommittedOffset(), r.GetLogHeadOffset(), r.GetLag()))
	}
	if want := []string{"audit/0:-1/7/7", "orders/0:90/100/10", "orders/1:48/50/2"}; !slices.Equal(rows, want) {
		t.Errorf("spout lag rows = %q, want %q", rows, want)
	}
	if r := lagResult([]metrics.Snapshot{lagSnapshot(t, nil)}); len(r) != 0 {
		t.Errorf("lagResult(no lag metrics) = %v, want empty", r)
	}
}

// TestTopologyLagWithoutKafka: a topology without Kafka spouts has no lag
// to show, as Storm answers.
func TestTopologyLagWithoutKafka(t *testing.T) {
	t.Parallel()
	n, mem := memNimbus(t)
	id, _ := statsTopology(t, n, mem)
	s, err := n.GetTopologyLag(t.Context(), &api.GetTopologyLagRequest{Id: id})
	if err != nil || len(s.GetFields()) != 0 {
		t.Errorf("GetTopologyLag = %v, %v; want {}", s, err)
	}
}

// TestComponentPageLag: a Kafka spout's page lists the lag its executors
// report in their heartbeats, as /lag answers it.
func TestComponentPageLag(t *testing.T) {
	t.Parallel()
	n, mem := memNimbus(t)
	addSupervisor(t, mem, nil, "a", 6700, 6701)
	st := mem.Session()
	t.Cleanup(func() { st.Close() })
	id := submit(t, n, wordsRequest("lagging"))
	a := assignment(t, st, id)
	page, err := n.GetComponent(t.Context(), &api.GetComponentRequest{Id: id, Component: "words"})
	if err != nil {
		t.Fatal(err)
	}
	snaps := map[cluster.Slot][]metrics.Snapshot{}
	for i, es := range page.GetExecutorStats() {
		var first, last int
		fmt.Sscanf(es.GetId(), "[%d-%d]", &first, &last)
		reg := metrics.NewRegistry(metrics.Config{}, t0)
		task := reg.Task("words", first)
		part := fmt.Sprintf("orders/partition_%d/", i)
		for name, v := range map[string]float64{"latestCompletedOffset": float64(90 + i), "latestTimeOffset": 100, "spoutLag": float64(10 - i)} {
			if err := task.Record(part+name, map[string]any{"type": "gauge", "value": v}); err != nil {
				t.Fatal(err)
			}
		}
		slot := a.Executors[cluster.ExecutorID{Start: first, End: last}]
		snaps[slot] = append(snaps[slot], reg.Snapshot(t0)[0])
	}
	for _, slot := range a.Slots() {
		hb := cluster.WorkerHeartbeat{TopologyID: id, NodeID: slot.NodeID, Port: slot.Port, Executors: a.ExecutorsOn(slot),
			Time: time.Now(), UptimeSecs: 5, ExecutorStats: snaps[slot]}
		if err := st.PutWorkerHeartbeat(t.Context(), hb); err != nil {
			t.Fatal(err)
		}
	}
	page, err = n.GetComponent(t.Context(), &api.GetComponentRequest{Id: id, Component: "words"})
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, r := range page.GetSpoutLag() {
		rows = append(rows, fmt.Sprintf("%s/%d:%d/%d/%d", r.GetTopic(), r.GetPartition(), r.GetConsumerCommittedOffset(), r.GetLogHeadOffset(), r.GetLag()))
	}
	if want := []string{"orders/0:90/100/10", "orders/1:91/100/9"}; !slices.Equal(rows, want) {
		t.Errorf("spoutLag = %q, want %q", rows, want)
	}
	bolt, err := n.GetComponent(t.Context(), &api.GetComponentRequest{Id: id, Component: "count"})
	if err != nil || len(bolt.GetSpoutLag()) != 0 {
		t.Errorf("a bolt's page has lag %v (%v)", bolt.GetSpoutLag(), err)
	}
}
