package drpc_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/squallstream/squall/adapters"
	"github.com/squallstream/squall/drpc"
	"github.com/squallstream/squall/internal/drpcload"
	"github.com/squallstream/squall/shell"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/topology/builtin"
	"github.com/squallstream/squall/worker"
)

// benchHTTP runs an identity function (DRPCSpout -> squall.Identity ->
// ReturnResults, all Go, in this process) behind a DRPC server, and loads
// its HTTP form with b.N requests from the given number of keep-alive
// clients, each one request at a time. It reports the round trip's p50
// and p99, requests per second, and CPU per request. Round trips and
// requests/s depend on what else the machine runs; quote them with it.
func benchHTTP(b *testing.B, clients int) {
	s := startServer(b, testConfig())
	runTopology(b, drpcTopology(b, "identity", []string{s.InvocationsAddr()}, builtin.Identity("result", "return-info"), nil))
	benchLoad(b, drpcload.Config{URL: "http://" + s.HTTPAddr(), Function: "identity", Args: "hello", Want: "hello", Clients: clients})
}

// benchLoad warms up, then runs b.N requests and reports.
func benchLoad(b *testing.B, cfg drpcload.Config) {
	clients := cfg.Clients
	// Warm up: connections, goroutines, the spout's stream.
	cfg.Requests = 20 * clients
	if r, err := drpcload.Run(context.Background(), cfg); err != nil || r.Errors > 0 {
		b.Fatalf("warm-up: %v %v", r, err)
	}
	cfg.Requests = max(b.N, clients)
	cpu0 := cpuTime(b)
	b.ResetTimer()
	r, err := drpcload.Run(context.Background(), cfg)
	b.StopTimer()
	cpu := cpuTime(b) - cpu0
	if err != nil || r.Errors > 0 {
		b.Fatalf("run: %v %v", r, err)
	}
	b.ReportMetric(float64(r.P50.Microseconds()), "p50-µs")
	b.ReportMetric(float64(r.P99.Microseconds()), "p99-µs")
	b.ReportMetric(r.PerSecond, "req/s")
	// CPU per request (server, topology and load generator together)
	// says what two idle cores could do when the machine is shared.
	b.ReportMetric(float64(cpu.Microseconds())/float64(r.Requests), "cpu-µs/req")
}

// cpuTime returns the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkHTTPRoundTrip is the round trip at low load: one client.
func BenchmarkHTTPRoundTrip(b *testing.B) { benchHTTP(b, 1) }

// BenchmarkHTTPSaturation is requests/s from 64 clients.
func BenchmarkHTTPSaturation(b *testing.B) { benchHTTP(b, 64) }

// BenchmarkHTTPRoundTripPython is the round trip at low load of a function
// computed by one Python bolt (drpc/testdata/exclaim-python).
func BenchmarkHTTPRoundTripPython(b *testing.B) { benchPython(b, 1) }

// BenchmarkHTTPSaturationPython is requests/s of that function from 64
// clients.
func BenchmarkHTTPSaturationPython(b *testing.B) { benchPython(b, 64) }

func benchPython(b *testing.B, clients int) {
	if _, err := exec.LookPath("python3"); err != nil {
		b.Skipf("python3 not found: %v", err)
	}
	env, err := adapters.Install(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	resources, err := filepath.Abs("testdata/exclaim-python/resources")
	if err != nil {
		b.Fatal(err)
	}
	s := startServer(b, testConfig())
	bld := topology.NewBuilder("exclaim-python")
	bld.SetSpout("drpc", topology.SpoutFunc(func() (topology.Spout, error) {
		return drpc.NewSpout(drpc.SpoutConfig{Function: "exclamation", Servers: []string{s.InvocationsAddr()}})
	}), 1)
	bld.SetBolt("exclaim", topology.Shell("python3", "exclaim.py").Fields("result", "return-info"), 1).ShuffleGrouping("drpc")
	bld.SetBolt("return", topology.BoltFunc(func() (topology.Bolt, error) {
		return drpc.NewReturnResults(drpc.ReturnResultsConfig{}), nil
	}), 1).ShuffleGrouping("exclaim")
	topo, err := bld.Build()
	if err != nil {
		b.Fatal(err)
	}
	runWorker(b, worker.Config{Topology: topo, ResourcesDir: resources, Shell: shell.Options{Env: env}})
	benchLoad(b, drpcload.Config{URL: "http://" + s.HTTPAddr(), Function: "exclamation", Args: "hello", Want: "hello!", Clients: clients})
}
