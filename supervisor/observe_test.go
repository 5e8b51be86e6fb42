package supervisor

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/squallstream/squall/logviewer"
)

// TestLogViewer: a supervisor with a logviewer publishes its address in
// its registration and serves the node's logs and /metrics there.
func TestLogViewer(t *testing.T) {
	h := newHarness(t)
	ts := h.startSupervisor(t.TempDir(), []int{6700, 6701}, func(c *Config) {
		lv := logviewer.DefaultConfig()
		lv.Addr = "127.0.0.1:0"
		c.LogViewer = &lv
	})
	addr := ts.LogViewerAddr()
	if addr == "" {
		t.Fatal("no logviewer address")
	}
	waitFor(t, "the registration with the logviewer's address", func() bool {
		info, err := h.admin.GetSupervisor(t.Context(), ts.NodeID())
		return err == nil && info.Address == addr
	})
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	if m := families["squall_supervisor_slots"].GetMetric(); len(m) != 1 || m[0].GetGauge().GetValue() != 2 {
		t.Errorf("squall_supervisor_slots = %v, want 2", m)
	}
	resp, err = http.Get("http://" + addr + "/api/v1/listLogs")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var logs []string
	if err := json.NewDecoder(resp.Body).Decode(&logs); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("listLogs: %d, %v", resp.StatusCode, err)
	}
}
