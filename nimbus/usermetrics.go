package nimbus

import (
	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/metrics"
)

// userMetrics lists a component's user metrics, its executors' snapshots
// merged, in every window.
func (p *page) userMetrics(component string) []*api.UserMetricStats {
	var merged metrics.Snapshot
	for _, e := range p.snapshots(component) {
		if merged.Component == "" {
			merged = e.snap
			continue
		}
		m, err := metrics.Merge(merged, e.snap)
		if err != nil {
			continue // a metric of two kinds in two workers: left out of the sum
		}
		merged = m
	}
	var out []*api.UserMetricStats
	for _, x := range merged.Series { // sorted: user metrics last, by name
		if !x.User {
			continue
		}
		u := &api.UserMetricStats{Name: x.Name, Kind: x.Kind.String()}
		for _, w := range metrics.Windows {
			uw := &api.UserMetricWindow{Window: w.String()}
			switch x.Kind {
			case metrics.KindCounter:
				uw.Count = x.Counts[w]
			case metrics.KindGauge:
				uw.Value = x.Value
			case metrics.KindHistogram:
				uw.Count, uw.Mean = x.Counts[w], x.Mean(w)
				if w == metrics.WindowAllTime && x.Histogram != nil {
					uw.P50, uw.P99 = x.Histogram.Quantile(0.5), x.Histogram.Quantile(0.99)
				}
			}
			u.Windows = append(u.Windows, uw)
		}
		out = append(out, u)
	}
	return out
}
