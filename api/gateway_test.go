package api

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

const jsonType = "application/json"

// TestGatewayRoutes sends every REST path and checks that the right method
// received the right request.
func TestGatewayRoutes(t *testing.T) {
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        string
		wantMethod  string
		wantReq     proto.Message
	}{
		{"cluster summary", "GET", "/api/v1/cluster/summary", "", "",
			"GetClusterSummary", &GetClusterSummaryRequest{}},
		{"cluster configuration", "GET", "/api/v1/cluster/configuration", "", "",
			"GetClusterConfiguration", &GetClusterConfigurationRequest{}},
		{"nimbus summary", "GET", "/api/v1/nimbus/summary", "", "",
			"GetNimbusSummary", &GetNimbusSummaryRequest{}},
		{"supervisor summary", "GET", "/api/v1/supervisor/summary", "", "",
			"GetSupervisorSummary", &GetSupervisorSummaryRequest{}},
		{"topology summary is not a topology id", "GET", "/api/v1/topology/summary", "", "",
			"ListTopologies", &ListTopologiesRequest{}},
		{"topology", "GET", "/api/v1/topology/wordcount-1-1700000000", "", "",
			"GetTopology", &GetTopologyRequest{Id: "wordcount-1-1700000000"}},
		{"topology window and sys=1", "GET", "/api/v1/topology/wc-1-2?window=600&sys=1", "", "",
			"GetTopology", &GetTopologyRequest{Id: "wc-1-2", Window: "600", Sys: true}},
		{"topology all-time and sys=true", "GET", "/api/v1/topology/wc-1-2?window=:all-time&sys=true", "", "",
			"GetTopology", &GetTopologyRequest{Id: "wc-1-2", Window: ":all-time", Sys: true}},
		{"topology sys=0", "GET", "/api/v1/topology/wc-1-2?sys=0", "", "",
			"GetTopology", &GetTopologyRequest{Id: "wc-1-2"}},
		{"topology ignores Storm's JSONP callback", "GET", "/api/v1/topology/wc-1-2?callback=cb", "", "",
			"GetTopology", &GetTopologyRequest{Id: "wc-1-2"}},
		{"component", "GET", "/api/v1/topology/wc-1-2/component/split?window=10800&sys=1", "", "",
			"GetComponent", &GetComponentRequest{Id: "wc-1-2", Component: "split", Window: "10800", Sys: true}},
		{"errors", "GET", "/api/v1/topology/wc-1-2/errors", "", "",
			"GetErrors", &GetErrorsRequest{Id: "wc-1-2"}},
		{"errors of one component", "GET", "/api/v1/topology/wc-1-2/errors?component=count", "", "",
			"GetErrors", &GetErrorsRequest{Id: "wc-1-2", Component: "count"}},
		{"activate", "POST", "/api/v1/topology/wc-1-2/activate", "", "",
			"ActivateTopology", &ActivateTopologyRequest{Id: "wc-1-2"}},
		{"deactivate", "POST", "/api/v1/topology/wc-1-2/deactivate", "", "",
			"DeactivateTopology", &DeactivateTopologyRequest{Id: "wc-1-2"}},
		{"kill", "POST", "/api/v1/topology/wc-1-2/kill/30", "", "",
			"KillTopology", &KillTopologyRequest{Id: "wc-1-2", WaitSecs: proto.Int32(30)}},
		{"kill now", "POST", "/api/v1/topology/wc-1-2/kill/0", "", "",
			"KillTopology", &KillTopologyRequest{Id: "wc-1-2", WaitSecs: proto.Int32(0)}},
		{"kill negative wait reaches nimbus", "POST", "/api/v1/topology/wc-1-2/kill/-1", "", "",
			"KillTopology", &KillTopologyRequest{Id: "wc-1-2", WaitSecs: proto.Int32(-1)}},
		{"rebalance without body", "POST", "/api/v1/topology/wc-1-2/rebalance/0", "", "",
			"RebalanceTopology", &RebalanceTopologyRequest{Id: "wc-1-2", WaitSecs: proto.Int32(0)}},
		// Storm's documented example, string executor count and callback included.
		{"rebalance Storm body", "POST", "/api/v1/topology/wc-1-2/rebalance/5", jsonType,
			`{"rebalanceOptions": {"numWorkers": 2, "executors": { "spout" : "5", "split": 7, "count": 5 }}, "callback":"foo"}`,
			"RebalanceTopology", &RebalanceTopologyRequest{Id: "wc-1-2", WaitSecs: proto.Int32(5),
				RebalanceOptions: &RebalanceOptions{NumWorkers: proto.Int32(2), Executors: map[string]int32{"spout": 5, "split": 7, "count": 5}}}},
		// curl -d sends application/x-www-form-urlencoded.
		{"rebalance body as curl -d sends it", "POST", "/api/v1/topology/wc-1-2/rebalance/1", "application/x-www-form-urlencoded",
			`{"rebalanceOptions": {"numWorkers": 3}}`,
			"RebalanceTopology", &RebalanceTopologyRequest{Id: "wc-1-2", WaitSecs: proto.Int32(1),
				RebalanceOptions: &RebalanceOptions{NumWorkers: proto.Int32(3)}}},
		{"debug", "POST", "/api/v1/topology/wc-1-2/debug/enable/10", "", "",
			"DebugTopology", &DebugTopologyRequest{Id: "wc-1-2", Action: "enable", Spct: 10}},
		{"debug a component", "POST", "/api/v1/topology/wc-1-2/component/split/debug/disable/2.5", "", "",
			"DebugTopology", &DebugTopologyRequest{Id: "wc-1-2", Component: "split", Action: "disable", Spct: 2.5}},
		{"submit JSON", "POST", "/api/v1/topologies", jsonType,
			`{"topology": "name: wc\n", "package": "AAEC", "inactive": true, "config": {"topology.workers": 3}}`,
			"SubmitTopology", &SubmitTopologyRequest{Topology: "name: wc\n", Package: []byte{0, 1, 2}, Inactive: true,
				Config: mustStruct(t, map[string]any{"topology.workers": 3})}},
	}
	for _, target := range targets {
		env := newTestEnv(t, target, DefaultGatewayConfig())
		for _, tt := range tests {
			t.Run(target+"/"+tt.name, func(t *testing.T) {
				var body io.Reader
				if tt.body != "" {
					body = strings.NewReader(tt.body)
				}
				resp := env.do(t, tt.method, tt.path, tt.contentType, body)
				if resp.status != http.StatusOK {
					t.Fatalf("%s %s: status %d, body %s", tt.method, tt.path, resp.status, resp.body)
				}
				wantCall(t, env.fake, tt.wantMethod, tt.wantReq)
			})
		}
	}
}

