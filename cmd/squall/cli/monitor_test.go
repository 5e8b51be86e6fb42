package cli

import (
	"testing"
	"time"

	"github.com/squallstream/squall/api"
)

func TestMonitorSampleOf(t *testing.T) {
	at := time.Unix(100, 0)
	tests := []struct {
		name  string
		o     monitorOptions
		resp  *api.GetComponentResponse
		count int64
		lat   [3]string
	}{
		{
			name: "spout",
			o:    monitorOptions{stream: "default", watch: "emitted"},
			resp: &api.GetComponentResponse{Executors: 2,
				OutputStats: []*api.OutputStats{{Stream: "other", Emitted: 5}, {Stream: "default", Emitted: 40, Transferred: 80}},
				SpoutSummary: []*api.SpoutWindowStats{
					{Window: "600", CompleteLatency: "3.000", CompleteLatencyP50: "2.960", CompleteLatencyP99: "3.015"},
					{Window: api.WindowAllTime, CompleteLatency: "2.200", CompleteLatencyP50: "2.032", CompleteLatencyP99: "3.015"},
				}},
			count: 40, lat: [3]string{"3.000", "2.960", "3.015"},
		},
		{
			name: "bolt, transferred",
			o:    monitorOptions{stream: "default", watch: "transferred"},
			resp: &api.GetComponentResponse{Executors: 3,
				OutputStats: []*api.OutputStats{{Stream: "default", Emitted: 40, Transferred: 80}},
				BoltStats: []*api.BoltWindowStats{
					{Window: "600", ExecuteLatency: "0.100"},
					{Window: api.WindowAllTime, ExecuteLatencyP50: "0.090", ExecuteLatencyP99: "1.200"},
				}},
			// No values in the last 10 minutes (or an older nimbus):
			// no percentiles, not the all-time ones.
			count: 80, lat: [3]string{"0.100", "-", "-"},
		},
		{
			name:  "no stats yet",
			o:     monitorOptions{stream: "default", watch: "emitted"},
			resp:  &api.GetComponentResponse{Executors: 1},
			count: 0, lat: [3]string{"-", "-", "-"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.o.sampleOf(tt.resp, at)
			if s.count != tt.count || s.parallelism != tt.resp.GetExecutors() || !s.at.Equal(at) ||
				[3]string{s.latency, s.p50, s.p99} != tt.lat {
				t.Errorf("sampleOf() = %+v, want count %d, latencies %q", s, tt.count, tt.lat)
			}
		})
	}
}
