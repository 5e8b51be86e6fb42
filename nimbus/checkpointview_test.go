package nimbus

import (
	"testing"
	"time"

	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/metrics"
	"github.com/squallstream/squall/topology"
)

func TestCheckpointOf(t *testing.T) {
	now := time.UnixMilli(1_800_000_000_000)
	spout := func(txid, agoMs, intervalMs float64) metrics.Snapshot {
		return metrics.Snapshot{Component: topology.CheckpointSpout, FirstTask: 1, LastTask: 1, Series: []metrics.Series{
			{Name: "checkpoint-txid", User: true, Kind: metrics.KindGauge, Value: txid + 1},
			{Name: gaugeCheckpointInterval, User: true, Kind: metrics.KindGauge, Value: intervalMs},
			{Name: gaugeCheckpointLastTxid, User: true, Kind: metrics.KindGauge, Value: txid},
			{Name: gaugeCheckpointLastAt, User: true, Kind: metrics.KindGauge, Value: float64(now.UnixMilli()) - agoMs},
		}}
	}
	other := metrics.Snapshot{Component: "count", FirstTask: 2, LastTask: 2}
	slotA, slotB := cluster.Slot{NodeID: "a", Port: 6700}, cluster.Slot{NodeID: "b", Port: 6700}
	beat := func(s cluster.Slot, snaps ...metrics.Snapshot) cluster.WorkerHeartbeat {
		return cluster.WorkerHeartbeat{NodeID: s.NodeID, Port: s.Port, ExecutorStats: snaps}
	}
	tests := []struct {
		name  string
		beats []cluster.WorkerHeartbeat
		slots []cluster.Slot
		want  checkpointView
		ok    bool
	}{
		{"no state", []cluster.WorkerHeartbeat{beat(slotA, other)}, []cluster.Slot{slotA}, checkpointView{}, false},
		{"no heartbeat yet", nil, []cluster.Slot{slotA}, checkpointView{}, false},
		{"committing", []cluster.WorkerHeartbeat{beat(slotA, other), beat(slotB, spout(41, 700, 500))}, []cluster.Slot{slotA, slotB},
			checkpointView{txid: 41, age: 700 * time.Millisecond, interval: 500 * time.Millisecond}, true},
		{"before the first commit", []cluster.WorkerHeartbeat{beat(slotA, spout(-1, 100, 1000))}, []cluster.Slot{slotA},
			checkpointView{txid: -1, age: 100 * time.Millisecond, interval: time.Second}, true},
		{"stalled at 10 intervals", []cluster.WorkerHeartbeat{beat(slotA, spout(7, 5000, 500))}, []cluster.Slot{slotA},
			checkpointView{txid: 7, age: 5 * time.Second, interval: 500 * time.Millisecond, stalled: true}, true},
		{"just below", []cluster.WorkerHeartbeat{beat(slotA, spout(7, 4999, 500))}, []cluster.Slot{slotA},
			checkpointView{txid: 7, age: 4999 * time.Millisecond, interval: 500 * time.Millisecond}, true},
		{"a worker no longer assigned is ignored", []cluster.WorkerHeartbeat{beat(slotA, spout(3, 60000, 500))}, []cluster.Slot{slotB},
			checkpointView{}, false},
		{"the latest commit of two reports wins",
			[]cluster.WorkerHeartbeat{beat(slotA, spout(3, 60000, 500)), beat(slotB, spout(9, 200, 500))}, []cluster.Slot{slotA, slotB},
			checkpointView{txid: 9, age: 200 * time.Millisecond, interval: 500 * time.Millisecond}, true},
		{"a clock ahead of nimbus's is no negative age", []cluster.WorkerHeartbeat{beat(slotA, spout(3, -3000, 500))}, []cluster.Slot{slotA},
			checkpointView{txid: 3, interval: 500 * time.Millisecond}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := checkpointOf(tt.beats, tt.slots, now)
			if ok != tt.ok || got != tt.want {
				t.Errorf("checkpointOf = %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}
