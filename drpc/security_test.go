package drpc_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/squallstream/squall/auth"
	"github.com/squallstream/squall/auth/devpki"
	"github.com/squallstream/squall/drpc"
)

// drpcPKI is a CA, the server's certificate, a client certificate for
// the topology's principal "topo", and tokens for alice and bob.
type drpcPKI struct {
	dir    string
	pool   *x509.CertPool
	tokens map[string]string
}

func newDRPCPKI(t *testing.T) *drpcPKI {
	t.Helper()
	p := &drpcPKI{dir: t.TempDir(), pool: x509.NewCertPool(), tokens: map[string]string{}}
	now := time.Now()
	ca, err := devpki.NewCA("drpc test CA", now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p.pool.AppendCertsFromPEM(ca.CertPEM)
	if err := devpki.WriteFile(filepath.Join(p.dir, "ca.pem"), ca.CertPEM, 0o644, false); err != nil {
		t.Fatal(err)
	}
	srv, err := ca.Issue(devpki.Request{CommonName: "drpc", Hosts: []string{"127.0.0.1"}, Server: true, ValidFor: time.Hour}, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := devpki.WritePair(p.dir, "server", srv, false); err != nil {
		t.Fatal(err)
	}
	topo, err := ca.Issue(devpki.Request{CommonName: "topo", Client: true, ValidFor: time.Hour}, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := devpki.WritePair(p.dir, "topo", topo, false); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, who := range []string{"alice", "bob"} {
		tok, err := auth.NewToken()
		if err != nil {
			t.Fatal(err)
		}
		line, err := auth.TokenLine(tok, who, nil)
		if err != nil {
			t.Fatal(err)
		}
		p.tokens[who] = tok
		lines = append(lines, line)
	}
	if err := os.WriteFile(filepath.Join(p.dir, "tokens"), []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *drpcPKI) path(name string) string { return filepath.Join(p.dir, name) }

// conf is a DRPC server's configuration: nimbus's tokens, TLS with client
// certificates, Storm's ACL authorizer with its ACL file.
func (p *drpcPKI) conf(t *testing.T, acl string) map[string]any {
	t.Helper()
	if err := os.WriteFile(p.path("drpc-auth-acl.yaml"), []byte(acl), 0o644); err != nil {
		t.Fatal(err)
	}
	return map[string]any{
		auth.KeyTokensFile: p.path("tokens"),
		drpc.KeyTLSCert:    p.path("server.pem"),
		drpc.KeyTLSKey:     p.path("server-key.pem"),
		drpc.KeyTLSCA:      p.path("ca.pem"),
		drpc.KeyAuthorizer: drpc.AuthorizerSimpleACL,
		drpc.KeyACLFile:    p.path("drpc-auth-acl.yaml"),
		drpc.KeyACLStrict:  true,
	}
}

// TestSecuredServer: a DRPC server configured as a secured cluster's
// (tokens, TLS, mutual TLS, drpc.authorizer) serves exclaim over HTTPS and
// gRPC to alice, whom the ACL lists, to nobody else; a topology serves it
// as the ACL's invocation.user (its client certificate), and no function
// the strict ACL does not list is callable.
func TestSecuredServer(t *testing.T) {
	p := newDRPCPKI(t)
	cfg := testConfig()
	cfg.RequestTimeout = 5 * time.Second
	sec, err := drpc.Secure(&cfg, p.conf(t, `
drpc.authorizer.acl:
  exclaim:
    client.users: [alice]
    invocation.user: topo
  other:
    client.users: [alice, bob]
    invocation.user: someone-else
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !sec.Authenticating || !sec.TLS {
		t.Fatalf("Secure = %+v, want authentication and TLS", sec)
	}
	s := startServer(t, cfg)
	// The topology dials with the credentials its configuration names
	// (what drpc.Register's components do): its client certificate.
	topoConf := map[string]any{
		drpc.KeyClientUseTLS:  true,
		drpc.KeyClientTLSCA:   p.path("ca.pem"),
		drpc.KeyClientTLSCert: p.path("topo.pem"),
		drpc.KeyClientTLSKey:  p.path("topo-key.pem"),
	}
	runTopology(t, drpcTopologyAs(t, "exclaim", []string{s.InvocationsAddr()}, exclaim(nil), topoConf, drpc.TopologyCredentials))

	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.pool, MinVersion: tls.VersionTLS12}}}
	t.Cleanup(client.CloseIdleConnections)
	call := func(who, function string) (int, string) {
		req, err := http.NewRequest(http.MethodPost, "https://"+s.HTTPAddr()+"/drpc/"+function, strings.NewReader("hi"))
		if err != nil {
			t.Fatal(err)
		}
		if who != "" {
			req.Header.Set("Authorization", "Bearer "+p.tokens[who])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	for _, tt := range []struct {
		who, function string
		code          int
		body          string
	}{
		{"alice", "exclaim", 200, "hi!"},
		{"", "exclaim", 401, "not authenticated"},
		{"bob", "exclaim", 403, `DRPC execute of function \"exclaim\" by bob`},
		{"alice", "unlisted", 403, "unlisted"},
	} {
		if code, body := call(tt.who, tt.function); code != tt.code || !strings.Contains(body, tt.body) {
			t.Errorf("POST /drpc/%s as %q = %d %s, want %d with %s", tt.function, tt.who, code, body, tt.code, tt.body)
		}
	}
	if resp, err := http.Post("http://"+s.HTTPAddr()+"/drpc/exclaim", "text/plain", strings.NewReader("hi")); err == nil {
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP to the HTTPS port answered 200")
		}
		resp.Body.Close()
	}

	// gRPC: the same principals, over TLS.
	tlsCreds := grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: p.pool, MinVersion: tls.VersionTLS12}))
	for _, tt := range []struct {
		who  string
		want error
	}{{"alice", nil}, {"bob", drpc.ErrDenied}, {"", drpc.ErrUnauthenticated}} {
		opts := []grpc.DialOption{tlsCreds}
		if tt.who != "" {
			opts = append(opts, grpc.WithPerRPCCredentials(auth.TokenCredentials{Token: p.tokens[tt.who]}))
		}
		c, err := drpc.Dial(s.Addr(), opts...)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Execute(t.Context(), "exclaim", "x")
		if !errors.Is(err, tt.want) || tt.want == nil && got != "x!" {
			t.Errorf("gRPC Execute as %q = %q, %v; want %v", tt.who, got, err, tt.want)
		}
		c.Close()
	}
}

// TestSecureConfigErrors: a DRPC security configuration that cannot be
// honoured is refused with the key at fault, never run open.
func TestSecureConfigErrors(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, []byte("drpc.authorizer.acl: {}\n"+strings.Repeat("#", 1<<20)), 0o644); err != nil {
		t.Fatal(err)
	}
	noKey := filepath.Join(dir, "nokey.yaml")
	if err := os.WriteFile(noKey, []byte("other: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	acl := map[string]any{"f": map[string]any{"client.users": []any{"a"}}}
	for _, tt := range []struct {
		name string
		conf map[string]any
		says string
	}{
		{"unknown authorizer", map[string]any{drpc.KeyAuthorizer: "com.example.MyAuthorizer"}, "com.example.MyAuthorizer"},
		{"ACL authorizer without ACL", map[string]any{drpc.KeyAuthorizer: drpc.AuthorizerSimpleACL}, drpc.KeyACLFile},
		{"both ACLs", map[string]any{drpc.KeyAuthorizer: drpc.AuthorizerSimpleACL, drpc.KeyACL: acl, drpc.KeyACLFile: noKey}, "keep one"},
		{"missing ACL file", map[string]any{drpc.KeyAuthorizer: drpc.AuthorizerSimpleACL, drpc.KeyACLFile: filepath.Join(dir, "none")}, "no such file"},
		{"ACL file too large", map[string]any{drpc.KeyAuthorizer: drpc.AuthorizerSimpleACL, drpc.KeyACLFile: big}, "larger than"},
		{"ACL file without the key", map[string]any{drpc.KeyAuthorizer: drpc.AuthorizerSimpleACL, drpc.KeyACLFile: noKey}, "has no drpc.authorizer.acl"},
		{"strict not a boolean", map[string]any{drpc.KeyAuthorizer: drpc.AuthorizerSimpleACL, drpc.KeyACL: acl, drpc.KeyACLStrict: "yes"}, drpc.KeyACLStrict},
		{"bad ACL entry", map[string]any{drpc.KeyAuthorizer: drpc.AuthorizerSimpleACL, drpc.KeyACL: map[string]any{"f": map[string]any{"users": 1}}}, "unknown key"},
		{"TLS key without certificate", map[string]any{drpc.KeyTLSKey: "/k.pem"}, "drpc.tls"},
		{"missing tokens file", map[string]any{auth.KeyTokensFile: filepath.Join(dir, "none")}, "no such file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			_, err := drpc.Secure(&cfg, tt.conf, nil)
			if err == nil || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("Secure = %v, want an error saying %q", err, tt.says)
			}
		})
	}
	// Storm's other authorizers.
	cfg := testConfig()
	if _, err := drpc.Secure(&cfg, map[string]any{drpc.KeyAuthorizer: drpc.AuthorizerDeny}, nil); err != nil || cfg.Authorize == nil || cfg.Authorize("alice", drpc.OpExecute, "f") {
		t.Errorf("DenyAuthorizer: %v; want an authorizer that denies", err)
	}
	cfg = testConfig()
	if _, err := drpc.Secure(&cfg, map[string]any{drpc.KeyAuthorizer: drpc.AuthorizerNoop}, nil); err != nil || cfg.Authorize != nil {
		t.Errorf("NoopAuthorizer: %v; want no authorizer", err)
	}
}