// TestGatewayEscapedIDs checks that ids reach nimbus unescaped, whatever
// characters they hold. Topology names may hold anything but / . : \, and
// component ids anything.
func TestGatewayEscapedIDs(t *testing.T) {
	topologyIDs := []string{
		"word count-1-1700000000",
		"50%-1-2",
		"a?b#c&d=e-1-2",
		"a+b-1-2",
		"ünïcødé 名前-1-2",
		"semi;colon,comma@at!'()*-1-2",
		"%2F-looking-1-2",
	}
	componentIDs := []string{"split", "a/b", "x:y", "sp ace", "50%", "?#", "a%2Fb"}
	for _, target := range targets {
		env := newTestEnv(t, target, DefaultGatewayConfig())
		for _, id := range topologyIDs {
			t.Run(target+"/topology "+id, func(t *testing.T) {
				resp := env.get(t, "/api/v1/topology/"+EncodeID(id))
				if resp.status != http.StatusOK {
					t.Fatalf("status %d: %s", resp.status, resp.body)
				}
				wantCall(t, env.fake, "GetTopology", &GetTopologyRequest{Id: id})

				resp = env.do(t, "POST", "/api/v1/topology/"+EncodeID(id)+"/kill/3", "", nil)
				if resp.status != http.StatusOK {
					t.Fatalf("kill: status %d: %s", resp.status, resp.body)
				}
				wantCall(t, env.fake, "KillTopology", &KillTopologyRequest{Id: id, WaitSecs: proto.Int32(3)})
				// The answer names the topology as given, not escaped.
				want := fmt.Sprintf(`{"topologyOperation":"kill","topologyId":%s,"status":"success"}`, appendString(nil, id))
				if string(resp.body) != want {
					t.Errorf("kill body = %s, want %s", resp.body, want)
				}
			})
		}
		for _, comp := range componentIDs {
			t.Run(target+"/component "+comp, func(t *testing.T) {
				resp := env.get(t, "/api/v1/topology/wc-1-2/component/"+EncodeID(comp)+"?sys=1")
				if resp.status != http.StatusOK {
					t.Fatalf("status %d: %s", resp.status, resp.body)
				}
				wantCall(t, env.fake, "GetComponent", &GetComponentRequest{Id: "wc-1-2", Component: comp, Sys: true})
			})
		}
	}
}

