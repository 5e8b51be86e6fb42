package api

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fakeNimbus is a NimbusServer that records every call and answers with the
// response set for the method, a default, or the error set for all calls.
type fakeNimbus struct {
	UnimplementedNimbusServer

	mu sync.Mutex
	// calls lists the calls received, in order.
	calls []fakeCall
	// err, when set, is every method's answer.
	err error
	// resp holds the answer of a method, by method name.
	resp map[string]proto.Message
	// pkg is what DownloadPackage streams.
	pkg fakePackage
	// header, when set, is sent as every answer's response header.
	header metadata.MD
}

type fakeCall struct {
	method string
	req    proto.Message
	// md is the call's incoming gRPC metadata.
	md metadata.MD
}

type fakePackage struct {
	manifest  *PackageManifest
	resources []byte
	goBinary  []byte
}

func newFakeNimbus() *fakeNimbus {
	return &fakeNimbus{resp: map[string]proto.Message{}}
}

func (f *fakeNimbus) setErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *fakeNimbus) setHeader(md metadata.MD) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.header = md
}

func (f *fakeNimbus) setResp(method string, m proto.Message) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resp[method] = m
}

// lastCall returns the last call received, and whether there was one.
func (f *fakeNimbus) lastCall() (fakeCall, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		return fakeCall{}, false
	}
	return f.calls[len(f.calls)-1], true
}

func (f *fakeNimbus) numCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// answer records a call and returns the method's answer: the error set for
// all calls, the response set for the method, or def.
func answer[T proto.Message](ctx context.Context, f *fakeNimbus, method string, req proto.Message, def T) (T, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fakeCall{method, proto.Clone(req), md})
	if f.header != nil {
		_ = grpc.SetHeader(ctx, f.header)
	}
	var zero T
	if f.err != nil {
		return zero, f.err
	}
	if m, ok := f.resp[method]; ok {
		return m.(T), nil
	}
	return def, nil
}

func (f *fakeNimbus) GetClusterSummary(ctx context.Context, r *GetClusterSummaryRequest) (*GetClusterSummaryResponse, error) {
	return answer(ctx, f, "GetClusterSummary", r, &GetClusterSummaryResponse{})
}

func (f *fakeNimbus) GetClusterConfiguration(ctx context.Context, r *GetClusterConfigurationRequest) (*GetClusterConfigurationResponse, error) {
	return answer(ctx, f, "GetClusterConfiguration", r, &GetClusterConfigurationResponse{})
}

func (f *fakeNimbus) GetNimbusSummary(ctx context.Context, r *GetNimbusSummaryRequest) (*GetNimbusSummaryResponse, error) {
	return answer(ctx, f, "GetNimbusSummary", r, &GetNimbusSummaryResponse{})
}

func (f *fakeNimbus) GetSupervisorSummary(ctx context.Context, r *GetSupervisorSummaryRequest) (*GetSupervisorSummaryResponse, error) {
	return answer(ctx, f, "GetSupervisorSummary", r, &GetSupervisorSummaryResponse{})
}

func (f *fakeNimbus) GetTopology(ctx context.Context, r *GetTopologyRequest) (*GetTopologyResponse, error) {
	return answer(ctx, f, "GetTopology", r, &GetTopologyResponse{Id: r.GetId()})
}

func (f *fakeNimbus) ListTopologies(ctx context.Context, r *ListTopologiesRequest) (*ListTopologiesResponse, error) {
	return answer(ctx, f, "ListTopologies", r, &ListTopologiesResponse{})
}

func (f *fakeNimbus) GetComponent(ctx context.Context, r *GetComponentRequest) (*GetComponentResponse, error) {
	return answer(ctx, f, "GetComponent", r, &GetComponentResponse{Id: r.GetComponent(), TopologyId: r.GetId()})
}

func (f *fakeNimbus) GetErrors(ctx context.Context, r *GetErrorsRequest) (*GetErrorsResponse, error) {
	return answer(ctx, f, "GetErrors", r, &GetErrorsResponse{TopologyId: r.GetId()})
}

func (f *fakeNimbus) ActivateTopology(ctx context.Context, r *ActivateTopologyRequest) (*TopologyOperationResponse, error) {
	return answer(ctx, f, "ActivateTopology", r, OperationResponse(OperationActivate, r.GetId()))
}

func (f *fakeNimbus) DeactivateTopology(ctx context.Context, r *DeactivateTopologyRequest) (*TopologyOperationResponse, error) {
	return answer(ctx, f, "DeactivateTopology", r, OperationResponse(OperationDeactivate, r.GetId()))
}

func (f *fakeNimbus) RebalanceTopology(ctx context.Context, r *RebalanceTopologyRequest) (*TopologyOperationResponse, error) {
	return answer(ctx, f, "RebalanceTopology", r, OperationResponse(OperationRebalance, r.GetId()))
}

func (f *fakeNimbus) KillTopology(ctx context.Context, r *KillTopologyRequest) (*TopologyOperationResponse, error) {
	return answer(ctx, f, "KillTopology", r, OperationResponse(OperationKill, r.GetId()))
}

func (f *fakeNimbus) DebugTopology(ctx context.Context, r *DebugTopologyRequest) (*TopologyOperationResponse, error) {
	return answer(ctx, f, "DebugTopology", r, OperationResponse("debug", r.GetId()))
}

func (f *fakeNimbus) SubmitTopology(ctx context.Context, r *SubmitTopologyRequest) (*SubmitTopologyResponse, error) {
	return answer(ctx, f, "SubmitTopology", r, &SubmitTopologyResponse{
		TopologyOperation: OperationSubmit,
		TopologyId:        "wordcount-1-1700000000",
		Status:            StatusSuccess,
		TopologyName:      "wordcount",
		DryRun:            r.GetDryRun(),
	})
}

