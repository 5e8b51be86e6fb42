package workerd

import (
	"time"

	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/worker"
)

// ClusterStats converts cumulative statistics to what a worker reports in
// its ZooKeeper heartbeat: per component, per stream (outputs by stream
// id, a bolt's inputs by "component:stream"), counts and average
// latencies in milliseconds.
func ClusterStats(stats []worker.ComponentStats, uptime time.Duration) map[string]cluster.ComponentStats {
	out := make(map[string]cluster.ComponentStats, len(stats))
	for _, c := range stats {
		cs := cluster.ComponentStats{Streams: make(map[string]cluster.StreamStats, len(c.Streams))}
		for key, s := range c.Streams {
			cs.Streams[key] = cluster.StreamStats{
				Emitted:           s.Emitted,
				Transferred:       s.Transferred,
				Executed:          s.Executed,
				Acked:             s.Acked,
				Failed:            s.Failed,
				ExecuteLatencyMs:  ms(s.ExecuteLatency()),
				ProcessLatencyMs:  ms(s.ProcessLatency()),
				CompleteLatencyMs: ms(s.CompleteLatency()),
			}
		}
		if !c.Spout && uptime > 0 && c.Tasks > 0 {
			cs.Capacity = float64(c.BusyNanos) / (float64(uptime) * float64(c.Tasks))
		}
		out[c.Component] = cs
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