// TestGatewayLooseEscaping checks paths written by hand: characters that
// clients often leave unescaped, and escapes of characters that need none.
func TestGatewayLooseEscaping(t *testing.T) {
	env := newTestEnv(t, viaClient, DefaultGatewayConfig())
	tests := []struct {
		path string
		want *GetComponentRequest
	}{
		{"/api/v1/topology/wc:1/component/x:y", &GetComponentRequest{Id: "wc:1", Component: "x:y"}},
		{"/api/v1/topology/w%63-1/component/%73plit", &GetComponentRequest{Id: "wc-1", Component: "split"}},
		{"/api/v1/topology/wc-1/component/a%3Ab%2Fc%25d", &GetComponentRequest{Id: "wc-1", Component: "a:b/c%d"}},
		{"/api/v1/topology/wc-1/component/a+b", &GetComponentRequest{Id: "wc-1", Component: "a+b"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp := env.get(t, tt.path)
			if resp.status != http.StatusOK {
				t.Fatalf("status %d: %s", resp.status, resp.body)
			}
			wantCall(t, env.fake, "GetComponent", tt.want)
		})
	}
}

// TestGatewayBadRequests checks that bad path parameters, query parameters
// and bodies are answered 400 in Storm's error shape without reaching
// nimbus.
func TestGatewayBadRequests(t *testing.T) {
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        string
	}{
		{"wait time not a number", "POST", "/api/v1/topology/wc-1-2/kill/soon", "", ""},
		{"wait time fractional", "POST", "/api/v1/topology/wc-1-2/kill/1.5", "", ""},
		{"wait time overflows int32", "POST", "/api/v1/topology/wc-1-2/rebalance/99999999999", "", ""},
		{"sys not a boolean", "GET", "/api/v1/topology/wc-1-2?sys=maybe", "", ""},
		{"malformed rebalance JSON", "POST", "/api/v1/topology/wc-1-2/rebalance/0", jsonType, `{"rebalanceOptions": `},
		{"rebalance JSON of the wrong type", "POST", "/api/v1/topology/wc-1-2/rebalance/0", jsonType, `{"rebalanceOptions": {"numWorkers": "many"}}`},
		{"rebalance body not an object", "POST", "/api/v1/topology/wc-1-2/rebalance/0", jsonType, `[1, 2]`},
		{"malformed submission JSON", "POST", "/api/v1/topologies", jsonType, `{"topology": "name: x`},
		{"submission package not base64", "POST", "/api/v1/topologies", jsonType, `{"topology": "x", "package": "!!!"}`},
		{"submission config not an object", "POST", "/api/v1/topologies", jsonType, `{"topology": "x", "config": 3}`},
	}
	for _, target := range targets {
		env := newTestEnv(t, target, DefaultGatewayConfig())
		for _, tt := range tests {
			t.Run(target+"/"+tt.name, func(t *testing.T) {
				before := env.fake.numCalls()
				var body io.Reader
				if tt.body != "" {
					body = strings.NewReader(tt.body)
				}
				resp := env.do(t, tt.method, tt.path, tt.contentType, body)
				if msg := wantErrorBody(t, resp, http.StatusBadRequest); msg == "" {
					t.Errorf("empty errorMessage")
				}
				if n := env.fake.numCalls(); n != before {
					t.Errorf("the request reached nimbus")
				}
			})
		}
	}
}

