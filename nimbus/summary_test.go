package nimbus

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/metrics"
)

// recorded returns an executor's snapshot from a real registry: old is
// recorded 20 minutes before the snapshot, recent just before it, so
// that the 10-minute window holds what recent recorded only.
func recorded(component string, ex cluster.ExecutorID, old, recent func(*metrics.Task)) metrics.Snapshot {
	t0 := time.Now().Add(-20 * time.Minute)
	reg := metrics.NewRegistry(metrics.Config{}, t0)
	task := reg.Task(component, ex.Start)
	old(task)
	at := t0
	for ; at.Before(t0.Add(20 * time.Minute)); at = at.Add(30 * time.Second) {
		reg.Roll(at)
	}
	recent(task)
	return reg.Snapshot(at)[0]
}

// statsTopology submits the words topology over two supervisors and
// writes heartbeats with every executor's snapshot and two errors. Each
// words executor emits 75 tuples (15 in the last 10 minutes), 50 of them
// acked (10), 1 failed (1), with complete latencies of 2 ms (×4) and 3 ms
// (×1, recent); each count executor executes and acks 60 (20), with
// execute latencies of 1 ms (×2) and 3 ms (×2, recent).
func statsTopology(t *testing.T, n *testNimbus, mem *cluster.Memory) (string, cluster.Assignment) {
	t.Helper()
	addSupervisor(t, mem, nil, "a", 6700, 6701, 6702, 6703)
	addSupervisor(t, mem, nil, "b", 6700, 6701, 6702, 6703)
	st := mem.Session()
	t.Cleanup(func() { st.Close() })
	id := submit(t, n, wordsRequest("stats"))
	a := assignment(t, st, id)
	component := func(e cluster.ExecutorID) string {
		for _, c := range []string{"words", "count"} {
			page, err := n.GetComponent(t.Context(), &api.GetComponentRequest{Id: id, Component: c})
			if err != nil {
				t.Fatal(err)
			}
			for _, es := range page.GetExecutorStats() {
				if es.GetId() == fmt.Sprintf("[%d-%d]", e.Start, e.End) {
					return c
				}
			}
		}
		return ""
	}
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	snaps := map[cluster.Slot][]metrics.Snapshot{}
	firstCount := true
	for e, slot := range a.Executors {
		var s metrics.Snapshot
		switch component(e) {
		case "words":
			s = recorded("words", e, func(m *metrics.Task) {
				m.Counter(metrics.Emitted, "default").Add(60)
				m.Counter(metrics.Emitted, "__ack_init").Add(45)
				m.Counter(metrics.Acked, "default").Add(40)
				for range 4 {
					m.Histogram(metrics.CompleteLatency, "default").ObserveDuration(ms(2))
				}
			}, func(m *metrics.Task) {
				m.Counter(metrics.Emitted, "default").Add(15)
				m.Counter(metrics.Acked, "default").Add(10)
				m.Counter(metrics.Failed, "default").Add(1)
				m.Histogram(metrics.CompleteLatency, "default").ObserveDuration(ms(3))
			})
		case "count":
			first := firstCount
			firstCount = false
			s = recorded("count", e, func(m *metrics.Task) {
				m.Counter(metrics.Executed, "words:default").Add(40)
				m.Counter(metrics.Acked, "words:default").Add(40)
				m.Record("words-seen", 2)
				for range 2 {
					m.Histogram(metrics.ExecuteLatency, "words:default").ObserveDuration(ms(1))
					m.Histogram(metrics.ProcessLatency, "words:default").ObserveDuration(ms(0.5))
				}
				if first {
					m.Counter(metrics.Executed, "__system:__tick").Add(7)
					m.Counter(metrics.Executed, "__acker:__ack_ack").Add(1)
				}
			}, func(m *metrics.Task) {
				m.Counter(metrics.Executed, "words:default").Add(20)
				m.Counter(metrics.Acked, "words:default").Add(20)
				m.Record("words-seen", 3)
				m.Record("parse-ms", map[string]any{"type": "histogram", "value": 0.5})
				m.Counter(metrics.Emitted, "default").Add(5)
				for range 2 {
					m.Histogram(metrics.ExecuteLatency, "words:default").ObserveDuration(ms(3))
					m.Histogram(metrics.ProcessLatency, "words:default").ObserveDuration(ms(0.5))
				}
				if first {
					m.Gauge(metrics.ReceiveQueuePopulation, "").Set(7)
					m.Counter(metrics.ChildRestarts, "").Add(4)
					m.Gauge(metrics.ChildCrashLooping, "").Set(1)
					m.Counter(metrics.BackpressureTime, "").Add(int64(1500 * time.Millisecond))
					m.Gauge(metrics.ReceiveQueueOverflow, "").Set(3)
				}
			})
		default:
			continue
		}
		snaps[slot] = append(snaps[slot], s)
	}
	for _, slot := range a.Slots() {
		hb := cluster.WorkerHeartbeat{
			TopologyID: id, NodeID: slot.NodeID, Port: slot.Port, Executors: a.ExecutorsOn(slot),
			Time: time.Now(), UptimeSecs: 65, ExecutorStats: snaps[slot],
		}
		if err := st.PutWorkerHeartbeat(t.Context(), hb); err != nil {
			t.Fatal(err)
		}
	}
	for _, msg := range []string{"first", strings.Repeat("second ", 50)} {
		e := cluster.ErrorInfo{Component: "count", Task: 3, Host: "host-a", Port: 6700, Time: time.Now(), Message: msg}
		if err := st.ReportError(t.Context(), id, e); err != nil {
			t.Fatal(err)
		}
	}
	return id, a
}

