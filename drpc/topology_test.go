package drpc_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/squallstream/squall/drpc"
	"github.com/squallstream/squall/internal/testenv"
	"github.com/squallstream/squall/topology"
)

// TestHTTPForms calls a Go topology through each of Storm's HTTP forms and
// through the gRPC client, and checks the exact answers.
func TestHTTPForms(t *testing.T) {
	s := startServer(t, testConfig())
	runTopology(t, drpcTopology(t, "exclamation", []string{s.InvocationsAddr()}, exclaim(nil), nil))
	addr := s.HTTPAddr()

	tests := []struct {
		name, method, function, args string
		want                         string
	}{
		{"post", http.MethodPost, "exclamation", "hello", "hello!"},
		{"post empty", http.MethodPost, "exclamation", "", "!"},
		{"post multi-line unicode", http.MethodPost, "exclamation", "snow white\nand the 7 dwarfs ☃", "snow white\nand the 7 dwarfs ☃!"},
		{"get args", http.MethodGet, "exclamation", "aaa", "aaa!"},
		{"get escaped slashes", http.MethodGet, "exclamation", "http://twitter.com/a b", "http://twitter.com/a b!"},
		{"get empty", http.MethodGet, "exclamation", "", "!"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var code int
			var body string
			if tt.method == http.MethodPost {
				code, body = post(t, addr, tt.function, tt.args)
			} else {
				code, body = get(t, addr, tt.function, tt.args)
			}
			if code != http.StatusOK || body != tt.want {
				t.Errorf("%s /drpc/%s %q = %d %q, want 200 %q", tt.method, tt.function, tt.args, code, body, tt.want)
			}
		})
	}
	// The rest of the path is the arguments, slashes included (Storm takes
	// one segment; squall takes the reach example's URLs as they are).
	if code, body := do(t, http.MethodGet, "http://"+addr+"/drpc/exclamation/foo.com/blog/1", ""); code != 200 || body != "foo.com/blog/1!" {
		t.Errorf("GET /drpc/exclamation/foo.com/blog/1 = %d %q", code, body)
	}
	// GET /drpc/{function}/ with the trailing slash is the empty form too.
	if code, body := do(t, http.MethodGet, "http://"+addr+"/drpc/exclamation/", ""); code != 200 || body != "!" {
		t.Errorf("GET /drpc/exclamation/ = %d %q, want 200 \"!\"", code, body)
	}

	c, err := drpc.Dial(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got, err := c.Execute(t.Context(), "exclamation", "grpc")
	if err != nil || got != "grpc!" {
		t.Errorf("Execute(exclamation, grpc) = %q, %v; want \"grpc!\"", got, err)
	}
	testenv.WaitUntil(t, 10*time.Second, "no request outstanding", func() bool { return s.Stats().Outstanding == 0 })
}