// TestGatewayErrorMapping checks each gRPC code's HTTP status and the
// error body, on a generated route and on the submission route.
func TestGatewayErrorMapping(t *testing.T) {
	tests := []struct {
		code codes.Code
		want int
	}{
		{codes.InvalidArgument, 400},
		{codes.NotFound, 404},
		{codes.AlreadyExists, 409},
		{codes.FailedPrecondition, 409},
		{codes.Unauthenticated, 401},
		{codes.PermissionDenied, 403},
		{codes.Unavailable, 503},
		{codes.Internal, 500},
		{codes.Unknown, 500},
		{codes.DeadlineExceeded, 500},
		{codes.ResourceExhausted, 429}, // gRPC's own mapping
		{codes.Unimplemented, 500},
		{codes.Aborted, 500},
		{codes.OutOfRange, 500},
		{codes.DataLoss, 500},
		{codes.Canceled, 500},
	}
	for _, target := range targets {
		env := newTestEnv(t, target, DefaultGatewayConfig())
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/%v", target, tt.code), func(t *testing.T) {
				message := fmt.Sprintf("topology %q: %v", "wc-1-2", tt.code)
				env.fake.setErr(status.Error(tt.code, message))
				t.Cleanup(func() { env.fake.setErr(nil) })

				resp := env.get(t, "/api/v1/topology/wc-1-2")
				if got := wantErrorBody(t, resp, tt.want); got != message {
					t.Errorf("errorMessage = %q, want %q", got, message)
				}
				resp = env.do(t, "POST", "/api/v1/topologies", jsonType, strings.NewReader(`{"topology": "x"}`))
				if got := wantErrorBody(t, resp, tt.want); got != message {
					t.Errorf("submission errorMessage = %q, want %q", got, message)
				}
			})
		}
	}
	// Limits: the ErrorInfo reason picks 413 or 429; 429 says when to retry.
	for _, target := range targets {
		env := newTestEnv(t, target, DefaultGatewayConfig())
		for _, tt := range []struct {
			err  error
			want int
		}{
			{TooLargeError(KeySubmitMaxBytes, "too large"), http.StatusRequestEntityTooLarge},
			{TooManyError(KeySubmitMaxConcurrent, "too many"), http.StatusTooManyRequests},
		} {
			t.Run(fmt.Sprintf("%s/%d", target, tt.want), func(t *testing.T) {
				env.fake.setErr(tt.err)
				t.Cleanup(func() { env.fake.setErr(nil) })
				resp := env.do(t, "POST", "/api/v1/topologies", jsonType, strings.NewReader(`{"topology": "x"}`))
				wantErrorBody(t, resp, tt.want)
				if ra := resp.header.Get("Retry-After"); (tt.want == http.StatusTooManyRequests) != (ra != "") {
					t.Errorf("Retry-After = %q with status %d", ra, tt.want)
				}
			})
		}
	}
	// A plain error from an in-process server is a 500 with its text.
	t.Run("server/plain error", func(t *testing.T) {
		env := newTestEnv(t, viaServer, DefaultGatewayConfig())
		env.fake.setErr(errors.New("store package: disk full"))
		resp := env.do(t, "POST", "/api/v1/topology/wc-1-2/activate", "", nil)
		if got := wantErrorBody(t, resp, 500); got != "store package: disk full" {
			t.Errorf("errorMessage = %q", got)
		}
	})
}

// TestGatewayRoutingErrors checks unknown paths and wrong methods.
func TestGatewayRoutingErrors(t *testing.T) {
	env := newTestEnv(t, viaClient, DefaultGatewayConfig())
	tests := []struct {
		method, path string
		want         int
	}{
		{"GET", "/api/v1/nothing", 404},
		{"GET", "/", 404},
		{"GET", "/api/v1/topology/wc/component", 404},
		{"DELETE", "/api/v1/topology/wc-1-2", 405},
		{"GET", "/api/v1/topology/wc-1-2/kill/0", 405},
		{"GET", "/api/v1/topologies", 405},
		{"POST", "/api/v1/cluster/summary", 405},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			wantErrorBody(t, env.do(t, tt.method, tt.path, "", nil), tt.want)
		})
	}
	if n := env.fake.numCalls(); n != 0 {
		t.Errorf("%d calls reached nimbus", n)
	}
}

// unsized hides a reader's length, so the HTTP client sends it chunked,
// without Content-Length.
type unsized struct{ r io.Reader }

func (u unsized) Read(p []byte) (int, error) { return u.r.Read(p) }

