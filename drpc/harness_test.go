package drpc_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/squallstream/squall/drpc"
	"github.com/squallstream/squall/internal/testenv"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/worker"
)

// testConfig is a server configuration on free loopback ports.
func testConfig() drpc.Config {
	c := drpc.DefaultConfig()
	c.Port, c.InvocationsPort, c.HTTPPort = 0, 0, 0
	return c
}

// runningServer is a server a test started, and its stop.
type runningServer struct {
	*drpc.Server
	stop func()
}

// startServer runs a DRPC server until the test ends (or stop).
func startServer(t testing.TB, cfg drpc.Config) *runningServer {
	t.Helper()
	s, err := drpc.New(cfg, testenv.Logger(t))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	select {
	case <-s.Ready():
	case err := <-done:
		cancel()
		t.Fatalf("Run: %v", err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(testenv.Patience(30 * time.Second)):
				t.Errorf("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return &runningServer{Server: s, stop: stop}
}

// runTopology runs a topology in this process until the test ends.
func runTopology(t testing.TB, topo *topology.Topology) *worker.Worker {
	t.Helper()
	return runWorker(t, worker.Config{Topology: topo})
}

// runWorker runs a worker of all of a topology's executors until the test
// ends.
func runWorker(t testing.TB, cfg worker.Config) *worker.Worker {
	t.Helper()
	cfg.StormID = cfg.Topology.Name + "-1-1"
	cfg.Logger = testenv.Logger(t)
	w, err := worker.New(cfg)
	if err != nil {
		t.Fatalf("worker.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("worker Run: %v", err)
			}
		case <-time.After(testenv.Patience(30 * time.Second)):
			t.Errorf("worker Run did not return after cancel")
		}
	})
	return w
}

// drpcTopology builds spout -> bolt -> ReturnResults for function, with
// the spout taking requests from servers (invocation addresses).
func drpcTopology(t testing.TB, function string, servers []string, bolt topology.BoltFunc, conf map[string]any) *topology.Topology {
	t.Helper()
	return drpcTopologyAs(t, function, servers, bolt, conf, nil)
}

// drpcTopologyAs is drpcTopology with credentials for the servers.
func drpcTopologyAs(t testing.TB, function string, servers []string, bolt topology.BoltFunc, conf map[string]any, creds drpc.Credentials) *topology.Topology {
	t.Helper()
	b := topology.NewBuilder("drpc-" + function)
	b.SetSpout("drpc", topology.SpoutFunc(func() (topology.Spout, error) {
		return drpc.NewSpout(drpc.SpoutConfig{Function: function, Servers: servers, Credentials: creds})
	}), 1)
	b.SetBolt("work", bolt, 2).ShuffleGrouping("drpc")
	b.SetBolt("return", topology.BoltFunc(func() (topology.Bolt, error) {
		return drpc.NewReturnResults(drpc.ReturnResultsConfig{Credentials: creds}), nil
	}), 2).
		ShuffleGrouping("work")
	for k, v := range conf {
		b.AddConfig(k, v)
	}
	topo, err := b.Build()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return topo
}

// exclaimBolt answers args with args+"!", fails a request whose args
// are "fail", and holds (never answers) one whose args start with "hold".
type exclaimBolt struct {
	out  topology.BoltCollector
	held *heldTuples
}

type heldTuples struct {
	mu     sync.Mutex
	tuples []topology.Tuple
}

func (h *heldTuples) len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.tuples)
}

func exclaim(held *heldTuples) topology.BoltFunc {
	return func() (topology.Bolt, error) { return &exclaimBolt{held: held}, nil }
}

func (b *exclaimBolt) Prepare(_ *topology.TaskContext, out topology.BoltCollector) error {
	b.out = out
	return nil
}

func (b *exclaimBolt) Execute(t topology.Tuple) {
	args := t.String(0)
	switch {
	case args == "fail":
		b.out.Fail(t)
	case strings.HasPrefix(args, "hold") && b.held != nil:
		b.held.mu.Lock()
		b.held.tuples = append(b.held.tuples, t)
		b.held.mu.Unlock()
	default:
		b.out.Emit(topology.DefaultStream, []topology.Tuple{t}, []any{args + "!", t.Value(1)})
		b.out.Ack(t)
	}
}

func (b *exclaimBolt) Cleanup() {}

func (b *exclaimBolt) DeclareOutputs() []topology.Stream {
	return []topology.Stream{{ID: topology.DefaultStream, Fields: []string{"result", "return-info"}}}
}

// httpClient is one keep-alive client for a test's HTTP calls.
var httpClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

// get calls GET /drpc/{function}/{args} and returns the status and body.
func get(t *testing.T, addr, function, args string) (int, string) {
	t.Helper()
	u := "http://" + addr + "/drpc/" + url.PathEscape(function)
	if args != "" {
		u += "/" + url.PathEscape(args)
	}
	return do(t, http.MethodGet, u, "")
}

// post calls POST /drpc/{function} with args as the body.
func post(t *testing.T, addr, function, args string) (int, string) {
	t.Helper()
	return do(t, http.MethodPost, "http://"+addr+"/drpc/"+url.PathEscape(function), args)
}

func do(t *testing.T, method, u, body string) (int, string) {
	t.Helper()
	code, data, err := doErr(method, u, body)
	if err != nil {
		t.Errorf("%s %s: %v", method, u, err)
	}
	return code, data
}

func doErr(method, u, body string) (int, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), testenv.Patience(60*time.Second))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data), err
}
