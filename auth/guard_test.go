package auth

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/auth/redact"
)

// testNimbus serves the Nimbus API over a fixed set of topologies and
// records who called. It stands in for nimbus, which these tests do not
// test: the Guard in front of it is the subject.
type testNimbus struct {
	api.UnimplementedNimbusServer

	mu sync.Mutex
	// Guarded by mu:
	topos   map[string]testTopology // by id
	callers []Principal
	killed  []string
}

type testTopology struct {
	name string
	acl  TopologyACL
}

func newTestNimbus() *testNimbus {
	return &testNimbus{topos: map[string]testTopology{
		"wc-1-1":    {name: "wc", acl: TopologyACL{ID: "wc-1-1", Owner: "alice", ReadOnlyUsers: []string{"carol"}}},
		"other-2-2": {name: "other", acl: TopologyACL{ID: "other-2-2", Owner: "carol"}},
	}}
}

func (s *testNimbus) saw(ctx context.Context) Principal {
	p, ok := FromContext(ctx)
	if !ok {
		panic("a call reached the service without a principal")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.callers = append(s.callers, p)
	return p
}

func (s *testNimbus) lastCaller() Principal {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.callers) == 0 {
		return Principal{}
	}
	return s.callers[len(s.callers)-1]
}

// acls is the ACLSource of the test topologies.
func (s *testNimbus) acls(_ context.Context, id, name string) (TopologyACL, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for tid, t := range s.topos {
		if tid == id || id == "" && t.name == name {
			return t.acl, nil
		}
	}
	return TopologyACL{}, ErrUnknownTopology
}

func secretConfig() *structpb.Struct {
	s, _ := structpb.NewStruct(map[string]any{"topology.workers": 1, "db.password": "hunter2"})
	return s
}

func (s *testNimbus) GetClusterSummary(ctx context.Context, _ *api.GetClusterSummaryRequest) (*api.GetClusterSummaryResponse, error) {
	return &api.GetClusterSummaryResponse{User: s.saw(ctx).Name}, nil
}

func (s *testNimbus) GetClusterConfiguration(ctx context.Context, _ *api.GetClusterConfigurationRequest) (*api.GetClusterConfigurationResponse, error) {
	s.saw(ctx)
	return &api.GetClusterConfigurationResponse{Configuration: secretConfig()}, nil
}

