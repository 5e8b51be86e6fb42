package nimbus

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/internal/testenv"
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

// heartbeatReads counts, by topology, the reads of worker heartbeats made
// with a context that carries listingKey.
type heartbeatReads struct {
	cluster.State
	mu    sync.Mutex
	reads map[string]int
}

type listingKey struct{}

func (h *heartbeatReads) ListWorkerHeartbeats(ctx context.Context, id string) ([]cluster.WorkerHeartbeat, error) {
	if ctx.Value(listingKey{}) != nil {
		h.mu.Lock()
		h.reads[id]++
		h.mu.Unlock()
	}
	return h.State.ListWorkerHeartbeats(ctx, id)
}

// statefulRequest submits a stateful word count called name.
func statefulRequest(name string) *api.SubmitTopologyRequest {
	return &api.SubmitTopologyRequest{TopologyFile: "topology.yaml", Topology: `name: ` + name + `
spouts:
  - id: words
    go: squall.TestWordSpout
bolts:
  - id: count
    go: squall.StatefulCount
    args: {field: word}
    state: {}
streams:
  - {from: words, to: count, grouping: {type: FIELDS, args: [word]}}
`}
}

// The record of a stateful topology submitted before nimbus set its
// Stateful flag gets it from the topology's definition, so that listing
// shows its checkpoint.
func TestStatefulFlagBackfilled(t *testing.T) {
	t.Parallel()
	n, mem := memNimbus(t)
	sess := mem.Session()
	t.Cleanup(func() { sess.Close() })
	addSupervisor(t, mem, nil, "a", 6700)
	id := submit(t, n, statefulRequest("old"))
	rec, _ := topologyRecord(t, sess, id)
	rec.Stateful = false // as submitted before session 5
	if _, err := sess.SetTopology(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	testenv.WaitUntil(t, 60*time.Second, "the record flagged stateful again", func() bool {
		rec, ok := topologyRecord(t, sess, id)
		return ok && rec.Stateful
	})
}

// A stateful topology's record says so from its submission, and listing
// shows its checkpoint from its heartbeats; listing reads no other
// topology's heartbeats.
func TestListTopologiesReadsStatefulHeartbeatsOnly(t *testing.T) {
	t.Parallel()
	mem := cluster.NewMemory()
	sess := mem.Session()
	t.Cleanup(func() { sess.Close() })
	st := &heartbeatReads{State: sess, reads: map[string]int{}}
	n := startNimbus(t, st)
	waitLeader(t, n)
	addSupervisor(t, mem, nil, "a", 6700, 6701, 6702, 6703)
	plain := submit(t, n, wordsRequest("plain"))
	stateful := submit(t, n, statefulRequest("stateful"))
	for id, want := range map[string]bool{plain: false, stateful: true} {
		if rec, ok := topologyRecord(t, sess, id); !ok || rec.Stateful != want {
			t.Errorf("record of %s: Stateful = %v, want %v", id, rec.Stateful, want)
		}
	}
	now := time.Now()
	for _, id := range []string{plain, stateful} {
		a := assignment(t, sess, id)
		for _, slot := range a.Slots() {
			hb := cluster.WorkerHeartbeat{TopologyID: id, NodeID: slot.NodeID, Port: slot.Port, Executors: a.ExecutorsOn(slot), Time: now,
				ExecutorStats: []metrics.Snapshot{{Component: topology.CheckpointSpout, FirstTask: 1, LastTask: 1, Series: []metrics.Series{
					{Name: gaugeCheckpointInterval, User: true, Kind: metrics.KindGauge, Value: 1000},
					{Name: gaugeCheckpointLastTxid, User: true, Kind: metrics.KindGauge, Value: 12},
					{Name: gaugeCheckpointLastAt, User: true, Kind: metrics.KindGauge, Value: float64(now.UnixMilli())},
				}}}}
			if err := sess.PutWorkerHeartbeat(t.Context(), hb); err != nil {
				t.Fatal(err)
			}
		}
	}

	resp, err := n.ListTopologies(context.WithValue(t.Context(), listingKey{}, true), &api.ListTopologiesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, sum := range resp.GetTopologies() {
		switch sum.GetId() {
		case stateful:
			if sum.CheckpointTxid == nil || sum.GetCheckpointTxid() != 12 {
				t.Errorf("stateful topology listed with checkpoint %v, want txid 12", sum.CheckpointTxid)
			}
		case plain:
			if sum.CheckpointTxid != nil {
				t.Errorf("topology without state listed with checkpoint %v", sum.GetCheckpointTxid())
			}
		}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.reads[plain] != 0 || st.reads[stateful] != 1 {
		t.Errorf("listing read heartbeats %v times, want once for %s and never for %s", st.reads, stateful, plain)
	}
}