// UploadTopology receives the upload and answers as SubmitTopology does,
// recording the submission with its parts as a SubmitTopology call.
func (f *fakeNimbus) UploadTopology(stream grpc.ClientStreamingServer[UploadTopologyRequest, SubmitTopologyResponse]) error {
	spool := NewSpool("")
	defer spool.Close()
	u, err := ReceiveUpload(stream.Context(), stream, spool, UploadLimits{MaxBytes: DefaultMaxSubmitBytes})
	if err != nil {
		return err
	}
	req, err := u.request()
	if err != nil {
		return err
	}
	resp, err := f.SubmitTopology(stream.Context(), req)
	if err != nil {
		return err
	}
	return stream.SendAndClose(resp)
}

func (f *fakeNimbus) DownloadPackage(r *DownloadPackageRequest, s grpc.ServerStreamingServer[DownloadPackageResponse]) error {
	if _, err := answer(s.Context(), f, "DownloadPackage", r, &DownloadPackageResponse{}); err != nil {
		return err
	}
	f.mu.Lock()
	pkg := f.pkg
	f.mu.Unlock()
	return SendPackage(s, pkg.manifest, bytes.NewReader(pkg.resources), bytes.NewReader(pkg.goBinary))
}

// testEnv is a fake nimbus served over gRPC on 127.0.0.1:0, a client
// connected to it, and the REST gateway in front of it on an httptest
// server.
type testEnv struct {
	fake   *fakeNimbus
	client NimbusClient
	// url is the gateway's base URL, "http://127.0.0.1:port".
	url string
}

// Gateway targets the tests run against.
const (
	viaClient = "client" // ForClient over a real gRPC connection
	viaServer = "server" // ForServer, in process
)

var targets = []string{viaClient, viaServer}

func newTestEnv(t *testing.T, target string, cfg GatewayConfig) *testEnv {
	t.Helper()
	fake := newFakeNimbus()

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(MaxMessageBytes(cfg.MaxSubmitBytes)))
	RegisterNimbusServer(srv, fake)
	var wg sync.WaitGroup
	wg.Go(func() { _ = srv.Serve(lis) })
	t.Cleanup(func() {
		srv.Stop()
		wg.Wait()
	})

	conn, err := grpc.NewClient(lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(MaxMessageBytes(cfg.MaxSubmitBytes))))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	client := NewNimbusClient(conn)

	gt := ForClient(client)
	if target == viaServer {
		gt = ForServer(fake)
	}
	gw, err := NewGatewayHandler(gt, cfg)
	if err != nil {
		t.Fatalf("NewGatewayHandler: %v", err)
	}
	hs := httptest.NewServer(gw)
	t.Cleanup(hs.Close)
	return &testEnv{fake: fake, client: client, url: hs.URL}
}

// response is an HTTP response read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request to the gateway. path is sent as written (raw, already
// escaped); contentType may be empty.
func (e *testEnv) do(t *testing.T, method, path, contentType string, body io.Reader) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, e.url+path, body)
	if err != nil {
		t.Fatalf("new request %s %s: %v", method, path, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func (e *testEnv) get(t *testing.T, path string) response {
	t.Helper()
	return e.do(t, http.MethodGet, path, "", nil)
}

// wantCall fails unless the fake's last call is method with a request
// equal to want.
func wantCall(t *testing.T, f *fakeNimbus, method string, want proto.Message) {
	t.Helper()
	c, ok := f.lastCall()
	if !ok {
		t.Fatalf("no call reached nimbus, want %s", method)
	}
	if c.method != method {
		t.Fatalf("call reached %s, want %s", c.method, method)
	}
	if !proto.Equal(c.req, want) {
		t.Fatalf("%s request:\n%s\nwant:\n%s", method, prototext.Format(c.req), prototext.Format(want))
	}
}

// wantErrorBody fails unless resp has the given status and Storm's error
// body, exactly {"error": "<status> <text>", "errorMessage": ...}; it
// returns the errorMessage.
func wantErrorBody(t *testing.T, resp response, status int) string {
	t.Helper()
	if resp.status != status {
		t.Fatalf("status = %d, want %d; body %s", resp.status, status, resp.body)
	}
	if ct := resp.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type = %q, want application/json", ct)
	}
	var body map[string]any
	if err := json.Unmarshal(resp.body, &body); err != nil {
		t.Fatalf("error body %s: %v", resp.body, err)
	}
	if len(body) != 2 {
		t.Errorf("error body %s: want exactly the keys error and errorMessage", resp.body)
	}
	wantError := NewErrorBody(status, "").Error
	if body["error"] != wantError {
		t.Errorf("error body %s: error = %v, want %q", resp.body, body["error"], wantError)
	}
	msg, ok := body["errorMessage"].(string)
	if !ok {
		t.Fatalf("error body %s: errorMessage is not a string", resp.body)
	}
	if strings.Contains(msg, "goroutine ") || strings.Contains(msg, ".go:") {
		t.Errorf("errorMessage %q looks like a stack trace", msg)
	}
	return msg
}

// checkGolden compares got, pretty-printed, with testdata/name; with
// -update it rewrites the file instead.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, got, "", "  "); err != nil {
		t.Fatalf("%s: response is not JSON: %v\n%s", name, err, got)
	}
	pretty.WriteByte('\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatalf("update golden: %v", err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run go test ./api -update to create it): %v", err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Errorf("%s differs from the golden file (go test ./api -update rewrites it); got:\n%s", path, pretty.Bytes())
	}
}