func (s *testNimbus) ListTopologies(ctx context.Context, _ *api.ListTopologiesRequest) (*api.ListTopologiesResponse, error) {
	s.saw(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	resp := &api.ListTopologiesResponse{}
	for _, id := range slices.Sorted(func(yield func(string) bool) {
		for id := range s.topos {
			if !yield(id) {
				return
			}
		}
	}) {
		resp.Topologies = append(resp.Topologies, &api.TopologySummary{Id: id, Name: s.topos[id].name, Owner: s.topos[id].acl.Owner})
	}
	// A topology killed between the list and the filter.
	resp.Topologies = append(resp.Topologies, &api.TopologySummary{Id: "gone-3-3"})
	return resp, nil
}

func (s *testNimbus) GetTopology(ctx context.Context, req *api.GetTopologyRequest) (*api.GetTopologyResponse, error) {
	p := s.saw(ctx)
	return &api.GetTopologyResponse{Id: req.GetId(), User: p.Name, Configuration: secretConfig()}, nil
}

func (s *testNimbus) GetVisualization(ctx context.Context, _ *api.GetVisualizationRequest) (*api.GetVisualizationResponse, error) {
	s.saw(ctx)
	return &api.GetVisualizationResponse{}, nil
}

// GetSupervisor answers a worker of every test topology, and one of a
// topology gone since.
func (s *testNimbus) GetSupervisor(ctx context.Context, _ *api.GetSupervisorRequest) (*api.GetSupervisorResponse, error) {
	s.saw(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	resp := &api.GetSupervisorResponse{}
	for _, id := range slices.Sorted(maps.Keys(s.topos)) {
		resp.Workers = append(resp.Workers, &api.WorkerSummary{TopologyId: id})
	}
	resp.Workers = append(resp.Workers, &api.WorkerSummary{TopologyId: "gone-3-3"})
	return resp, nil
}

func (s *testNimbus) KillTopology(ctx context.Context, req *api.KillTopologyRequest) (*api.TopologyOperationResponse, error) {
	s.saw(ctx)
	acl, err := s.acls(ctx, req.GetId(), req.GetName())
	if err != nil {
		return nil, status.Error(codes.NotFound, "no such topology")
	}
	s.mu.Lock()
	s.killed = append(s.killed, acl.ID)
	s.mu.Unlock()
	return &api.TopologyOperationResponse{TopologyOperation: "kill", TopologyId: acl.ID, Status: "success"}, nil
}

func (s *testNimbus) SubmitTopology(ctx context.Context, req *api.SubmitTopologyRequest) (*api.SubmitTopologyResponse, error) {
	p := s.saw(ctx)
	id := req.GetName() + "-9-9"
	s.mu.Lock()
	s.topos[id] = testTopology{name: req.GetName(), acl: TopologyACL{ID: id, Owner: p.Name}}
	s.mu.Unlock()
	return &api.SubmitTopologyResponse{TopologyOperation: "submit", TopologyId: id, Status: "success", TopologyName: req.GetName()}, nil
}

func (s *testNimbus) DownloadPackage(req *api.DownloadPackageRequest, stream api.Nimbus_DownloadPackageServer) error {
	s.saw(stream.Context())
	return stream.Send(&api.DownloadPackageResponse{Content: &api.DownloadPackageResponse_Manifest{
		Manifest: &api.PackageManifest{TopologyId: req.GetTopologyId(), Submission: &api.SubmitTopologyRequest{Config: secretConfig()}},
	}})
}

// syncBuffer is a bytes.Buffer for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the JSON lines written so far.
func (b *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("audit line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// harnessOptions say which layers a harness turns on.
type harnessOptions struct {
	tokens   bool // bearer tokens (nimbus.auth.tokens.file)
	mtls     bool // TLS with client certificates on gRPC and REST
	readOnly bool // ui.actions.enabled: false
}

// harness is nimbus's API as nimbus will serve it: a gRPC server with the
// Guard's interceptors and ServerCredentials, and the REST gateway behind
// the Guard's middleware, calling the server through a Link.
type harness struct {
	svc      *testNimbus
	grpcAddr string
	restURL  string
	pki      *testPKI
	tokens   map[string]string
	tokDir   string
	audit    *syncBuffer
	opts     harnessOptions
}

// principals of the harness: alice owns wc-1-1, carol owns other-2-2 and
// may read wc-1-1, bob is nobody, admin is an admin, sup a supervisor,
// nimbus a daemon.
var harnessPrincipals = []string{"alice:devs", "bob", "carol", "admin", "sup", "nimbus"}

func startHarness(t *testing.T, opts harnessOptions) *harness {
	t.Helper()
	h := &harness{svc: newTestNimbus(), audit: &syncBuffer{}, opts: opts, tokDir: t.TempDir()}
	var tokens *TokenStore
	if opts.tokens {
		path, toks := testTokens(t, harnessPrincipals...)
		h.tokens = toks
		var err error
		if tokens, err = LoadTokens(path); err != nil {
			t.Fatal(err)
		}
	}
	var grpcTLS, restTLS *tls.Config
	if opts.mtls {
		h.pki = newTestPKI(t)
		st := h.pki.server(t)
		var err error
		if grpcTLS, err = st.Config(); err != nil {
			t.Fatal(err)
		}
		restTLS = grpcTLS
	}
	pol := Policy{
		Enforce:          opts.tokens || opts.mtls,
		Admins:           []string{"admin"},
		SupervisorUsers:  []string{"sup"},
		DaemonUsers:      []string{"nimbus"},
		UIActionsEnabled: !opts.readOnly,
	}
	guard, err := NewGuard(GuardConfig{
		Authenticator: NewAuthenticator(tokens, opts.mtls, pol),
		Policy:        pol,
		Methods:       NimbusMethods(),
		ACLs:          h.svc.acls,
		Audit:         NewAudit(slog.New(slog.NewJSONHandler(h.audit, nil))),
	})
	if err != nil {
		t.Fatal(err)
	}

	gs := grpc.NewServer(append(guard.ServerOptions(), grpc.Creds(ServerCredentials(grpcTLS)))...)
	api.RegisterNimbusServer(gs, h.svc)
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	link := NewLink()
	var wg sync.WaitGroup
	wg.Go(func() { gs.Serve(gl) })
	wg.Go(func() { gs.Serve(link.Listener()) })
	h.grpcAddr = gl.Addr().String()

	conn, err := grpc.NewClient(LinkTarget, link.DialOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	gw, err := api.NewGatewayHandler(api.ForClient(api.NewNimbusClient(conn)), api.DefaultGatewayConfig())
	if err != nil {
		t.Fatal(err)
	}
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: guard.HTTP(gw)}
	scheme := "http"
	if restTLS != nil {
		hl = tls.NewListener(hl, restTLS)
		scheme = "https"
	}
	wg.Go(func() { hs.Serve(hl) })
	h.restURL = scheme + "://" + hl.Addr().String()
	t.Cleanup(func() {
		hs.Close()
		conn.Close()
		gs.Stop()
		link.Close()
		wg.Wait()
	})
	return h
}

// grpcClient returns a Nimbus client authenticated as who ("" for no
// credentials): by token when the harness has tokens, else by certificate.
func (h *harness) grpcClient(t *testing.T, who string) api.NimbusClient {
	t.Helper()
	var cs ClientSettings
	if h.opts.mtls {
		cs.UseTLS = true
		cs.TLS = ClientTLS{CAFile: h.pki.caFile, ServerName: "localhost"}
		if who != "" && !h.opts.tokens {
			cs.TLS = h.pki.client(t, strings.Split(who, ":")[0], groupsOf(who)...)
		}
	}
	if who != "" && h.opts.tokens {
		cs.TokenFile = filepath.Join(h.tokDir, who)
		if err := os.WriteFile(cs.TokenFile, []byte(h.tokens[who]+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	opts, err := cs.DialOptions(h.grpcAddr)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(h.grpcAddr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return api.NewNimbusClient(conn)
}

func groupsOf(spec string) []string {
	for _, p := range harnessPrincipals {
		if name, groups, ok := strings.Cut(p, ":"); ok && name == spec {
			return strings.Split(groups, ",")
		}
	}
	return nil
}

// rest sends a REST request as who and returns the status and body.
func (h *harness) rest(t *testing.T, who, method, path string, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, h.restURL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs // as given: not canonicalized
	}
	tr := &http.Transport{}
	if h.opts.mtls {
		ct := ClientTLS{CAFile: h.pki.caFile, ServerName: "localhost"}
		if who != "" && !h.opts.tokens {
			ct = h.pki.client(t, who, groupsOf(who)...)
		}
		cfg, err := ct.Config()
		if err != nil {
			t.Fatal(err)
		}
		tr.TLSClientConfig = cfg
	}
	if who != "" && h.opts.tokens {
		req.Header.Set("Authorization", "Bearer "+h.tokens[who])
	}
	c := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("%s %s: 401 without WWW-Authenticate", method, path)
	}
	return resp.StatusCode, string(body)
}

func TestNimbusMethodsCoverTheService(t *testing.T) {
	table := NimbusMethods()
	svc := api.File_squall_v1_nimbus_proto.Services().ByName("Nimbus")
	if svc == nil {
		t.Fatal("no Nimbus service in the descriptor")
	}
	methods := svc.Methods()
	served := map[string]bool{}
	for i := range methods.Len() {
		full := "/" + string(svc.FullName()) + "/" + string(methods.Get(i).Name())
		served[full] = true
		if _, ok := table[full]; !ok {
			t.Errorf("%s is not in NimbusMethods: give it an operation (the Guard refuses it meanwhile)", full)
		}
	}
	for full := range table {
		if !served[full] {
			t.Errorf("NimbusMethods has %s, which the service does not have", full)
		}
	}
	// The generated service description agrees with the descriptor.
	n := len(api.Nimbus_ServiceDesc.Methods) + len(api.Nimbus_ServiceDesc.Streams)
	if n != len(served) {
		t.Errorf("service description has %d methods, descriptor %d", n, len(served))
	}
	if _, err := NewGuard(GuardConfig{Authenticator: NewAuthenticator(nil, false, Policy{}), Methods: table}); err == nil {
		t.Errorf("NewGuard without ACLs for topology rules = nil error")
	}
}

func TestGuardRefusesMethodsNotInTheTable(t *testing.T) {
	g, err := NewGuard(GuardConfig{Authenticator: NewAuthenticator(nil, false, Policy{}), Methods: map[string]MethodRule{}})
	if err != nil {
		t.Fatal(err)
	}
	called := false
	_, err = g.UnaryInterceptor(t.Context(), nil, &grpc.UnaryServerInfo{FullMethod: "/squall.v1.Nimbus/New"},
		func(context.Context, any) (any, error) { called = true; return nil, nil })
	if status.Code(err) != codes.PermissionDenied || called {
		t.Errorf("unary call of a method not in the table: %v (handler called: %v), want PermissionDenied", err, called)
	}
	err = g.StreamInterceptor(nil, ctxStream{ctx: t.Context()}, &grpc.StreamServerInfo{FullMethod: "/squall.v1.Nimbus/NewStream"},
		func(any, grpc.ServerStream) error { called = true; return nil })
	if status.Code(err) != codes.PermissionDenied || called {
		t.Errorf("stream call of a method not in the table: %v (handler called: %v), want PermissionDenied", err, called)
	}
}

// ctxStream is a server stream that has a context and nothing else.
type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s ctxStream) Context() context.Context { return s.ctx }

func TestGuardTokensGRPC(t *testing.T) {
	h := startHarness(t, harnessOptions{tokens: true})
	ctx := t.Context()
	alice, bob, admin, sup := h.grpcClient(t, "alice"), h.grpcClient(t, "bob"), h.grpcClient(t, "admin"), h.grpcClient(t, "sup")

	code := func(err error) codes.Code { return status.Code(err) }
	tests := []struct {
		name string
		call func() error
		want codes.Code
	}{
		{"no credentials", func() error {
			_, err := h.grpcClient(t, "").GetClusterSummary(ctx, &api.GetClusterSummaryRequest{})
			return err
		}, codes.Unauthenticated},
		{"owner kills", func() error { _, err := alice.KillTopology(ctx, &api.KillTopologyRequest{Id: "wc-1-1"}); return err }, codes.OK},
		{"owner kills by name", func() error { _, err := alice.KillTopology(ctx, &api.KillTopologyRequest{Name: "wc"}); return err }, codes.OK},
		{"stranger kills", func() error { _, err := bob.KillTopology(ctx, &api.KillTopologyRequest{Id: "wc-1-1"}); return err }, codes.PermissionDenied},
		{"stranger kills by name", func() error { _, err := bob.KillTopology(ctx, &api.KillTopologyRequest{Name: "wc"}); return err }, codes.PermissionDenied},
		{"stranger views", func() error { _, err := bob.GetTopology(ctx, &api.GetTopologyRequest{Id: "wc-1-1"}); return err }, codes.PermissionDenied},
		{"read-only user views", func() error {
			_, err := h.grpcClient(t, "carol").GetTopology(ctx, &api.GetTopologyRequest{Id: "wc-1-1"})
			return err
		}, codes.OK},
		{"read-only user kills", func() error {
			_, err := h.grpcClient(t, "carol").KillTopology(ctx, &api.KillTopologyRequest{Id: "wc-1-1"})
			return err
		}, codes.PermissionDenied},
		{"admin kills another's", func() error { _, err := admin.KillTopology(ctx, &api.KillTopologyRequest{Id: "other-2-2"}); return err }, codes.OK},
		{"unknown topology", func() error { _, err := alice.KillTopology(ctx, &api.KillTopologyRequest{Id: "nope-1-1"}); return err }, codes.NotFound},
		{"supervisor downloads", func() error { return download(ctx, sup, "wc-1-1") }, codes.OK},
		{"owner downloads", func() error { return download(ctx, alice, "wc-1-1") }, codes.PermissionDenied},
		{"supervisor lists", func() error { _, err := sup.ListTopologies(ctx, &api.ListTopologiesRequest{}); return err }, codes.PermissionDenied},
		{"owner reads the graph", func() error {
			_, err := alice.GetVisualization(ctx, &api.GetVisualizationRequest{Id: "wc-1-1"})
			return err
		}, codes.OK},
		{"stranger reads the graph", func() error {
			_, err := bob.GetVisualization(ctx, &api.GetVisualizationRequest{Id: "wc-1-1"})
			return err
		}, codes.PermissionDenied},
		{"user submits", func() error { _, err := bob.SubmitTopology(ctx, &api.SubmitTopologyRequest{Name: "bobs"}); return err }, codes.OK},
	}
	for _, tt := range tests {
		if got := code(tt.call()); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	if p := h.svc.lastCaller(); p.Name != "bob" || p.Method != MethodToken || p.Via != ViaDirect {
		t.Errorf("the service saw the submission from %+v, want bob by token over gRPC", p)
	}

	// Lists hold only what the caller may view; configurations are
	// redacted for everyone.
	listed := func(c api.NimbusClient) []string {
		resp, err := c.ListTopologies(ctx, &api.ListTopologiesRequest{})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, s := range resp.GetTopologies() {
			ids = append(ids, s.GetId())
		}
		return ids
	}
	if got := listed(alice); !slices.Equal(got, []string{"wc-1-1"}) {
		t.Errorf("alice's list = %v, want [wc-1-1]", got)
	}
	if got := listed(bob); !slices.Equal(got, []string{"bobs-9-9"}) {
		t.Errorf("bob's list = %v, want his own [bobs-9-9]", got)
	}
	if got := listed(admin); len(got) != 3 {
		t.Errorf("admin's list = %v, want all three live topologies", got)
	}
	// The supervisor route shows the workers of what the caller may view.
	sv, err := alice.GetSupervisor(ctx, &api.GetSupervisorRequest{Id: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if w := sv.GetWorkers(); len(w) != 1 || w[0].GetTopologyId() != "wc-1-1" {
		t.Errorf("alice's supervisor workers = %v, want wc-1-1's only", w)
	}
	topo, err := alice.GetTopology(ctx, &api.GetTopologyRequest{Id: "wc-1-1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := topo.GetConfiguration().GetFields()["db.password"].GetStringValue(); got != redact.Mask {
		t.Errorf("topology configuration shows db.password = %q", got)
	}
	if topo.GetUser() != "alice" {
		t.Errorf("topology page user = %q, want alice", topo.GetUser())
	}
	conf, err := bob.GetClusterConfiguration(ctx, &api.GetClusterConfigurationRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got := conf.GetConfiguration().GetFields()["db.password"].GetStringValue(); got != redact.Mask {
		t.Errorf("cluster configuration shows db.password = %q", got)
	}

	// The audit log: who, what, result.
	var kills []string
	for _, l := range h.audit.lines(t) {
		if l["op"] == "killTopology" {
			kills = append(kills, l["who"].(string)+" "+l["topology"].(string)+" "+l["result"].(string))
		}
		if l["time"] == nil {
			t.Errorf("audit line without a time: %v", l)
		}
	}
	want := []string{"alice wc-1-1 ok", "alice wc-1-1 ok", "bob wc-1-1 denied", "bob wc-1-1 denied", "carol wc-1-1 denied", "admin other-2-2 ok", "alice nope-1-1 NotFound"}
	if !slices.Equal(kills, want) {
		t.Errorf("audited kills:\n%v\nwant\n%v", kills, want)
	}
}

func download(ctx context.Context, c api.NimbusClient, id string) error {
	stream, err := c.DownloadPackage(ctx, &api.DownloadPackageRequest{TopologyId: id})
	if err != nil {
		return err
	}
	m, err := stream.Recv()
	if err != nil {
		return err
	}
	// Supervisors need the real configuration.
	if got := m.GetManifest().GetSubmission().GetConfig().GetFields()["db.password"].GetStringValue(); got != "hunter2" {
		return errors.New("the package's configuration was redacted")
	}
	return nil
}

func TestGuardIdentityForwarding(t *testing.T) {
	h := startHarness(t, harnessOptions{tokens: true})
	ctx := t.Context()
	as := func(p Principal) context.Context {
		return metadata.AppendToOutgoingContext(ctx, IdentityMetadataKey, EncodeIdentity(p))
	}
	alice := Principal{Name: "alice", Method: MethodToken, Via: ViaDirect}
	admin := Principal{Name: "admin", Method: MethodToken}

	// A follower nimbus forwards alice's request: it runs as alice.
	nimbus := h.grpcClient(t, "nimbus")
	fwd := ForwardContext(NewContext(ctx, alice))
	if _, err := nimbus.KillTopology(fwd, &api.KillTopologyRequest{Id: "wc-1-1"}); err != nil {
		t.Fatalf("forwarded kill by the owner: %v", err)
	}
	if p := h.svc.lastCaller(); p.Name != "alice" || p.Forwarder != "nimbus" || p.Via != ViaNimbus {
		t.Errorf("forwarded call ran as %+v, want alice forwarded by nimbus", p)
	}
	bob := Principal{Name: "bob", Method: MethodToken}
	if _, err := nimbus.KillTopology(as(bob), &api.KillTopologyRequest{Id: "wc-1-1"}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("forwarded kill by a stranger: %v, want PermissionDenied", err)
	}
	// A forwarded REST request stays a REST request (ui.actions.enabled).
	restAlice := alice
	restAlice.Via = ViaREST
	if _, err := nimbus.GetClusterSummary(as(restAlice), &api.GetClusterSummaryRequest{}); err != nil {
		t.Fatal(err)
	}
	if p := h.svc.lastCaller(); p.Via != ViaREST || p.Forwarder != "nimbus" {
		t.Errorf("forwarded REST call ran as %+v", p)
	}

	// Anyone else claiming to forward is refused, and so are garbage and
	// doubled identities.
	mallory := h.grpcClient(t, "bob")
	if _, err := mallory.KillTopology(as(admin), &api.KillTopologyRequest{Id: "wc-1-1"}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("bob forwarding admin: %v, want PermissionDenied", err)
	}
	if _, err := h.grpcClient(t, "").KillTopology(as(admin), &api.KillTopologyRequest{Id: "wc-1-1"}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("nobody forwarding admin: %v, want Unauthenticated", err)
	}
	bad := metadata.AppendToOutgoingContext(ctx, IdentityMetadataKey, "!!!")
	if _, err := nimbus.GetClusterSummary(bad, &api.GetClusterSummaryRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("garbage identity: %v, want Unauthenticated", err)
	}
	two := metadata.AppendToOutgoingContext(as(alice), IdentityMetadataKey, EncodeIdentity(admin))
	if _, err := nimbus.GetClusterSummary(two, &api.GetClusterSummaryRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("two identities: %v, want Unauthenticated", err)
	}
	worker := Principal{Name: WorkerPrincipalName("wc-1-1"), Method: MethodWorkerSecret}
	if _, err := nimbus.GetClusterSummary(as(worker), &api.GetClusterSummaryRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("forwarded worker identity: %v, want Unauthenticated", err)
	}
}

func TestGuardTokensREST(t *testing.T) {
	h := startHarness(t, harnessOptions{tokens: true})
	tests := []struct {
		name, who, method, path string
		header                  http.Header
		want                    int
	}{
		{"no credentials", "", "GET", "/api/v1/cluster/summary", nil, 401},
		{"bad token", "", "GET", "/api/v1/cluster/summary", http.Header{"Authorization": {"Bearer sqt_nope"}}, 401},
		{"basic auth", "", "GET", "/api/v1/cluster/summary", http.Header{"Authorization": {"Basic YWxpY2U6cHc="}}, 401},
		{"owner views", "alice", "GET", "/api/v1/topology/wc-1-1", nil, 200},
		{"stranger views", "bob", "GET", "/api/v1/topology/wc-1-1", nil, 403},
		{"owner kills", "alice", "POST", "/api/v1/topology/wc-1-1/kill/0", nil, 200},
		{"stranger kills", "bob", "POST", "/api/v1/topology/wc-1-1/kill/0", nil, 403},
		{"unknown topology", "alice", "POST", "/api/v1/topology/nope-1-1/kill/0", nil, 404},
		{"stranger spoofs admin", "bob", "POST", "/api/v1/topology/wc-1-1/kill/0",
			http.Header{"Grpc-Metadata-Squall-Identity": {EncodeIdentity(Principal{Name: "admin", Method: MethodToken})}}, 403},
		{"nobody spoofs admin", "", "POST", "/api/v1/topology/wc-1-1/kill/0",
			http.Header{"Grpc-Metadata-Squall-Identity": {EncodeIdentity(Principal{Name: "admin", Method: MethodToken})}}, 401},
		{"spoof in lower case", "bob", "POST", "/api/v1/topology/wc-1-1/kill/0",
			http.Header{"grpc-metadata-squall-identity": {EncodeIdentity(Principal{Name: "admin", Method: MethodToken})}}, 403},
		{"spoof through authorization metadata", "", "GET", "/api/v1/cluster/summary",
			http.Header{"Grpc-Metadata-Authorization": {"Bearer whatever"}}, 401},
	}
	for _, tt := range tests {
		if got, body := h.rest(t, tt.who, tt.method, tt.path, tt.header); got != tt.want {
			t.Errorf("%s: %s %s as %q = %d %s, want %d", tt.name, tt.method, tt.path, tt.who, got, body, tt.want)
		}
	}
	// The service sees the REST caller, not the gateway.
	if _, body := h.rest(t, "alice", "GET", "/api/v1/cluster/summary", nil); !strings.Contains(body, `"user":"alice"`) {
		t.Errorf("cluster summary over REST = %s, want user alice", body)
	}
	if p := h.svc.lastCaller(); p.Name != "alice" || p.Via != ViaREST || p.Method != MethodToken || !strings.HasPrefix(p.Remote, "127.0.0.1:") {
		t.Errorf("the service saw %+v, want alice by token via rest from 127.0.0.1", p)
	}
	_, body := h.rest(t, "alice", "GET", "/api/v1/topology/summary", nil)
	if !strings.Contains(body, "wc-1-1") || strings.Contains(body, "other-2-2") {
		t.Errorf("alice's topology list over REST = %s, want wc-1-1 only", body)
	}
	_, body = h.rest(t, "alice", "GET", "/api/v1/cluster/configuration", nil)
	if strings.Contains(body, "hunter2") {
		t.Errorf("cluster configuration over REST shows a password: %s", body)
	}
	code, body := h.rest(t, "", "GET", "/api/v1/cluster/summary", nil)
	var eb api.ErrorBody
	if err := json.Unmarshal([]byte(body), &eb); err != nil || code != 401 || eb.Error != "401 Unauthorized" || eb.ErrorMessage == "" {
		t.Errorf("401 body = %s, want Storm's error body", body)
	}
}

func TestGuardMutualTLS(t *testing.T) {
	h := startHarness(t, harnessOptions{mtls: true})
	ctx := t.Context()
	if _, err := h.grpcClient(t, "alice").KillTopology(ctx, &api.KillTopologyRequest{Id: "wc-1-1"}); err != nil {
		t.Errorf("owner's certificate kills: %v", err)
	}
	if p := h.svc.lastCaller(); p.Name != "alice" || p.Method != MethodMTLS || !slices.Equal(p.Groups, []string{"devs"}) {
		t.Errorf("the service saw %+v, want alice by mtls in devs", p)
	}
	if _, err := h.grpcClient(t, "bob").KillTopology(ctx, &api.KillTopologyRequest{Id: "wc-1-1"}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("stranger's certificate kills: %v, want PermissionDenied", err)
	}
	if _, err := h.grpcClient(t, "").GetClusterSummary(ctx, &api.GetClusterSummaryRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("no certificate: %v, want Unauthenticated", err)
	}
	// A token where only certificates are accepted.
	bearer := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer sqt_x")
	if _, err := h.grpcClient(t, "").GetClusterSummary(bearer, &api.GetClusterSummaryRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("a token without a token file: %v, want Unauthenticated", err)
	}

	for _, tt := range []struct {
		who, method, path string
		want              int
	}{
		{"alice", "POST", "/api/v1/topology/wc-1-1/kill/0", 200},
		{"bob", "POST", "/api/v1/topology/wc-1-1/kill/0", 403},
		{"", "GET", "/api/v1/cluster/summary", 401},
	} {
		if got, body := h.rest(t, tt.who, tt.method, tt.path, nil); got != tt.want {
			t.Errorf("%s %s as %q over HTTPS = %d %s, want %d", tt.method, tt.path, tt.who, got, body, tt.want)
		}
	}
	if p := h.svc.lastCaller(); p.Name != "alice" || p.Via != ViaREST || p.Method != MethodMTLS {
		t.Errorf("the service saw %+v over REST, want alice by mtls", p)
	}
}

func TestGuardReadOnlyREST(t *testing.T) {
	h := startHarness(t, harnessOptions{tokens: true, readOnly: true})
	if got, body := h.rest(t, "alice", "POST", "/api/v1/topology/wc-1-1/kill/0", nil); got != 403 || !strings.Contains(body, KeyUIActionsEnabled) {
		t.Errorf("kill over a read-only REST API = %d %s, want 403 naming %s", got, body, KeyUIActionsEnabled)
	}
	if got, _ := h.rest(t, "admin", "POST", "/api/v1/topologies", nil); got != 403 {
		t.Errorf("submit over a read-only REST API = %d, want 403", got)
	}
	if got, _ := h.rest(t, "alice", "GET", "/api/v1/topology/wc-1-1", nil); got != 200 {
		t.Errorf("view over a read-only REST API = %d, want 200", got)
	}
	if _, err := h.grpcClient(t, "alice").KillTopology(t.Context(), &api.KillTopologyRequest{Id: "wc-1-1"}); err != nil {
		t.Errorf("kill over gRPC with a read-only REST API: %v", err)
	}
}

func TestGuardAuthenticationOff(t *testing.T) {
	h := startHarness(t, harnessOptions{})
	if _, err := h.grpcClient(t, "").KillTopology(t.Context(), &api.KillTopologyRequest{Id: "wc-1-1"}); err != nil {
		t.Errorf("anonymous kill with authentication off: %v", err)
	}
	// A forged identity gains nothing: the caller stays anonymous.
	spoof := http.Header{"Grpc-Metadata-Squall-Identity": {EncodeIdentity(Principal{Name: "admin", Method: MethodToken})}}
	if got, _ := h.rest(t, "", "POST", "/api/v1/topology/other-2-2/kill/0", spoof); got != 200 {
		t.Errorf("anonymous REST kill with authentication off = %d, want 200", got)
	}
	if p := h.svc.lastCaller(); !p.IsAnonymous() || p.Via != ViaREST {
		t.Errorf("the service saw %+v, want anonymous via rest", p)
	}
	md := metadata.AppendToOutgoingContext(t.Context(), IdentityMetadataKey, EncodeIdentity(Principal{Name: "admin", Method: MethodToken}))
	if _, err := h.grpcClient(t, "").GetClusterSummary(md, &api.GetClusterSummaryRequest{}); err != nil {
		t.Fatal(err)
	}
	if p := h.svc.lastCaller(); !p.IsAnonymous() {
		t.Errorf("a forwarded identity without authentication was believed: %+v", p)
	}
	_, body := h.rest(t, "", "GET", "/api/v1/topology/summary", nil)
	if !strings.Contains(body, "wc-1-1") || !strings.Contains(body, "other-2-2") {
		t.Errorf("list with authentication off = %s, want every topology", body)
	}
	if _, body := h.rest(t, "", "GET", "/api/v1/topology/wc-1-1", nil); strings.Contains(body, "hunter2") {
		t.Errorf("configuration with authentication off shows a password: %s", body)
	}
}
