package api

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// Responses like the samples of Storm's STORM-UI-REST-API.md, as squall
// fills them.
func sampleResponses(t *testing.T) map[string]proto.Message {
	t.Helper()
	const id = "WordCount3-1-1402960825"
	conf := mustStruct(t, map[string]any{
		"storm.id":                      id,
		"topology.workers":              3,
		"topology.message.timeout.secs": 30,
		"topology.tick.tuple.freq.secs": nil,
		"topology.debug":                false,
		"nimbus.seeds":                  []any{"nimbus1.example.com"},
		"storm.zookeeper.root":          "/squall",
	})
	return map[string]proto.Message{
		"GetClusterSummary": &GetClusterSummaryResponse{
			StormVersion: "0.3.0", Supervisors: 1, Topologies: 1,
			SlotsTotal: 4, SlotsUsed: 3, SlotsFree: 1, ExecutorsTotal: 28, TasksTotal: 28,
			MemAssignedPercentUtil: "0.0", CpuAssignedPercentUtil: "0.0",
			StormVersionInfo: &VersionInfo{Version: "0.3.0", Revision: "4cda0cd0e1f2", GoVersion: "go1.26.8"},
		},
		"GetClusterConfiguration": &GetClusterConfigurationResponse{Configuration: conf},
		"GetNimbusSummary": &GetNimbusSummaryResponse{Nimbuses: []*NimbusSummary{
			{Host: "192.168.202.1", Port: 6627, Status: NimbusLeader, Version: "0.3.0",
				NimbusUpTimeSeconds: 213, NimbusUpTime: FormatUptimeSecs(213)},
			{Host: "192.168.202.2", Port: 6627, Status: NimbusNotLeader, Version: "0.3.0",
				NimbusUpTimeSeconds: 90061, NimbusUpTime: FormatUptimeSecs(90061)},
		}},
		"GetSupervisorSummary": &GetSupervisorSummaryResponse{Supervisors: []*SupervisorSummary{{
			Id: "0b879808-2a26-442b-8f7d-23101e0c3696", Host: "10.11.1.7",
			Uptime: FormatUptimeSecs(358), UptimeSeconds: 358,
			SlotsTotal: 4, SlotsUsed: 3, SlotsFree: 1, Version: "0.3.0",
		}}},
		"ListTopologies": &ListTopologiesResponse{Topologies: []*TopologySummary{{
			Id: id, EncodedId: EncodeID(id), Name: "WordCount3", Status: "ACTIVE",
			Uptime: FormatUptimeSecs(365), UptimeSeconds: 365,
			TasksTotal: 28, WorkersTotal: 3, ExecutorsTotal: 28, ReplicationCount: 1, StormVersion: "0.3.0",
		}}},
		"GetTopology": &GetTopologyResponse{
			Id: id, EncodedId: EncodeID(id), Name: "WordCount3", Status: "ACTIVE",
			Uptime: FormatUptimeSecs(1759), UptimeSeconds: 1759,
			TasksTotal: 28, WorkersTotal: 3, ExecutorsTotal: 28,
			TopologyStats: []*TopologyWindowStats{{
				WindowPretty: WindowHint(WindowAllTime), Window: WindowAllTime,
				Emitted: 1190260, Transferred: 638260, CompleteLatency: FormatStat(1.5), Acked: 638280,
			}},
			Workers: []*WorkerSummary{{
				SupervisorId: "9124ca9a-42e8-481e-9bf3-a041d9595430", Host: "my-host", Port: 6702,
				TopologyId: id, TopologyName: "WordCount3", ExecutorsTotal: 15,
				ComponentNumTasks: map[string]int32{"spout": 2, "split": 10, "count": 3},
				Uptime:            FormatUptimeSecs(1646), UptimeSeconds: 1646,
			}},
			Spouts: []*SpoutSummary{{
				SpoutId: "spout", EncodedSpoutId: "spout", Executors: 5, Tasks: 5,
				Emitted: 28880, Transferred: 28880, CompleteLatency: FormatStat(0),
			}},
			Bolts: []*BoltSummary{
				{
					BoltId: "count", EncodedBoltId: "count", Executors: 12, Tasks: 12,
					Emitted: 184580, Acked: 184640, Executed: 184620,
					Capacity: FormatStat(0.003), ExecuteLatency: FormatStat(0.048), ProcessLatency: FormatStat(0.043),
				},
				{
					BoltId: "split", EncodedBoltId: "split", Executors: 8, Tasks: 8,
					Emitted: 184500, Transferred: 184500, Acked: 28820, Executed: 28780,
					Capacity: FormatStat(0), ExecuteLatency: FormatStat(0.024), ProcessLatency: FormatStat(2.112),
					LastError: "Traceback (most recent call last): ValueError: bad sentence",
					ErrorHost: "192.168.0.129", ErrorPort: proto.Int32(6701),
					ErrorTime: proto.Int64(1597626060), ErrorLapsedSecs: proto.Int64(65),
				},
			},
			Configuration: conf, ReplicationCount: 1, StormVersion: "0.3.0",
			Window: WindowAllTime, WindowHint: WindowHint(WindowAllTime), MsgTimeout: 30,
		},
		"GetComponent": &GetComponentResponse{
			Id: "spout", EncodedId: "spout", Name: "WordCount3", Executors: 5, Tasks: 5,
			TopologyId: id, TopologyStatus: "ACTIVE", EncodedTopologyId: EncodeID(id),
			Window: "600", ComponentType: ComponentSpout, WindowHint: WindowHint("600"),
			SpoutSummary: []*SpoutWindowStats{{
				Window: "600", WindowPretty: WindowHint("600"), Emitted: 28500, Transferred: 28460, CompleteLatency: FormatStat(0),
			}},
			OutputStats: []*OutputStats{{Stream: "default", Emitted: 28460, Transferred: 28460, CompleteLatency: FormatStat(0)}},
			ExecutorStats: []*ExecutorStats{{
				Id: "[24-24]", EncodedId: EncodeID("[24-24]"), Uptime: FormatUptimeSecs(2584), UptimeSeconds: 2584,
				Host: "10.11.1.7", Port: 6701, Emitted: 5720, Transferred: 5720, CompleteLatency: FormatStat(0),
			}},
			ComponentErrors: []*ComponentError{{
				ErrorTime: 1406006074, ErrorHost: "10.11.1.70", ErrorPort: 6701, ErrorLapsedSecs: 16,
				Error: "Traceback (most recent call last):\n  File \"spout.py\", line 3\nValueError: x", Component: "spout", Task: 24,
			}},
		},
		"GetErrors": &GetErrorsResponse{TopologyId: id, TopologyName: "WordCount3", TopologyErrors: []*ComponentError{{
			ErrorTime: 1406006074, ErrorHost: "10.11.1.70", ErrorPort: 6701, ErrorLapsedSecs: 16,
			Error: "ValueError: x", Component: "spout", Task: 24,
		}}},
	}
}

