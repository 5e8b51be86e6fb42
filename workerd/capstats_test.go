package workerd

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/squallstream/squall/metrics"
)

func TestCapStats(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	reg := metrics.NewRegistry(metrics.Config{}, now)
	task := reg.Task("split", 1)
	task.Counter(metrics.Emitted, "default").Add(10)
	for i := range 2000 {
		task.Histogram(metrics.ExecuteLatency, "lines:default").ObserveDuration(time.Duration(i) * time.Microsecond)
	}
	for i := range 100 {
		task.Record(fmt.Sprintf("user-metric-%03d", i), 1)
	}
	snaps := reg.Snapshot(now)
	size := func(s []metrics.Snapshot) int {
		b, _ := json.Marshal(s)
		return len(b)
	}
	full := size(snaps)
	noUser, _ := capStats(snaps, 0) // everything stripped
	noWindows, _ := capStats(snaps, full-1)
	tests := []struct {
		name     string
		limit    int
		dropped  string
		user     bool
		hist     bool
		windowed bool
	}{
		{"fits", full, "", true, true, true},
		{"without windowed histograms", full - 1, "windowed latency histograms", true, true, false},
		{"without user metrics", size(noWindows) - 1, "windowed latency histograms and user metrics", false, true, false},
		{"without histograms", size(noUser) + 10, "windowed latency histograms, user metrics and latency histograms", false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, dropped := capStats(snaps, tt.limit)
			if dropped != tt.dropped {
				t.Errorf("capStats(%d) dropped %q, want %q", tt.limit, dropped, tt.dropped)
			}
			if tt.dropped != "" && size(got) > tt.limit && tt.hist {
				t.Errorf("capStats(%d) = %d bytes", tt.limit, size(got))
			}
			_, user := got[0].Find("user-metric-000", "", true)
			lat, _ := got[0].Find(metrics.ExecuteLatency, "lines:default", false)
			if (lat.Windowed != nil) != tt.windowed {
				t.Errorf("capStats(%d): windowed histograms %v, want %v", tt.limit, lat.Windowed != nil, tt.windowed)
			}
			if user != tt.user || (lat.Histogram != nil) != tt.hist || lat.Counts[metrics.WindowAllTime] != 2000 {
				t.Errorf("capStats(%d): user metrics %v, histogram %v, latency count %d; want %v, %v, 2000",
					tt.limit, user, lat.Histogram != nil, lat.Counts[metrics.WindowAllTime], tt.user, tt.hist)
			}
		})
	}
}
