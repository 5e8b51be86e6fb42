package drpc_test

import (
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/squallstream/squall/adapters"
	"github.com/squallstream/squall/drpc"
	"github.com/squallstream/squall/internal/drpcload"
	"github.com/squallstream/squall/shell"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/topology/builtin"
	"github.com/squallstream/squall/worker"
)

// The same loads as bench_test.go, through the drpc: section: request
// ids, coordination and the join add their cost to the round trip.

// BenchmarkLinearRoundTrip: a Go identity bolt in a drpc: chain, one
// client.
func BenchmarkLinearRoundTrip(b *testing.B) {
	benchLinear(b, "testdata/linear-identity", 1, "identity", "hello")
}

// BenchmarkLinearSaturation: the same with 64 clients.
func BenchmarkLinearSaturation(b *testing.B) {
	benchLinear(b, "testdata/linear-identity", 64, "identity", "hello")
}

// BenchmarkLinearRoundTripPython: one Python bolt in a drpc: chain, one
// client.
func BenchmarkLinearRoundTripPython(b *testing.B) {
	benchLinear(b, "testdata/linear-python", 1, "exclamation", "hello!")
}

// BenchmarkLinearSaturationPython: the same with 64 clients.
func BenchmarkLinearSaturationPython(b *testing.B) {
	benchLinear(b, "testdata/linear-python", 64, "exclamation", "hello!")
}

func benchLinear(b *testing.B, dir string, clients int, function, want string) {
	if _, err := exec.LookPath("python3"); err != nil {
		b.Skipf("python3 not found: %v", err)
	}
	r := topology.NewRegistry()
	builtin.Register(r)
	drpc.Register(r)
	topo, err := topology.LoadFile(filepath.Join(dir, "topology.yaml"), topology.LoadOptions{Registry: r})
	if err != nil {
		b.Fatal(err)
	}
	env, err := adapters.Install(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	resources, err := filepath.Abs(filepath.Join(dir, "resources"))
	if err != nil {
		b.Fatal(err)
	}
	s := startServer(b, testConfig())
	host, port, _ := net.SplitHostPort(s.InvocationsAddr())
	p, _ := strconv.Atoi(port)
	topo.Config = topo.Config.Merge(topology.Config{drpc.KeyServers: []any{host}, drpc.KeyInvocationsPort: p})
	runWorker(b, worker.Config{Topology: topo, ResourcesDir: resources, Shell: shell.Options{Env: env}})
	benchLoad(b, drpcload.Config{URL: "http://" + s.HTTPAddr(), Function: function, Args: "hello", Want: want, Clients: clients})
}