// TestGatewayGolden checks each GET response, as the gateway writes it,
// against a golden file.
func TestGatewayGolden(t *testing.T) {
	env := newTestEnv(t, viaClient, DefaultGatewayConfig())
	for method, resp := range sampleResponses(t) {
		env.fake.setResp(method, resp)
	}
	tests := []struct{ path, golden string }{
		{"/api/v1/cluster/summary", "cluster_summary.json"},
		{"/api/v1/cluster/configuration", "cluster_configuration.json"},
		{"/api/v1/nimbus/summary", "nimbus_summary.json"},
		{"/api/v1/supervisor/summary", "supervisor_summary.json"},
		{"/api/v1/topology/summary", "topology_summary.json"},
		{"/api/v1/topology/WordCount3-1-1402960825", "topology.json"},
		{"/api/v1/topology/WordCount3-1-1402960825/component/spout?window=600", "component_spout.json"},
		{"/api/v1/topology/WordCount3-1-1402960825/errors", "errors.json"},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			resp := env.get(t, tt.path)
			if resp.status != 200 {
				t.Fatalf("status %d: %s", resp.status, resp.body)
			}
			if ct := resp.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			checkGolden(t, tt.golden, resp.body)
		})
	}
	t.Run("error.json", func(t *testing.T) {
		env.fake.setErr(status.Error(codes.NotFound, `topology "nope-1-2" not found`))
		t.Cleanup(func() { env.fake.setErr(nil) })
		checkGolden(t, "error.json", env.get(t, "/api/v1/topology/nope-1-2").body)
	})
}

