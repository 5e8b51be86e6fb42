package workerd

import (
	"encoding/json"

	"github.com/squallstream/squall/metrics"
)

// MaxHeartbeatStatsBytes bounds the executor stats a worker writes into its
// ZooKeeper heartbeat (ZooKeeper refuses nodes past 1 MB by default).
const MaxHeartbeatStatsBytes = 512 << 10

// capStats returns snaps within limit bytes of JSON: as they are if they
// fit, else without the windows' histogram buckets (percentiles per
// window go), else also without user metrics (Prometheus still has them),
// else also without histogram buckets (all-time percentiles go, means
// stay). It says what it
// dropped, "" if nothing.
func capStats(snaps []metrics.Snapshot, limit int) ([]metrics.Snapshot, string) {
	fits := func(s []metrics.Snapshot) bool {
		b, err := json.Marshal(s)
		return err == nil && len(b) <= limit
	}
	if fits(snaps) {
		return snaps, ""
	}
	strip := func(keep func(metrics.Series) (metrics.Series, bool)) []metrics.Snapshot {
		out := make([]metrics.Snapshot, len(snaps))
		for i, s := range snaps {
			series := make([]metrics.Series, 0, len(s.Series))
			for _, x := range s.Series {
				if x, ok := keep(x); ok {
					series = append(series, x)
				}
			}
			s.Series = series
			out[i] = s
		}
		return out
	}
	snaps = strip(func(x metrics.Series) (metrics.Series, bool) {
		x.Windowed = nil
		return x, true
	})
	if fits(snaps) {
		return snaps, "windowed latency histograms"
	}
	snaps = strip(func(x metrics.Series) (metrics.Series, bool) { return x, !x.User })
	if fits(snaps) {
		return snaps, "windowed latency histograms and user metrics"
	}
	return strip(func(x metrics.Series) (metrics.Series, bool) {
		x.Histogram = nil
		return x, true
	}), "windowed latency histograms, user metrics and latency histograms"
}