func TestTopologyPage(t *testing.T) {
	t.Parallel()
	n, mem := memNimbus(t)
	id, _ := statsTopology(t, n, mem)
	for _, by := range []*api.GetTopologyRequest{{Id: id}, {Name: "stats", Window: "600"}} {
		p, err := n.GetTopology(t.Context(), by)
		if err != nil {
			t.Fatal(err)
		}
		if p.GetId() != id || p.GetName() != "stats" || p.GetStatus() != "ACTIVE" || p.GetWorkersTotal() != 2 ||
			p.GetExecutorsTotal() != 7 || p.GetTasksTotal() != 10 || p.GetReplicationCount() != 1 || p.GetMsgTimeout() != 30 {
			t.Errorf("topology page header = %+v", p)
		}
		recent := by.GetWindow() == "600"
		if want := cmp.Or(by.GetWindow(), api.WindowAllTime); p.GetWindow() != want {
			t.Errorf("window %q, want %q", p.GetWindow(), want)
		}
		var windows []string
		for _, ws := range p.GetTopologyStats() {
			windows = append(windows, ws.GetWindow()+"="+ws.GetWindowPretty())
		}
		if want := []string{"600=10m 0s", "10800=3h 0m 0s", "86400=1d 0h 0m 0s", ":all-time=All time"}; !slices.Equal(windows, want) {
			t.Fatalf("topology stats windows = %q, want %q", windows, want)
		}
		ts := p.GetTopologyStats()[3]
		if ts.GetEmitted() != 165 || ts.GetAcked() != 100 || ts.GetFailed() != 2 || ts.GetCompleteLatency() != "2.200" ||
			ts.GetCompleteLatencyP50() != "2.032" || ts.GetCompleteLatencyP99() != "3.015" {
			t.Errorf("all-time topology stats = %+v, want 165 emitted, 100 acked, 2 failed, 2.200 ms, p50 2.032, p99 3.015", ts)
		}
		ts = p.GetTopologyStats()[0]
		if ts.GetEmitted() != 45 || ts.GetAcked() != 20 || ts.GetFailed() != 2 || ts.GetCompleteLatency() != "3.000" ||
			ts.GetCompleteLatencyP50() != "3.015" || ts.GetCompleteLatencyP99() != "3.015" {
			t.Errorf("10-minute topology stats = %+v, want 45 emitted, 20 acked, 2 failed, 3.000 ms, p50 and p99 of the recent 3 ms", ts)
		}
		if len(p.GetSpouts()) != 1 || len(p.GetBolts()) != 1 {
			t.Fatalf("spouts %v bolts %v, want one of each", p.GetSpouts(), p.GetBolts())
		}
		sp := p.GetSpouts()[0]
		emitted, acked, latency, p50 := int64(150), int64(100), "2.200", "2.032"
		if recent {
			emitted, acked, latency, p50 = 30, 20, "3.000", "3.015"
		}
		if sp.GetSpoutId() != "words" || sp.GetExecutors() != 2 || sp.GetTasks() != 2 || sp.GetEmitted() != emitted ||
			sp.GetAcked() != acked || sp.GetCompleteLatency() != latency || sp.GetCompleteLatencyP50() != p50 ||
			sp.GetLastError() != "" || sp.ErrorPort != nil {
			t.Errorf("spout = %+v; want %d emitted, %d acked, latency %s, p50 %q", sp, emitted, acked, latency, p50)
		}
		b := p.GetBolts()[0]
		executed, latency, p50, p99 := int64(180), "2.000", "1.016", "3.015"
		if recent {
			executed, latency, p50, p99 = 60, "3.000", "3.015", "3.015"
		}
		if b.GetBoltId() != "count" || b.GetExecutors() != 3 || b.GetTasks() != 6 || b.GetExecuted() != executed ||
			b.GetExecuteLatency() != latency || b.GetProcessLatency() != "0.500" || b.GetCapacity() != "0.000" ||
			b.GetExecuteLatencyP50() != p50 || b.GetExecuteLatencyP99() != p99 {
			t.Errorf("bolt = %+v; want %d executed, latency %s, p50 %q, p99 %q", b, executed, latency, p50, p99)
		}
		if !strings.HasPrefix(b.GetLastError(), "second") || len(b.GetLastError()) != api.MaxLastErrorChars ||
			b.GetErrorPort() != 6700 || b.GetErrorHost() != "host-a" || b.ErrorTime == nil {
			t.Errorf("bolt's last error = %q on %s:%d", b.GetLastError(), b.GetErrorHost(), b.GetErrorPort())
		}
		tasks := 0
		for _, w := range p.GetWorkers() {
			for _, k := range w.GetComponentNumTasks() {
				tasks += int(k)
			}
			if w.GetUptimeSeconds() != 65 || w.GetUptime() != "1m 5s" || w.GetTopologyName() != "stats" {
				t.Errorf("worker = %+v", w)
			}
		}
		if len(p.GetWorkers()) != 2 || tasks != 10 {
			t.Errorf("%d workers with %d tasks, want 2 with 10", len(p.GetWorkers()), tasks)
		}
		if p.GetConfiguration().GetFields()["storm.id"].GetStringValue() != id {
			t.Errorf("configuration lacks storm.id: %v", p.GetConfiguration())
		}
	}
	// With system components and streams.
	p, err := n.GetTopology(t.Context(), &api.GetTopologyRequest{Id: id, Sys: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.GetBolts()) != 2 || p.GetBolts()[0].GetBoltId() != "__acker" || p.GetSpouts()[0].GetEmitted() != 240 {
		t.Errorf("with sys: bolts %v, spout emitted %d; want __acker listed, 240 emitted", p.GetBolts(), p.GetSpouts()[0].GetEmitted())
	}
	_, err = n.GetTopology(t.Context(), &api.GetTopologyRequest{Id: id, Window: "ten"})
	wantCode(t, "bad window", err, codes.InvalidArgument)
}

func TestComponentPage(t *testing.T) {
	t.Parallel()
	n, mem := memNimbus(t)
	id, a := statsTopology(t, n, mem)

	sp, err := n.GetComponent(t.Context(), &api.GetComponentRequest{Id: id, Component: "words"})
	if err != nil {
		t.Fatal(err)
	}
	if sp.GetComponentType() != api.ComponentSpout || sp.GetExecutors() != 2 || len(sp.GetSpoutSummary()) != 4 ||
		len(sp.GetBoltStats()) != 0 || len(sp.GetInputStats()) != 0 {
		t.Fatalf("spout page = %+v", sp)
	}
	if s := sp.GetSpoutSummary()[3]; s.GetWindow() != api.WindowAllTime || s.GetEmitted() != 150 || s.GetCompleteLatencyP50() != "2.032" {
		t.Errorf("spout summary, all time = %+v; want 150 emitted, p50 2.032", s)
	}
	if s := sp.GetSpoutSummary()[0]; s.GetWindow() != "600" || s.GetEmitted() != 30 || s.GetCompleteLatency() != "3.000" {
		t.Errorf("spout summary, 10 minutes = %+v; want 30 emitted, 3.000 ms", s)
	}
	if len(sp.GetOutputStats()) != 1 || sp.GetOutputStats()[0].GetStream() != "default" || sp.GetOutputStats()[0].GetAcked() != 100 {
		t.Errorf("spout outputs = %v, want default only", sp.GetOutputStats())
	}
	var emitted int64
	for _, e := range sp.GetExecutorStats() {
		emitted += e.GetEmitted()
		if !strings.HasPrefix(e.GetId(), "[") || e.GetHost() == "" || e.GetPort() == 0 || e.GetCompleteLatencyP50() != "2.032" {
			t.Errorf("executor = %+v", e)
		}
	}
	if len(sp.GetExecutorStats()) != 2 || emitted != 150 {
		t.Errorf("%d executors emitting %d, want 2 emitting 150", len(sp.GetExecutorStats()), emitted)
	}

	b, err := n.GetComponent(t.Context(), &api.GetComponentRequest{Name: "stats", Component: "count"})
	if err != nil {
		t.Fatal(err)
	}
	if b.GetComponentType() != api.ComponentBolt || b.GetTasks() != 6 || len(b.GetBoltStats()) != 4 ||
		b.GetBoltStats()[3].GetExecuted() != 180 || b.GetBoltStats()[0].GetExecuted() != 60 || b.GetBoltStats()[3].GetExecuteLatencyP99() != "3.015" {
		t.Errorf("bolt page = %+v", b)
	}
	if len(b.GetInputStats()) != 1 || b.GetInputStats()[0].GetComponent() != "words" ||
		b.GetInputStats()[0].GetStream() != "default" || b.GetInputStats()[0].GetExecuted() != 180 {
		t.Errorf("bolt inputs = %v, want words:default", b.GetInputStats())
	}
	if um := b.GetUserMetrics(); len(um) != 2 || um[0].GetName() != "parse-ms" || um[1].GetName() != "words-seen" ||
		um[1].GetKind() != "counter" || um[1].GetWindows()[0].GetCount() != 9 || um[1].GetWindows()[3].GetCount() != 15 ||
		um[0].GetKind() != "histogram" || um[0].GetWindows()[3].GetCount() != 3 || um[0].GetWindows()[3].GetMean() != 0.5 ||
		math.Abs(um[0].GetWindows()[3].GetP50()-0.5) > 0.5*0.0625 {
		t.Errorf("user metrics = %v; want words-seen 9 in 10 minutes, 15 in all; parse-ms 3 values of 0.5", um)
	}
	var queued int64
	for _, e := range b.GetExecutorStats() {
		queued += e.GetReceiveQueuePopulation()
	}
	if queued != 7 {
		t.Errorf("executors' receive queues hold %d, want 7: %v", queued, b.GetExecutorStats())
	}
	b10, err := n.GetComponent(t.Context(), &api.GetComponentRequest{Id: id, Component: "count", Window: "600"})
	if err != nil {
		t.Fatal(err)
	}
	if b10.GetWindow() != "600" || b10.GetWindowHint() != "10m 0s" || len(b10.GetInputStats()) != 1 || b10.GetInputStats()[0].GetExecuted() != 60 {
		t.Errorf("bolt page over 10 minutes: window %q, inputs %v; want 60 executed", b10.GetWindow(), b10.GetInputStats())
	}
	// Child restarts are all time whatever the window; one executor's
	// children crash-loop.
	for _, page := range []*api.GetComponentResponse{b, b10} {
		var restarts int64
		var looping int
		for _, e := range page.GetExecutorStats() {
			restarts += e.GetChildRestarts()
			if e.GetCrashLooping() {
				looping++
				if e.GetChildRestarts() != 4 {
					t.Errorf("the crash-looping executor had %d restarts, want 4", e.GetChildRestarts())
				}
			}
			if !strings.HasSuffix(e.GetEventLogLink(), "%2Fevents.log") {
				t.Errorf("executor %s: event log link %q", e.GetId(), e.GetEventLogLink())
			}
		}
		var bp, overflow int64
		for _, e := range page.GetExecutorStats() {
			bp += e.GetBackpressureMs()
			overflow += e.GetReceiveQueueOverflow()
		}
		if bp != 1500 {
			t.Errorf("window %s: backpressure %d ms, want 1500", page.GetWindow(), bp)
		}
		if overflow != 3 {
			t.Errorf("window %s: receive queue overflow %d, want 3", page.GetWindow(), overflow)
		}
		if restarts != 4 || looping != 1 {
			t.Errorf("window %s: %d child restarts, %d executors crash-looping; want 4, 1", page.GetWindow(), restarts, looping)
		}
	}
	if b.GetEventLogLink() == "" || b.GetEventLogLink() != b.GetExecutorStats()[0].GetEventLogLink() {
		t.Errorf("component event log link %q, want its first executor's", b.GetEventLogLink())
	}
	_, err = n.GetComponent(t.Context(), &api.GetComponentRequest{Id: id, Component: "count", Window: "60"})
	wantCode(t, "window of 60 s", err, codes.InvalidArgument)
	if len(b.GetComponentErrors()) != 2 || b.GetComponentErrors()[0].GetError() != "first" || b.GetComponentErrors()[0].GetTask() != 3 {
		t.Errorf("component errors = %v", b.GetComponentErrors())
	}
	bs, err := n.GetComponent(t.Context(), &api.GetComponentRequest{Id: id, Component: "count", Sys: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(bs.GetInputStats()) != 3 {
		t.Errorf("with sys: %d inputs, want 3 (with the tick and ack streams)", len(bs.GetInputStats()))
	}
	ack, err := n.GetComponent(t.Context(), &api.GetComponentRequest{Id: id, Component: "__acker"})
	if err != nil || ack.GetComponentType() != api.ComponentBolt || ack.GetExecutors() != 2 {
		t.Errorf("acker page = %v, %v", ack, err)
	}

	errs, err := n.GetErrors(t.Context(), &api.GetErrorsRequest{Id: id})
	if err != nil || len(errs.GetTopologyErrors()) != 2 || errs.GetTopologyName() != "stats" {
		t.Errorf("GetErrors = %v, %v", errs, err)
	}
	errs, err = n.GetErrors(t.Context(), &api.GetErrorsRequest{Id: id, Component: "words"})
	if err != nil || len(errs.GetTopologyErrors()) != 0 {
		t.Errorf("GetErrors(words) = %v, %v; want none", errs, err)
	}
	_ = a
}

func TestClusterSummaries(t *testing.T) {
	t.Parallel()
	n, mem := memNimbus(t, withConf("nimbus.seeds", []any{"127.0.0.1", "nimbus2.example.com"}))
	id, _ := statsTopology(t, n, mem)
	ctx := t.Context()

	cs, err := n.GetClusterSummary(ctx, &api.GetClusterSummaryRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if cs.GetSupervisors() != 2 || cs.GetTopologies() != 1 || cs.GetSlotsTotal() != 8 || cs.GetSlotsUsed() != 2 ||
		cs.GetSlotsFree() != 6 || cs.GetExecutorsTotal() != 7 || cs.GetTasksTotal() != 10 || cs.GetStormVersion() == "" {
		t.Errorf("cluster summary = %+v", cs)
	}
	ss, err := n.GetSupervisorSummary(ctx, &api.GetSupervisorSummaryRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ss.GetSupervisors()) != 2 || ss.GetSupervisors()[0].GetSlotsUsed() != 1 || ss.GetSupervisors()[0].GetHost() != "host-a" {
		t.Errorf("supervisor summary = %v", ss)
	}
	ns, err := n.GetNimbusSummary(ctx, &api.GetNimbusSummaryRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ns.GetNimbuses()) != 2 || ns.GetNimbuses()[0].GetStatus() != api.NimbusLeader ||
		ns.GetNimbuses()[1].GetStatus() != api.NimbusOffline || ns.GetNimbuses()[1].GetHost() != "nimbus2.example.com" {
		t.Errorf("nimbus summary = %v", ns)
	}
	ts, err := n.ListTopologies(ctx, &api.ListTopologiesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ts.GetTopologies()) != 1 {
		t.Fatalf("topologies = %v", ts)
	}
	if s := ts.GetTopologies()[0]; s.GetId() != id || s.GetStatus() != "ACTIVE" || s.GetWorkersTotal() != 2 ||
		s.GetExecutorsTotal() != 7 || s.GetTasksTotal() != 10 || s.GetReplicationCount() != 1 || s.GetSchedulerInfo() != "" {
		t.Errorf("topology summary = %+v", s)
	}
	conf, err := n.GetClusterConfiguration(ctx, &api.GetClusterConfigurationRequest{})
	if err != nil || conf.GetConfiguration().GetFields()["nimbus.monitor.freq.secs"].GetNumberValue() != 10 {
		t.Errorf("cluster configuration = %v, %v", conf, err)
	}
}

func TestREST(t *testing.T) {
	t.Parallel()
	n, mem := memNimbus(t, withHTTP())
	addSupervisor(t, mem, nil, "a", 6700, 6701)
	base := "http://" + n.HTTPAddr()
	get := func(path string, want int) map[string]any {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		return decodeJSON(t, resp, want)
	}

	// Submit as a form, as curl -F does.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("topology", "topology.yaml")
	io.WriteString(fw, strings.Replace(wordsYAML, "%s", "rest", 1))
	mw.WriteField("config", "topology.workers=1")
	mw.Close()
	resp, err := http.Post(base+api.SubmitPath, mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	sub := decodeJSON(t, resp, http.StatusOK)
	id, _ := sub["topologyId"].(string)
	if !strings.HasPrefix(id, "rest-") || sub["status"] != "success" {
		t.Fatalf("submit answered %v", sub)
	}

	if cs := get("/api/v1/cluster/summary", http.StatusOK); cs["supervisors"] != 1.0 || cs["topologies"] != 1.0 {
		t.Errorf("cluster summary = %v", cs)
	}
	ts := get("/api/v1/topology/summary", http.StatusOK)
	if list, _ := ts["topologies"].([]any); len(list) != 1 || list[0].(map[string]any)["id"] != id || list[0].(map[string]any)["workersTotal"] != 1.0 {
		t.Errorf("topology summary = %v", ts)
	}
	if p := get("/api/v1/topology/"+id+"?sys=1", http.StatusOK); p["name"] != "rest" {
		t.Errorf("topology page = %v", p)
	}
	if c := get("/api/v1/topology/"+id+"/component/count", http.StatusOK); c["componentType"] != "bolt" {
		t.Errorf("component page = %v", c)
	}
	if e := get("/api/v1/topology/nope-1-1", http.StatusNotFound); !strings.Contains(e["errorMessage"].(string), "nope-1-1") {
		t.Errorf("unknown topology answered %v", e)
	}

	resp, err = http.Post(base+"/api/v1/topology/"+id+"/deactivate", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	if op := decodeJSON(t, resp, http.StatusOK); op["topologyOperation"] != "deactivate" || op["topologyId"] != id || op["status"] != "success" {
		t.Errorf("deactivate answered %v", op)
	}
	resp, err = http.Post(base+"/api/v1/topology/"+id+"/kill/0", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	decodeJSON(t, resp, http.StatusOK)
	resp, err = http.Post(base+"/api/v1/topology/"+id+"/activate", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	// Killed: 409, or 404 once removed.
	if resp.StatusCode != http.StatusConflict && resp.StatusCode != http.StatusNotFound {
		t.Errorf("activate of a killed topology: status %d", resp.StatusCode)
	}
	resp.Body.Close()
}

func decodeJSON(t *testing.T, resp *http.Response, want int) map[string]any {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != want {
		t.Errorf("%s %s: status %d, want %d: %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, want, b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v: %s", resp.Request.URL.Path, err, b)
	}
	return m
}