// stormKeys lists, per route, keys of Storm's UI REST API responses (from
// Storm's STORM-UI-REST-API.md and its UIHelpers), by JSON path: "" is the
// top-level object, "spouts" the first element of spouts.
var stormKeys = map[string]map[string][]string{
	"/api/v1/cluster/summary": {"": {"user", "stormVersion", "supervisors", "topologies", "slotsTotal", "slotsUsed",
		"slotsFree", "executorsTotal", "tasksTotal", "schedulerDisplayResource", "totalMem", "totalCpu", "availMem",
		"availCpu", "memAssignedPercentUtil", "cpuAssignedPercentUtil"}},
	"/api/v1/nimbus/summary": {"nimbuses": {"host", "port", "status", "version", "nimbusUpTime",
		"nimbusUpTimeSeconds", "nimbusLogLink"}},
	"/api/v1/supervisor/summary": {
		"":            {"supervisors", "schedulerDisplayResource"},
		"supervisors": {"id", "host", "uptime", "uptimeSeconds", "slotsTotal", "slotsUsed", "slotsFree", "totalMem", "totalCpu", "usedMem", "usedCpu", "availMem", "availCpu", "version", "blacklisted", "logLink"},
	},
	"/api/v1/topology/summary": {
		"": {"topologies", "schedulerDisplayResource"},
		"topologies": {"id", "encodedId", "owner", "name", "status", "uptime", "uptimeSeconds", "tasksTotal",
			"workersTotal", "executorsTotal", "replicationCount", "schedulerInfo", "requestedMemOnHeap",
			"requestedMemOffHeap", "requestedTotalMem", "requestedCpu", "assignedMemOnHeap", "assignedMemOffHeap",
			"assignedTotalMem", "assignedCpu", "topologyVersion", "stormVersion"},
	},
	"/api/v1/topology/x": {
		"": {"id", "encodedId", "owner", "name", "status", "uptime", "uptimeSeconds", "tasksTotal", "workersTotal",
			"executorsTotal", "schedulerInfo", "msgTimeout", "window", "windowHint", "schedulerDisplayResource",
			"replicationCount", "debug", "samplingPct", "assignedMemOnHeap", "assignedMemOffHeap", "assignedTotalMem",
			"assignedCpu", "requestedMemOnHeap", "requestedMemOffHeap", "requestedCpu", "requestedTotalMem",
			"topologyStats", "workers", "spouts", "bolts", "configuration", "user", "topologyVersion", "stormVersion"},
		"topologyStats": {"windowPretty", "window", "emitted", "transferred", "completeLatency", "acked", "failed"},
		"workers": {"supervisorId", "host", "port", "topologyId", "topologyName", "executorsTotal", "assignedMemOnHeap",
			"assignedMemOffHeap", "assignedCpu", "componentNumTasks", "uptime", "uptimeSeconds", "workerLogLink", "owner"},
		"spouts": {"spoutId", "encodedSpoutId", "executors", "emitted", "completeLatency", "transferred", "tasks",
			"lastError", "errorHost", "errorPort", "errorTime", "errorLapsedSecs", "errorWorkerLogLink", "acked", "failed",
			"requestedMemOnHeap", "requestedMemOffHeap", "requestedCpu"},
		"bolts": {"boltId", "encodedBoltId", "capacity", "processLatency", "executeLatency", "executors", "tasks",
			"acked", "failed", "lastError", "errorHost", "errorPort", "errorTime", "errorLapsedSecs", "errorWorkerLogLink",
			"emitted", "transferred", "executed", "requestedMemOnHeap", "requestedMemOffHeap", "requestedCpu"},
	},
	"/api/v1/topology/x/component/c": {
		"": {"user", "id", "encodedId", "name", "executors", "tasks", "requestedMemOnHeap", "requestedMemOffHeap",
			"requestedCpu", "schedulerDisplayResource", "topologyId", "topologyStatus", "encodedTopologyId", "window",
			"componentType", "windowHint", "debug", "samplingPct", "profilingAndDebuggingCapable", "profileActionEnabled",
			"profilerActive", "componentErrors", "spoutSummary", "boltStats", "inputStats", "outputStats", "executorStats"},
		"componentErrors": {"errorTime", "errorHost", "errorPort", "error", "errorLapsedSecs", "errorWorkerLogLink"},
		"spoutSummary":    {"windowPretty", "window", "emitted", "completeLatency", "transferred", "acked", "failed"},
		"boltStats":       {"windowPretty", "window", "transferred", "processLatency", "acked", "failed"},
		"inputStats":      {"component", "encodedComponentId", "executeLatency", "processLatency", "executed", "acked", "failed", "stream"},
		"outputStats":     {"transferred", "emitted", "stream"},
		"executorStats":   {"id", "encodedId", "uptime", "uptimeSeconds", "host", "port", "emitted", "transferred", "acked", "failed", "workerLogLink"},
	},
	"/api/v1/topology/x/kill/0": {"": {"topologyOperation", "topologyId", "status"}},
}