// TestBoltFailsRequest: a bolt failing the tuple fails the request at once,
// with Storm's status (400 FAILED_REQUEST), long before any timeout.
func TestBoltFailsRequest(t *testing.T) {
	s := startServer(t, testConfig())
	runTopology(t, drpcTopology(t, "exclamation", []string{s.InvocationsAddr()}, exclaim(nil), nil))

	start := time.Now()
	code, body := post(t, s.HTTPAddr(), "exclamation", "fail")
	if code != http.StatusBadRequest {
		t.Fatalf("POST fail = %d %s, want 400", code, body)
	}
	var e struct{ Error, ErrorMessage string }
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error != "FAILED_REQUEST" || !strings.Contains(e.ErrorMessage, "failed") {
		t.Errorf("body = %s (%v), want FAILED_REQUEST with a message", body, err)
	}
	if d := time.Since(start); d > testenv.Patience(10*time.Second) {
		t.Errorf("the failure took %v", d)
	}

	c, err := drpc.Dial(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Execute(t.Context(), "exclamation", "fail"); !errors.Is(err, drpc.ErrFailed) {
		t.Errorf("Execute(fail) = %v, want ErrFailed", err)
	}
	// The topology goes on answering.
	if code, body := get(t, s.HTTPAddr(), "exclamation", "after"); code != 200 || body != "after!" {
		t.Errorf("GET after = %d %q", code, body)
	}
}

// TestTupleTimeoutFailsRequest: a tuple that times out in the topology
// (topology.message.timeout.secs) fails its request.
func TestTupleTimeoutFailsRequest(t *testing.T) {
	s := startServer(t, testConfig())
	held := &heldTuples{}
	runTopology(t, drpcTopology(t, "exclamation", []string{s.InvocationsAddr()}, exclaim(held),
		map[string]any{topology.KeyMessageTimeoutSecs: 1}))
	code, body := get(t, s.HTTPAddr(), "exclamation", "hold me")
	if code != http.StatusBadRequest || !strings.Contains(body, "FAILED_REQUEST") {
		t.Errorf("GET hold = %d %s, want 400 FAILED_REQUEST", code, body)
	}
}

// TestServerTimeout: a request nobody answers gets 504 SERVER_TIMEOUT after
// drpc.request.timeout.secs, and leaves nothing behind.
func TestServerTimeout(t *testing.T) {
	cfg := testConfig()
	cfg.RequestTimeout = 300 * time.Millisecond
	s := startServer(t, cfg)
	held := &heldTuples{}
	runTopology(t, drpcTopology(t, "exclamation", []string{s.InvocationsAddr()}, exclaim(held), nil))

	for _, fn := range []string{"nobody-serves-this", "exclamation"} {
		code, body := get(t, s.HTTPAddr(), fn, "hold")
		want := `{"error":"SERVER_TIMEOUT","errorMessage":"Timed Out"}` + "\n"
		if code != http.StatusGatewayTimeout || body != want {
			t.Errorf("GET %s = %d %q, want 504 %q", fn, code, body, want)
		}
	}
	c, err := drpc.Dial(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Execute(t.Context(), "nobody", ""); !errors.Is(err, drpc.ErrTimeout) {
		t.Errorf("Execute = %v, want ErrTimeout", err)
	}
	st := s.Stats()
	if st.Outstanding != 0 || st.Queued != 0 || st.QueuedBytes != 0 || st.TimedOut != 3 {
		t.Errorf("stats after timeouts = %+v, want nothing left and 3 timed out", st)
	}
}

// TestTwoServers: one spout serves two DRPC servers; each answers its own
// clients.
func TestTwoServers(t *testing.T) {
	a, b := startServer(t, testConfig()), startServer(t, testConfig())
	runTopology(t, drpcTopology(t, "exclamation", []string{a.InvocationsAddr(), b.InvocationsAddr()}, exclaim(nil), nil))
	var wg sync.WaitGroup
	for i := range 50 {
		for _, s := range []*runningServer{a, b} {
			wg.Go(func() {
				args := fmt.Sprintf("%s-%d", s.HTTPAddr(), i)
				if code, body := post(t, s.HTTPAddr(), "exclamation", args); code != 200 || body != args+"!" {
					t.Errorf("POST %s = %d %q, want %q", args, code, body, args+"!")
				}
			})
		}
	}
	wg.Wait()
	for _, s := range []*runningServer{a, b} {
		if st := s.Stats(); st.Returned != 50 {
			t.Errorf("server %s returned %d results, want 50", s.HTTPAddr(), st.Returned)
		}
	}
}

// TestConcurrentRequests sends 1,000 requests at once, half over HTTP and
// half over gRPC, and checks every answer.
func TestConcurrentRequests(t *testing.T) {
	s := startServer(t, testConfig())
	runTopology(t, drpcTopology(t, "exclamation", []string{s.InvocationsAddr()}, exclaim(nil), nil))
	c, err := drpc.Dial(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const n = 1000
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			args := fmt.Sprintf("request %d", i)
			<-start
			var got string
			if i%2 == 0 {
				code, body, err := doErr(http.MethodPost, "http://"+s.HTTPAddr()+"/drpc/exclamation", args)
				if err != nil || code != 200 {
					t.Errorf("POST %q = %d %q, %v", args, code, body, err)
					return
				}
				got = body
			} else {
				ctx, cancel := context.WithTimeout(context.Background(), testenv.Patience(60*time.Second))
				defer cancel()
				var err error
				if got, err = c.Execute(ctx, "exclamation", args); err != nil {
					t.Errorf("Execute(%q): %v", args, err)
					return
				}
			}
			if got != args+"!" {
				t.Errorf("%q answered %q", args, got)
			}
		})
	}
	close(start)
	wg.Wait()
	if st := s.Stats(); st.Returned != n || st.Outstanding != 0 || st.Queued != 0 {
		t.Errorf("stats = %+v, want %d returned and nothing left", st, n)
	}
}

// TestServerRestart stops a DRPC server while requests wait in the
// topology: their clients get SERVER_SHUTDOWN at once, nothing hangs, and
// once the server is back on the same ports the spout fetches again.
func TestServerRestart(t *testing.T) {
	s := startServer(t, testConfig())
	held := &heldTuples{}
	runTopology(t, drpcTopology(t, "exclamation", []string{s.InvocationsAddr()}, exclaim(held), nil))
	if code, body := get(t, s.HTTPAddr(), "exclamation", "warm"); code != 200 || body != "warm!" {
		t.Fatalf("GET warm = %d %q", code, body)
	}
	c, err := drpc.Dial(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	const pending = 10
	results := make(chan error, 2*pending)
	for i := range pending {
		go func() {
			code, body, err := doErr(http.MethodGet, fmt.Sprintf("http://%s/drpc/exclamation/hold%d", s.HTTPAddr(), i), "")
			if err == nil && (code != http.StatusServiceUnavailable || !strings.Contains(body, "SERVER_SHUTDOWN")) {
				err = fmt.Errorf("GET hold%d = %d %s, want 503 SERVER_SHUTDOWN", i, code, body)
			}
			results <- err
		}()
		go func() {
			_, err := c.Execute(context.Background(), "exclamation", fmt.Sprintf("hold-grpc%d", i))
			if errors.Is(err, drpc.ErrShutdown) {
				err = nil
			} else {
				err = fmt.Errorf("Execute(hold-grpc%d) = %v, want ErrShutdown", i, err)
			}
			results <- err
		}()
	}
	testenv.WaitUntil(t, 30*time.Second, "every request held by the bolt", func() bool { return held.len() == 2*pending })

	cfg := testConfig()
	cfg.Port, cfg.InvocationsPort, cfg.HTTPPort = port(t, s.Addr()), port(t, s.InvocationsAddr()), port(t, s.HTTPAddr())
	s.stop()
	deadline := time.After(testenv.Patience(10 * time.Second))
	for range 2 * pending {
		select {
		case err := <-results:
			if err != nil {
				t.Error(err)
			}
		case <-deadline:
			t.Fatal("clients still waiting after the server stopped")
		}
	}

	s2 := startServer(t, cfg)
	// The spout reconnects by itself.
	code, body := get(t, s2.HTTPAddr(), "exclamation", "again")
	if code != 200 || body != "again!" {
		t.Errorf("GET again after the restart = %d %q", code, body)
	}
}

func port(t *testing.T, addr string) int {
	t.Helper()
	i := strings.LastIndexByte(addr, ':')
	var p int
	if _, err := fmt.Sscan(addr[i+1:], &p); err != nil {
		t.Fatalf("port of %q: %v", addr, err)
	}
	return p
}
