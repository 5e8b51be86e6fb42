package nimbus

import (
	"net/http"
	"testing"

	"github.com/prometheus/common/expfmt"
	promodel "github.com/prometheus/common/model"
)

// TestMetricsEndpoint: nimbus serves its health metrics, parsed as
// Prometheus parses them, beside the REST API.
func TestMetricsEndpoint(t *testing.T) {
	t.Parallel()
	n, mem := memNimbus(t, withHTTP())
	addSupervisor(t, mem, nil, "a", 6700, 6701)
	submit(t, n, wordsRequest("observed"))
	resp, err := http.Get("http://" + n.HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(promodel.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	for name, want := range map[string]float64{
		"squall_nimbus_leader": 1, "squall_nimbus_topologies": 1, "squall_nimbus_supervisors": 1, "squall_zookeeper_connected": 1,
	} {
		m := families[name].GetMetric()
		if len(m) != 1 || m[0].GetGauge().GetValue() != want {
			t.Errorf("%s = %v, want %v", name, m, want)
		}
	}
	// The REST API is still there.
	if r, err := http.Get("http://" + n.HTTPAddr() + "/api/v1/cluster/summary"); err != nil || r.StatusCode != http.StatusOK {
		t.Errorf("REST beside /metrics: %v, %v", r, err)
	} else {
		r.Body.Close()
	}
}

// TestMetricsNeedCredentials: /metrics is outside /api/, where the web
// UI's files are served without credentials; it is not one of them.
func TestMetricsNeedCredentials(t *testing.T) {
	t.Parallel()
	ts := makeTokens(t, "alice")
	n, _ := memNimbus(t, withHTTP(), withTokens(ts))
	tests := []struct {
		method, path, who string
		want              int
	}{
		{http.MethodGet, "/metrics", "", http.StatusUnauthorized},
		{http.MethodHead, "/metrics", "", http.StatusUnauthorized},
		{http.MethodGet, "/metrics", "alice", http.StatusOK},
		{http.MethodPost, "/metrics", "alice", http.StatusMethodNotAllowed},
		{http.MethodGet, "/", "", http.StatusOK}, // the UI's page, which asks for a token
	}
	for _, tt := range tests {
		r, err := http.NewRequestWithContext(t.Context(), tt.method, "http://"+n.HTTPAddr()+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if tt.who != "" {
			r.Header.Set("Authorization", "Bearer "+ts.tokens[tt.who])
		}
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tt.want {
			t.Errorf("%s %s as %q = %d, want %d", tt.method, tt.path, tt.who, res.StatusCode, tt.want)
		}
	}
}
