package nimbus

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestStormUIRoutes checks the routes of Storm's UI REST API that scripts
// written for Storm use, with Storm's field names, over REST.
func TestStormUIRoutes(t *testing.T) {
	t.Parallel()
	n, mem := memNimbus(t, withHTTP(), withConf("logviewer.port", 8123))
	id, a := statsTopology(t, n, mem)
	onA := 0
	for _, s := range a.Slots() {
		if s.NodeID == "a" {
			onA++
		}
	}
	base := "http://" + n.HTTPAddr()
	tests := []struct {
		path   string
		status int
		check  func(t *testing.T, body map[string]any)
	}{
		{"/api/v1/topology-workers/" + id, http.StatusOK, func(t *testing.T, b map[string]any) {
			hp := list(b["hostPortList"])
			if len(hp) != 2 || b["logviewerPort"] != 8123.0 || b["logviewerScheme"] != "http" {
				t.Errorf("topology-workers = %v", b)
			}
			for _, x := range hp {
				if h := obj(x)["host"]; h != "host-a" && h != "host-b" {
					t.Errorf("worker host %v", h)
				}
			}
		}},
		{"/api/v1/topology-workers/nope-1-1", http.StatusNotFound, nil},
		{"/api/v1/topology/" + id + "/visualization", http.StatusOK, func(t *testing.T, b map[string]any) {
			if len(b) != 2 {
				t.Errorf("visualization has %d components, want words and count: %v", len(b), b)
			}
			count, words := obj(b["count"]), obj(b["words"])
			in := list(count[":inputs"])
			// Capacity: the largest executor's 20 executions of 3 ms in the
			// last 10 minutes (statsTopology), over those 600 s.
			if count[":type"] != "bolt" || count[":capacity"] != 0.0001 || count[":latency"] != "0.500" || len(in) != 1 || len(list(count[":stats"])) != 3 {
				t.Errorf("count = %v", count)
			}
			if len(in) == 1 && (obj(in[0])[":component"] != "words" || obj(in[0])[":stream"] != "default" || obj(in[0])[":grouping"] != "fields") {
				t.Errorf("count's input = %v", in[0])
			}
			if words[":type"] != "spout" || words[":latency"] != "2.200" || len(list(words[":inputs"])) != 0 ||
				words[":link"] != "/component.html?id=words&topology_id="+id {
				t.Errorf("words = %v", words)
			}
		}},
		{"/api/v1/topology/" + id + "/visualization?sys=1", http.StatusOK, func(t *testing.T, b map[string]any) {
			if _, ok := b["__acker"]; !ok {
				t.Errorf("with sys the visualization lacks __acker: %v", b)
			}
			var streams []string
			for _, in := range list(obj(b["count"])[":inputs"]) {
				streams = append(streams, obj(in)[":stream"].(string))
			}
			if !slices.Contains(streams, "__tick") {
				t.Errorf("with sys count's inputs are %v, want __tick among them", streams)
			}
		}},
		{"/api/v1/topology/" + id + "/visualization-init", http.StatusOK, func(t *testing.T, b map[string]any) {
			rows := list(b["visualizationTable"])
			if len(rows) != 1 || len(list(rows[0])) != 1 || obj(list(rows[0])[0])["stream"] != "default" || obj(list(rows[0])[0])["checked"] != true {
				t.Errorf("visualization-init = %v", b)
			}
		}},
		{"/api/v1/topology/" + id + "/metrics", http.StatusOK, func(t *testing.T, b map[string]any) {
			if b["window"] != ":all-time" || b["window-hint"] != "All time" {
				t.Errorf("metrics window %v %v", b["window"], b["window-hint"])
			}
			spouts, bolts := list(b["spouts"]), list(b["bolts"])
			if len(spouts) != 1 || len(bolts) != 1 {
				t.Fatalf("metrics = %v", b)
			}
			sp, bo := obj(spouts[0]), obj(bolts[0])
			if sp["id"] != "words" || !hasStream(sp["emitted"], "", "default", 150.0) || !hasStream(sp["acked"], "", "default", 100.0) ||
				len(list(sp["complete_ms_avg"])) != 1 || obj(list(sp["complete_ms_avg"])[0])["value"] != "2.200" {
				t.Errorf("spout metrics = %v", sp)
			}
			if bo["id"] != "count" || !hasStream(bo["executed"], "words", "default", 180.0) || !hasStream(bo["acked"], "words", "default", 180.0) ||
				len(list(bo["executed_ms_avg"])) != 1 || obj(list(bo["executed_ms_avg"])[0])["value"] != "2.000" {
				t.Errorf("bolt metrics = %v", bo)
			}
		}},
		{"/api/v1/topology/" + id + "/metrics?window=600", http.StatusOK, func(t *testing.T, b map[string]any) {
			bolts := list(b["bolts"])
			if b["window"] != "600" || b["window-hint"] != "10m 0s" || len(bolts) != 1 || !hasStream(obj(bolts[0])["executed"], "words", "default", 60.0) {
				t.Errorf("10-minute metrics = %v, want count's 60 recent executions", b)
			}
		}},
		{"/api/v1/topology/nope-1-1/metrics", http.StatusNotFound, nil},
		{"/api/v1/topology/" + id + "/metrics?window=soon", http.StatusBadRequest, nil},
		{"/api/v1/supervisor?id=a", http.StatusOK, func(t *testing.T, b map[string]any) {
			sups, workers := list(b["supervisors"]), list(b["workers"])
			if len(sups) != 1 || obj(sups[0])["id"] != "a" || len(workers) != onA {
				t.Errorf("supervisor a = %v, want %d workers", b, onA)
			}
			for _, w := range workers {
				w := obj(w)
				link, _ := w["workerLogLink"].(string)
				if w["supervisorId"] != "a" || w["topologyId"] != id ||
					!strings.HasPrefix(link, "http://host-a:8123/api/v1/log?file="+id+"%2F") {
					t.Errorf("worker on a = %v", w)
				}
			}
		}},
		{"/api/v1/supervisor?host=host-b", http.StatusOK, func(t *testing.T, b map[string]any) {
			if sups := list(b["supervisors"]); len(sups) != 1 || obj(sups[0])["id"] != "b" || len(list(b["workers"])) != 2-onA {
				t.Errorf("supervisors of host-b = %v", b)
			}
		}},
		{"/api/v1/supervisor?id=nope", http.StatusNotFound, nil},
		{"/api/v1/supervisor?host=nowhere", http.StatusNotFound, nil},
		{"/api/v1/supervisor", http.StatusBadRequest, nil},
		{"/api/v1/history/summary", http.StatusOK, func(t *testing.T, b map[string]any) {
			if h := list(b["topo-history"]); len(h) != 1 || h[0] != id {
				t.Errorf("history = %v", b)
			}
		}},
		{"/api/v1/owner-resources", http.StatusOK, func(t *testing.T, b map[string]any) {
			owners := list(b["owners"])
			if len(owners) != 1 {
				t.Fatalf("owner-resources = %v", b)
			}
			o := obj(owners[0])
			if o["owner"] != "" || o["totalTopologies"] != 1.0 || o["totalWorkers"] != 2.0 || o["totalExecutors"] != 7.0 ||
				o["totalTasks"] != 10.0 || o["memoryGuarantee"] != "N/A" || o["totalMemoryUsage"] != 0.0 {
				t.Errorf("owner = %v", o)
			}
		}},
		{"/api/v1/owner-resources/nobody", http.StatusNotFound, nil},
		{"/api/v1/cluster/summary", http.StatusOK, func(t *testing.T, b map[string]any) {
			if vi := obj(b["stormVersionInfo"]); vi["version"] == "" || vi["version"] == nil || !strings.HasPrefix(vi["goVersion"].(string), "go") {
				t.Errorf("stormVersionInfo = %v", b["stormVersionInfo"])
			}
		}},
		{"/api/v1/topology/" + id, http.StatusOK, func(t *testing.T, b map[string]any) {
			for _, w := range list(b["workers"]) {
				if link, _ := obj(w)["workerLogLink"].(string); !strings.Contains(link, ":8123/api/v1/log?file="+id+"%2F") {
					t.Errorf("workerLogLink %q", link)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, err := http.Get(base + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			data, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("GET %s: status %d, want %d: %s", tt.path, resp.StatusCode, tt.status, data)
			}
			var body map[string]any
			if err := json.Unmarshal(data, &body); err != nil {
				t.Fatalf("GET %s: %v: %s", tt.path, err, data)
			}
			if tt.status != http.StatusOK {
				if body["errorMessage"] == nil {
					t.Errorf("GET %s: error without Storm's errorMessage: %s", tt.path, data)
				}
				return
			}
			tt.check(t, body)
		})
	}
}

func obj(v any) map[string]any { m, _ := v.(map[string]any); return m }
func list(v any) []any         { l, _ := v.([]any); return l }

// hasStream reports whether a metrics list holds the stream's value (and
// component's, for a bolt's inputs).
func hasStream(v any, component, stream string, value float64) bool {
	for _, x := range list(v) {
		x := obj(x)
		if x["stream_id"] == stream && x["value"] == value && (component == "" || x["component_id"] == component) {
			return true
		}
	}
	return false
}
