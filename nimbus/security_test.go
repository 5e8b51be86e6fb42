package nimbus

import (
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/auth"
	"github.com/squallstream/squall/cluster"
)

// tokenSet is a token file of principals and their tokens.
type tokenSet struct {
	file   string
	tokens map[string]string
}

func makeTokens(t *testing.T, names ...string) tokenSet {
	t.Helper()
	ts := tokenSet{file: filepath.Join(t.TempDir(), "tokens"), tokens: map[string]string{}}
	var lines []string
	for _, name := range names {
		tok, err := auth.NewToken()
		if err != nil {
			t.Fatal(err)
		}
		line, err := auth.TokenLine(tok, name, nil)
		if err != nil {
			t.Fatal(err)
		}
		ts.tokens[name] = tok
		lines = append(lines, line)
	}
	if err := os.WriteFile(ts.file, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return ts
}

// withTokens turns on bearer tokens, with admin as nimbus.admins.
func withTokens(ts tokenSet) option {
	return func(cfg *Config) {
		cfg.Security.TokensFile = ts.file
		cfg.Security.Policy = auth.Policy{Enforce: true, Admins: []string{"admin"}, UIActionsEnabled: true}
	}
}

// clientAs dials n's gRPC API with who's token ("" for none).
func clientAs(t *testing.T, n *testNimbus, ts tokenSet, who string) api.NimbusClient {
	t.Helper()
	var cs auth.ClientSettings
	if who != "" {
		cs.TokenFile = filepath.Join(t.TempDir(), "token")
		if err := os.WriteFile(cs.TokenFile, []byte(ts.tokens[who]), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	opts, err := cs.DialOptions(n.GRPCAddr())
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(n.GRPCAddr(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return api.NewNimbusClient(conn)
}

// TestSecuredNimbus runs a nimbus with bearer tokens and checks, through
// its real listeners, who may do what, that the submitter owns what it
// submits and that each topology gets its worker secret.
func TestSecuredNimbus(t *testing.T) {
	t.Parallel()
	ts := makeTokens(t, "alice", "bob", "admin")
	n, mem := memNimbus(t, withHTTP(), withTokens(ts))
	addSupervisor(t, mem, nil, "a", 6700, 6701)
	st := mem.Session()
	defer st.Close()
	ctx := t.Context()

	_, err := clientAs(t, n, ts, "").GetClusterSummary(ctx, &api.GetClusterSummaryRequest{})
	wantCode(t, "anonymous GetClusterSummary", err, codes.Unauthenticated)

	alice, bob, admin := clientAs(t, n, ts, "alice"), clientAs(t, n, ts, "bob"), clientAs(t, n, ts, "admin")
	req := wordsRequest("words")
	req.Config = mustStruct(t, map[string]any{auth.KeyTopologySubmitterUser: "bob"})
	resp, err := alice.SubmitTopology(ctx, req)
	if err != nil {
		t.Fatalf("alice SubmitTopology: %v", err)
	}
	id := resp.GetTopologyId()
	rec, err := st.GetTopology(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Owner != "alice" {
		t.Errorf("owner = %q, want alice (the submitter, whatever the submission says)", rec.Owner)
	}
	secret, err := st.GetTopologySecret(ctx, id)
	if err != nil || len(secret) != auth.TopologySecretBytes {
		t.Errorf("topology secret: %d bytes, %v; want %d bytes", len(secret), err, auth.TopologySecretBytes)
	}

	_, err = bob.GetTopology(ctx, &api.GetTopologyRequest{Id: id})
	wantCode(t, "bob GetTopology", err, codes.PermissionDenied)
	_, err = bob.KillTopology(ctx, &api.KillTopologyRequest{Id: id})
	wantCode(t, "bob KillTopology", err, codes.PermissionDenied)
	list, err := bob.ListTopologies(ctx, &api.ListTopologiesRequest{})
	if err != nil || len(list.GetTopologies()) != 0 {
		t.Errorf("bob ListTopologies = %v, %v; want none listed", list, err)
	}
	if _, err := alice.GetTopology(ctx, &api.GetTopologyRequest{Id: id}); err != nil {
		t.Errorf("alice GetTopology: %v", err)
	}

	// REST: no token is 401, bob's is 403, alice's is 200.
	for _, c := range []struct {
		who  string
		want int
	}{{"", http.StatusUnauthorized}, {"bob", http.StatusForbidden}, {"alice", http.StatusOK}} {
		r, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.HTTPAddr()+"/api/v1/topology/"+id, nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.who != "" {
			r.Header.Set("Authorization", "Bearer "+ts.tokens[c.who])
		}
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != c.want {
			t.Errorf("REST GET topology as %q = %d %s, want %d", c.who, res.StatusCode, body, c.want)
		}
	}

	if _, err := admin.KillTopology(ctx, &api.KillTopologyRequest{Id: id}); err != nil {
		t.Errorf("admin KillTopology: %v", err)
	}
}

// TestSubmissionCannotSetNimbusKeys: the ZooKeeper credential of a
// topology's workers is nimbus's to make.
func TestSubmissionCannotSetNimbusKeys(t *testing.T) {
	t.Parallel()
	n, _ := memNimbus(t)
	req := wordsRequest("words")
	req.Config = mustStruct(t, map[string]any{"storm.zookeeper.topology.auth.payload": "x:y"})
	_, err := n.SubmitTopology(t.Context(), req)
	wantCode(t, "submission with storm.zookeeper.topology.auth.payload", err, codes.InvalidArgument)
}

// TestNimbusRefusesExposure: beyond loopback without authentication,
// nimbus does not start unless told it is insecure.
func TestNimbusRefusesExposure(t *testing.T) {
	t.Parallel()
	mem := cluster.NewMemory()
	st := mem.Session()
	t.Cleanup(func() { st.Close() })
	cfg := DefaultConfig()
	cfg.Host = "127.0.0.1"
	cfg.GRPCAddr = "0.0.0.0:0"
	cfg.HTTPAddr = ""
	cfg.LocalDir = t.TempDir()
	cfg.Registry = stockRegistry()
	n, err := New(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	err = n.Run(t.Context())
	if !errors.Is(err, auth.ErrExposed) {
		t.Fatalf("Run on 0.0.0.0 without authentication = %v, want auth.ErrExposed", err)
	}

	insecure := startNimbus(t, st, func(c *Config) { c.GRPCAddr = "0.0.0.0:0"; c.Insecure = true })
	if insecure.GRPCAddr() == "" {
		t.Errorf("an --insecure nimbus on 0.0.0.0 does not listen")
	}
}

func TestDefaultConfigBindsLoopback(t *testing.T) {
	cfg := DefaultConfig()
	for _, addr := range []string{cfg.GRPCAddr, cfg.HTTPAddr} {
		if !auth.IsLoopback(addr) {
			t.Errorf("default address %q is not loopback", addr)
		}
	}
}