// TestGatewayStormNames checks that responses full of zero values still
// carry every Storm key, under Storm's name.
func TestGatewayStormNames(t *testing.T) {
	env := newTestEnv(t, viaClient, DefaultGatewayConfig())
	// Zero values everywhere, with one zero element in each list so the
	// keys of list elements show.
	env.fake.setResp("GetNimbusSummary", &GetNimbusSummaryResponse{Nimbuses: []*NimbusSummary{{}}})
	env.fake.setResp("GetSupervisorSummary", &GetSupervisorSummaryResponse{Supervisors: []*SupervisorSummary{{}}})
	env.fake.setResp("ListTopologies", &ListTopologiesResponse{Topologies: []*TopologySummary{{}}})
	env.fake.setResp("GetTopology", &GetTopologyResponse{
		TopologyStats: []*TopologyWindowStats{{}}, Workers: []*WorkerSummary{{}},
		Spouts: []*SpoutSummary{{}}, Bolts: []*BoltSummary{{}},
	})
	env.fake.setResp("GetComponent", &GetComponentResponse{
		ComponentErrors: []*ComponentError{{}}, SpoutSummary: []*SpoutWindowStats{{}}, BoltStats: []*BoltWindowStats{{}},
		InputStats: []*InputStats{{}}, OutputStats: []*OutputStats{{}}, ExecutorStats: []*ExecutorStats{{}},
	})
	env.fake.setResp("KillTopology", &TopologyOperationResponse{})
	for route, byPath := range stormKeys {
		t.Run(route, func(t *testing.T) {
			method := "GET"
			if strings.Contains(route, "/kill/") {
				method = "POST"
			}
			resp := env.do(t, method, route, "", nil)
			if resp.status != 200 {
				t.Fatalf("status %d: %s", resp.status, resp.body)
			}
			var top map[string]any
			if err := json.Unmarshal(resp.body, &top); err != nil {
				t.Fatal(err)
			}
			for path, keys := range byPath {
				obj := top
				if path != "" {
					list, ok := top[path].([]any)
					if !ok || len(list) == 0 {
						t.Fatalf("%s: %s is not a non-empty list: %v", route, path, top[path])
					}
					obj = list[0].(map[string]any)
				}
				for _, k := range keys {
					if _, ok := obj[k]; !ok {
						t.Errorf("%s: %s has no key %q; keys: %v", route, path, k, sortedKeys(obj))
					}
				}
			}
		})
	}
	t.Run("zero topology golden", func(t *testing.T) {
		checkGolden(t, "topology_zero.json", env.get(t, "/api/v1/topology/x").body)
	})
}