// TestTopologyCredentials: a topology's drpc.client.* keys make its dial
// options; none make none; a bad combination is an error naming the keys.
func TestTopologyCredentials(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("sqt_x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		conf  map[string]any
		opts  int // at least
		fails string
	}{
		{"nothing", map[string]any{"topology.workers": 2}, 0, ""},
		{"a token over TLS", map[string]any{drpc.KeyClientUseTLS: true, drpc.KeyClientTokenFile: tokenFile}, 2, ""},
		{"a CA without TLS", map[string]any{drpc.KeyClientTLSCA: "/ca.pem"}, 0, "drpc.client"},
		{"a missing token file", map[string]any{drpc.KeyClientUseTLS: true, drpc.KeyClientTokenFile: filepath.Join(dir, "none")}, 0, "no such file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opts, err := drpc.TopologyCredentials(tt.conf)
			if tt.fails != "" {
				if err == nil || !strings.Contains(err.Error(), tt.fails) {
					t.Errorf("TopologyCredentials = %v, want an error saying %q", err, tt.fails)
				}
				return
			}
			if err != nil || len(opts) < tt.opts || tt.opts == 0 && len(opts) != 0 {
				t.Errorf("TopologyCredentials = %d options, %v; want %d", len(opts), err, tt.opts)
			}
		})
	}
}
