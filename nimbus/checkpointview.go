package nimbus

import (
	"slices"
	"time"

	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/internal/submission"
	"github.com/squallstream/squall/metrics"
	"github.com/squallstream/squall/topology"
)

// The operator's checkpoint view: a stateful topology's last committed
// checkpoint and its age, from the metrics its checkpoint spout's task
// publishes in its worker's heartbeat (worker/stateprovider.go).

// The checkpoint spout's gauges nimbus reads.
const (
	gaugeCheckpointLastTxid = "checkpoint-last-committed-txid"
	gaugeCheckpointLastAt   = "checkpoint-last-committed-ms"
	gaugeCheckpointInterval = "checkpoint-interval-ms"
)

// StallIntervals is how many checkpoint intervals without a commit make a
// topology's checkpoint stalled.
const StallIntervals = 10

// checkpointView is a stateful topology's last committed checkpoint.
type checkpointView struct {
	txid     int64
	age      time.Duration
	interval time.Duration
	stalled  bool
}

// outlineStateful reports whether a submitted topology is stateful: its
// loading wired a checkpoint spout in.
func outlineStateful(o submission.Outline) bool {
	return slices.ContainsFunc(o.Components, func(c submission.OutlineComponent) bool { return c.ID == topology.CheckpointSpout })
}

// checkpointOf finds the checkpoint spout's figures in the heartbeats of
// the workers in slots (stale ones of workers no longer assigned are
// ignored); ok is false for a topology without state, or before the
// worker running the spout reported it. With two reports (a worker
// replaced while its old heartbeat lingers), the latest commit wins.
func checkpointOf(beats []cluster.WorkerHeartbeat, slots []cluster.Slot, now time.Time) (v checkpointView, ok bool) {
	var at int64
	for _, hb := range beats {
		if !slices.Contains(slots, cluster.Slot{NodeID: hb.NodeID, Port: hb.Port}) {
			continue
		}
		for _, snap := range hb.ExecutorStats {
			if snap.Component != topology.CheckpointSpout {
				continue
			}
			g := map[string]float64{}
			for _, s := range snap.Series {
				if s.User && s.Kind == metrics.KindGauge {
					g[s.Name] = s.Value
				}
			}
			last, ok1 := g[gaugeCheckpointLastAt]
			txid, ok2 := g[gaugeCheckpointLastTxid]
			if !ok1 || !ok2 || last == 0 || int64(last) <= at {
				continue
			}
			at, ok = int64(last), true
			v.txid = int64(txid)
			v.interval = time.Duration(g[gaugeCheckpointInterval]) * time.Millisecond
		}
	}
	if !ok {
		return v, false
	}
	v.age = max(now.Sub(time.UnixMilli(at)), 0)
	v.stalled = v.interval > 0 && v.age >= StallIntervals*v.interval
	return v, true
}