func sortedKeys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func TestMarshalJSON(t *testing.T) {
	tests := []struct {
		name string
		msg  proto.Message
		want string
	}{
		{"zero values all present", &TopologyOperationResponse{},
			`{"topologyOperation":"","topologyId":"","status":""}`},
		{"int64 as numbers", &TopologyWindowStats{Emitted: math.MaxInt64, Acked: math.MinInt64},
			`{"windowPretty":"","window":"","emitted":9223372036854775807,"transferred":0,"completeLatency":"","acked":-9223372036854775808,"failed":0,"completeLatencyP50":"","completeLatencyP99":""}`},
		{"optional unset is null, set is the value", &SpoutSummary{ErrorPort: proto.Int32(0), ErrorTime: nil},
			`"errorPort":0,"errorWorkerLogLink":"","errorTime":null,`},
		{"doubles", &GetClusterSummaryResponse{TotalMem: 4096, TotalCpu: 0.25, AvailMem: 1e21, AvailCpu: 1e-7},
			`"totalMem":4096,"totalCpu":0.25,"availMem":1e+21,"availCpu":1e-7,`},
		{"NaN and infinities", &GetClusterSummaryResponse{TotalMem: math.NaN(), TotalCpu: math.Inf(1), AvailMem: math.Inf(-1)},
			`"totalMem":"NaN","totalCpu":"Infinity","availMem":"-Infinity",`},
		{"string escapes", &NimbusSummary{Host: "a\"b\\c\n\t\x01<>&\u2028é\xff"},
			`{"host":"a\"b\\c\n\t\u0001<>&\u2028é\ufffd",`},
		{"maps sorted, empty map is {}", &WorkerSummary{ComponentNumTasks: map[string]int32{"b": 2, "a": 1, "c": 0}},
			`"componentNumTasks":{"a":1,"b":2,"c":0},`},
		{"empty map", &WorkerSummary{}, `"componentNumTasks":{},`},
		{"empty list is []", &ListTopologiesResponse{}, `{"topologies":[],"schedulerDisplayResource":false}`},
		{"bytes base64", &PackageChunk{Part: PackagePart_PACKAGE_PART_GO_BINARY, Data: []byte{0, 1, 0xfe, 0xff}},
			`{"part":"PACKAGE_PART_GO_BINARY","data":"AAH+/w=="}`},
		{"unset message is null", &GetClusterConfigurationResponse{}, `{"configuration":null}`},
		{"struct compact", &GetClusterConfigurationResponse{Configuration: mustStruct(t, map[string]any{"b": []any{1, "x"}, "a": nil})},
			`{"configuration":{"a":null,"b":[1,"x"]}}`},
		{"unset oneof absent", &DownloadPackageResponse{}, `{}`},
		{"set oneof present", &DownloadPackageResponse{Content: &DownloadPackageResponse_Chunk{Chunk: &PackageChunk{}}},
			`{"chunk":{"part":"PACKAGE_PART_UNSPECIFIED","data":""}}`},
		{"unknown enum number", &PackageChunk{Part: 7}, `{"part":7,"data":""}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := marshalJSON(tt.msg)
			if err != nil {
				t.Fatalf("marshalJSON(%v): %v", tt.msg, err)
			}
			if !strings.Contains(string(got), tt.want) {
				t.Errorf("marshalJSON(%v) = %s, want it to contain %s", tt.msg, got, tt.want)
			}
			if !json.Valid(got) {
				t.Errorf("marshalJSON(%v) = %s: not valid JSON", tt.msg, got)
			}
		})
	}
}

// TestMarshalJSONRoundTrip checks that protojson reads back what the
// gateway writes, so gRPC-JSON clients can consume it.
func TestMarshalJSONRoundTrip(t *testing.T) {
	for name, msg := range sampleResponses(t) {
		t.Run(name, func(t *testing.T) {
			b, err := marshalJSON(msg)
			if err != nil {
				t.Fatal(err)
			}
			got := msg.ProtoReflect().New().Interface()
			if err := protojson.Unmarshal(b, got); err != nil {
				t.Fatalf("protojson.Unmarshal(%s): %v", b, err)
			}
			if !proto.Equal(got, msg) {
				t.Errorf("round trip changed %s:\n%s", name, b)
			}
		})
	}
}

func TestMarshalerNonProto(t *testing.T) {
	m := newJSONMarshaler()
	b, err := m.Marshal(map[string]int{"a": 1})
	if err != nil || string(b) != `{"a":1}` {
		t.Errorf("Marshal(map) = %s, %v", b, err)
	}
	var sb strings.Builder
	if err := m.NewEncoder(&sb).Encode(structpb.NewStringValue("x")); err != nil || sb.String() != `"x"` {
		t.Errorf("Encode(Value) wrote %s, %v", sb.String(), err)
	}
}