// TestGatewayBodyLimits checks that oversized bodies are answered 413,
// whether the client declares the size or not, and bodies at the limit
// pass. A submission's limit is on its package and Go binary as decoded,
// in JSON (base64) as in a form.
func TestGatewayBodyLimits(t *testing.T) {
	cfg := GatewayConfig{MaxSubmitBytes: 64 << 10, MaxRequestBytes: 1 << 10}
	submission := func(size int) string {
		// A JSON submission whose package has size bytes.
		return `{"topology": "name: wc\n", "package": "` + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, size)) + `"}`
	}
	rebalance := func(size int) string {
		const head, tail = `{"rebalanceOptions": {"numWorkers": 2}, "callback": "`, `"}`
		return head + strings.Repeat("x", size-len(head)-len(tail)) + tail
	}
	for _, target := range targets {
		env := newTestEnv(t, target, cfg)
		for _, sized := range []bool{true, false} {
			name := target + "/sized"
			wrap := func(s string) io.Reader { return strings.NewReader(s) }
			if !sized {
				name = target + "/chunked"
				wrap = func(s string) io.Reader { return unsized{strings.NewReader(s)} }
			}
			t.Run(name+"/submission at the limit", func(t *testing.T) {
				resp := env.do(t, "POST", "/api/v1/topologies", jsonType, wrap(submission(64<<10)))
				if resp.status != 200 {
					t.Fatalf("status %d: %s", resp.status, resp.body)
				}
			})
			t.Run(name+"/submission over the limit", func(t *testing.T) {
				before := env.fake.numCalls()
				resp := env.do(t, "POST", "/api/v1/topologies", jsonType, wrap(submission(64<<10+1)))
				if msg := wantErrorBody(t, resp, http.StatusRequestEntityTooLarge); !strings.Contains(msg, KeySubmitMaxBytes) {
					t.Errorf("message %q does not name %s", msg, KeySubmitMaxBytes)
				}
				if env.fake.numCalls() != before {
					t.Errorf("the submission reached nimbus")
				}
			})
			t.Run(name+"/submission body over the limit", func(t *testing.T) {
				body := `{"topology": "` + strings.Repeat("x", int(cfg.submitBodyLimit())) + `"}`
				msg := wantErrorBody(t, env.do(t, "POST", "/api/v1/topologies", jsonType, wrap(body)), http.StatusRequestEntityTooLarge)
				if !strings.Contains(msg, KeySubmitMaxBytes) {
					t.Errorf("message %q does not name %s", msg, KeySubmitMaxBytes)
				}
			})
			t.Run(name+"/definition over the limit", func(t *testing.T) {
				body := `{"topology": "` + strings.Repeat("x", MaxDefinitionBytes) + `"}`
				wantErrorBody(t, env.do(t, "POST", "/api/v1/topologies", jsonType, wrap(body)), http.StatusRequestEntityTooLarge)
			})
			t.Run(name+"/multipart submission over the limit", func(t *testing.T) {
				body, ct := multipartBody(t, []formPart{
					{name: "topology", file: "topology.yaml", data: []byte("name: wc\n")},
					{name: "package", file: "resources.tar.gz", data: bytes.Repeat([]byte{7}, 32<<10)},
					{name: "goBinary", file: "topology", data: bytes.Repeat([]byte{7}, 32<<10+1)},
				})
				resp := env.do(t, "POST", "/api/v1/topologies", ct, wrap(string(body)))
				wantErrorBody(t, resp, http.StatusRequestEntityTooLarge)
			})
			t.Run(name+"/rebalance at the limit", func(t *testing.T) {
				resp := env.do(t, "POST", "/api/v1/topology/wc-1-2/rebalance/0", jsonType, wrap(rebalance(1<<10)))
				if resp.status != 200 {
					t.Fatalf("status %d: %s", resp.status, resp.body)
				}
			})
			t.Run(name+"/rebalance over the limit", func(t *testing.T) {
				resp := env.do(t, "POST", "/api/v1/topology/wc-1-2/rebalance/0", jsonType, wrap(rebalance(1<<10+1)))
				wantErrorBody(t, resp, http.StatusRequestEntityTooLarge)
			})
		}
		t.Run(target+"/body on a bodiless route over the limit", func(t *testing.T) {
			resp := env.do(t, "POST", "/api/v1/topology/wc-1-2/activate", "text/plain", strings.NewReader(strings.Repeat("x", 2<<10)))
			wantErrorBody(t, resp, http.StatusRequestEntityTooLarge)
		})
	}
}

