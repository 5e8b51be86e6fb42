package e2e_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// componentPage is the part of GET /api/v1/topology/{id}/component/{c}
// the observability test reads.
type componentPage struct {
	BoltStats []struct {
		Window            string `json:"window"`
		Executed          int64  `json:"executed"`
		ExecuteLatency    string `json:"executeLatency"`
		ExecuteLatencyP50 string `json:"executeLatencyP50"`
		ExecuteLatencyP99 string `json:"executeLatencyP99"`
	} `json:"boltStats"`
	ExecutorStats []struct {
		ID            string `json:"id"`
		Executed      int64  `json:"executed"`
		WorkerLogLink string `json:"workerLogLink"`
	} `json:"executorStats"`
}

// TestObservability runs the word count on two nodes and reads what it
// tells: Storm's four windows with real figures and percentiles in REST,
// every worker's metrics through its node's /metrics, and the workers'
// logs through the nodes' logviewers with squall logs.
func TestObservability(t *testing.T) {
	needPython(t)
	c := newCluster(t, 2)
	c.squall("submit", "--inactive", "testdata/wordcount")
	id := c.topologyID("e2e-wordcount")
	// Storm's debug action: split's emits are sampled into the workers'
	// event logs, from the start.
	var op struct {
		TopologyOperation string `json:"topologyOperation"`
		Status            string `json:"status"`
	}
	if code := c.rest("POST", "/api/v1/topology/"+id+"/component/split/debug/enable/100", nil, "", &op); code != http.StatusOK || op.TopologyOperation != "debug" {
		t.Fatalf("debug enable: %d %+v", code, op)
	}
	c.squall("activate", "e2e-wordcount")
	c.waitAcked(id, 2000, 90*time.Second)

	var page componentPage
	waitUntil(t, 30*time.Second, "split's stats in the four windows", func() bool {
		page = componentPage{}
		c.rest("GET", "/api/v1/topology/"+id+"/component/split", nil, "", &page)
		if len(page.BoltStats) != 4 || page.BoltStats[0].Window != "600" || page.BoltStats[3].Window != ":all-time" {
			return false
		}
		recent, all := page.BoltStats[0], page.BoltStats[3]
		return recent.Executed > 0 && all.Executed >= recent.Executed && all.ExecuteLatencyP50 != "" && all.ExecuteLatencyP99 != ""
	})
	// Complete latencies go through the Python child: milliseconds, so
	// their percentiles show in Storm's three decimals.
	var spout struct {
		SpoutSummary []struct {
			Window             string `json:"window"`
			Acked              int64  `json:"acked"`
			CompleteLatency    string `json:"completeLatency"`
			CompleteLatencyP50 string `json:"completeLatencyP50"`
			CompleteLatencyP99 string `json:"completeLatencyP99"`
		} `json:"spoutSummary"`
	}
	c.rest("GET", "/api/v1/topology/"+id+"/component/lines", nil, "", &spout)
	if len(spout.SpoutSummary) != 4 {
		t.Fatalf("spout summary = %+v, want 4 windows", spout)
	}
	all := spout.SpoutSummary[3]
	p50, err1 := strconv.ParseFloat(all.CompleteLatencyP50, 64)
	p99, err2 := strconv.ParseFloat(all.CompleteLatencyP99, 64)
	if all.Acked < 2000 || err1 != nil || err2 != nil || p50 <= 0 || p99 < p50 {
		t.Errorf("spout, all time: %+v; want 2000 acked, 0 < p50 <= p99", all)
	}
	var fromExecutors int64
	for _, e := range page.ExecutorStats {
		fromExecutors += e.Executed
		if !strings.Contains(e.WorkerLogLink, "/api/v1/log?file=") {
			t.Errorf("executor %s links no log: %q", e.ID, e.WorkerLogLink)
		}
	}
	if fromExecutors == 0 {
		t.Errorf("split's executors executed nothing: %+v", page.ExecutorStats)
	}

	// Prometheus: one target per node serves its workers' series.
	var sups struct {
		Supervisors []struct {
			ID            string `json:"id"`
			LogviewerPort int    `json:"logviewerPort"`
		} `json:"supervisors"`
	}
	c.rest("GET", "/api/v1/supervisor/summary", nil, "", &sups)
	if len(sups.Supervisors) != 2 {
		t.Fatalf("supervisor summary = %+v, want 2", sups)
	}
	var executed float64
	for _, s := range sups.Supervisors {
		if s.LogviewerPort == 0 {
			t.Fatalf("supervisor %s has no logviewer port", s.ID)
		}
		resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(s.LogviewerPort) + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		parser := expfmt.NewTextParser(model.UTF8Validation)
		families, err := parser.TextToMetricFamilies(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("parse the /metrics of %s: %v", s.ID, err)
		}
		if len(families["squall_supervisor_slots"].GetMetric()) != 1 {
			t.Errorf("%s: no squall_supervisor_slots", s.ID)
		}
		for _, m := range families["squall_executed_total"].GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "component" && l.GetValue() == "split" {
					executed += m.GetCounter().GetValue()
				}
			}
		}
	}
	if executed < 2000 {
		t.Errorf("the nodes' /metrics count %v tuples executed by split, want at least the 2000 lines", executed)
	}

	// squall logs reads both workers' logs, through both nodes.
	out := c.squall("logs", "e2e-wordcount")
	if n := strings.Count(out, `msg="worker starting"`); n != 2 {
		t.Errorf("squall logs shows %d workers starting, want 2:\n%s", n, out)
	}
	// set_log_level reaches the running workers, whose logs say so.
	if out := c.squall("set_log_level", "e2e-wordcount", "-l", "ROOT=DEBUG:60"); !strings.Contains(out, "ROOT=DEBUG for") {
		t.Errorf("set_log_level said %q", out)
	}
	waitUntil(t, 30*time.Second, "both workers at DEBUG", func() bool {
		return strings.Count(c.squall("logs", "e2e-wordcount", "--grep", "log level changed"), `new_level=DEBUG`) == 2
	})
	// The sampled tuples, through the logviewers.
	events := c.squall("logs", "e2e-wordcount", "--events")
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(events), "\n") {
		if strings.HasPrefix(line, "127.0.0.1:") {
			continue // the cut first line of a worker's last page
		}
		if !strings.HasPrefix(line, "split:") || !strings.Contains(line, "msg=event") || !strings.Contains(line, `values="[\"`) {
			t.Errorf("squall logs --events printed a line not of split's events: %q", line)
		}
		n++
	}
	if n < 100 {
		t.Errorf("squall logs --events shows %d events, want the last page of split's words:\n%.2000s", n, events)
	}
	out = c.squall("logs", "e2e-wordcount", "split", "--grep", "split")
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line != "" && !strings.HasPrefix(line, "split:") {
			t.Errorf("squall logs ... split printed a line of another component: %q", line)
		}
	}
}