func TestGatewayConfigValidate(t *testing.T) {
	if err := DefaultGatewayConfig().Validate(); err != nil {
		t.Errorf("DefaultGatewayConfig().Validate() = %v", err)
	}
	for _, c := range []GatewayConfig{
		{MaxSubmitBytes: 0, MaxRequestBytes: 1},
		{MaxSubmitBytes: 1, MaxRequestBytes: -1},
		{},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v.Validate() = nil, want an error", c)
		}
		if _, err := NewGatewayHandler(ForServer(newFakeNimbus()), c); err == nil {
			t.Errorf("NewGatewayHandler(%+v) = nil error", c)
		}
	}
	if _, err := NewGatewayHandler(GatewayTarget{}, DefaultGatewayConfig()); err == nil {
		t.Errorf("NewGatewayHandler(GatewayTarget{}) = nil error")
	}
}

// TestGatewayHeaders checks that HTTP headers reach nimbus as gRPC
// metadata (Authorization, for one), on the generated routes and on the
// submission route.
func TestGatewayHeaders(t *testing.T) {
	for _, target := range targets {
		env := newTestEnv(t, target, DefaultGatewayConfig())
		for _, path := range []string{"/api/v1/topology/wc-1-2", "/api/v1/topologies"} {
			t.Run(target+path, func(t *testing.T) {
				method := "GET"
				if path == "/api/v1/topologies" {
					method = "POST"
				}
				req, err := http.NewRequestWithContext(t.Context(), method, env.url+path, strings.NewReader(`{}`))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Authorization", "Bearer token")
				req.Header.Set("Content-Type", jsonType)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("status %d", resp.StatusCode)
				}
				c, _ := env.fake.lastCall()
				if got := c.md.Get("authorization"); len(got) != 1 || got[0] != "Bearer token" {
					t.Errorf("authorization metadata = %q, want [\"Bearer token\"]", got)
				}
			})
		}
	}
}

// TestGatewayStaleAndRetryAfter checks the headers of nimbus's answers
// while ZooKeeper is down: a read from its last known state carries its age
// as X-Squall-Stale, and a 503 says when to retry.
func TestGatewayStaleAndRetryAfter(t *testing.T) {
	for _, target := range targets {
		t.Run(target, func(t *testing.T) {
			env := newTestEnv(t, target, DefaultGatewayConfig())
			env.fake.setHeader(metadata.Pairs(StaleMetadataKey, "12", "other", "x"))
			resp := env.get(t, "/api/v1/topology/summary")
			if resp.status != 200 || resp.header.Get(StaleHeader) != "12" || resp.header.Get("Grpc-Metadata-Other") != "x" {
				t.Errorf("stale read: status %d, headers %v; want 200, %s: 12", resp.status, resp.header, StaleHeader)
			}
			env.fake.setHeader(nil)
			resp = env.get(t, "/api/v1/topology/summary")
			if got := resp.header.Get(StaleHeader); got != "" {
				t.Errorf("fresh read: %s = %q, want none", StaleHeader, got)
			}
			env.fake.setErr(status.Error(codes.Unavailable, "ZooKeeper is unreachable"))
			resp = env.do(t, "POST", "/api/v1/topology/wc-1-2/deactivate", "", nil)
			if got := resp.header.Get("Retry-After"); got != strconv.Itoa(RetryAfterSecs) {
				t.Errorf("503: Retry-After = %q, want %d", got, RetryAfterSecs)
			}
			if got := wantErrorBody(t, resp, 503); got != "ZooKeeper is unreachable" {
				t.Errorf("503: errorMessage = %q", got)
			}
		})
	}
}

// TestParsePathLikeStorm checks that the URLs Storm's docs show work as
// written.
func TestParsePathLikeStorm(t *testing.T) {
	env := newTestEnv(t, viaClient, DefaultGatewayConfig())
	for _, raw := range []string{
		"/api/v1/topology/WordCount3-1-1402960825",
		"/api/v1/topology/WordCount3-1-1402960825?sys=1",
		"/api/v1/topology/WordCount3-1-1402960825?window=600",
		"/api/v1/topology/WordCount3-1-1402960825/component/spout",
		"/api/v1/topology/WordCount3-1-1402960825/component/spout?sys=1",
		"/api/v1/topology/WordCount3-1-1402960825/component/spout?window=600",
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if resp := env.get(t, u.String()); resp.status != 200 {
			t.Errorf("GET %s: status %d: %s", raw, resp.status, resp.body)
		}
	}
}
