package nimbus

import (
	"context"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/squallstream/squall/auth"
	"github.com/squallstream/squall/auth/devpki"
	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/logviewer"
)

// TestLogProxyHTTPS: a supervisor's logviewer on HTTPS that
// authenticates (as it must beyond loopback) is reached through nimbus:
// verified against logviewer.https.ca.path, asked with nimbus's own token
// on behalf of the caller, whom it authorizes by the topology's ACL.
func TestLogProxyHTTPS(t *testing.T) {
	t.Parallel()
	ts := makeTokens(t, "alice", "bob", "nimbus")
	store, err := auth.LoadTokens(ts.file)
	if err != nil {
		t.Fatal(err)
	}
	pol := auth.Policy{Enforce: true, DaemonUsers: []string{"nimbus"}, UIActionsEnabled: true}
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "wc-1-1", "6700"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "wc-1-1", "6700", "worker.log"), []byte("over tls\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := logviewer.DefaultConfig()
	cfg.LogRoot = root
	cfg.Authorize = logviewer.AuthorizeWith(auth.NewAuthenticator(store, false, pol), pol,
		func(_ context.Context, id string) (auth.TopologyACL, error) {
			return auth.TopologyACL{ID: id, Owner: "alice"}, nil
		})
	h, err := logviewer.NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	nimbusToken := filepath.Join(t.TempDir(), "nimbus.token")
	if err := os.WriteFile(nimbusToken, []byte(ts.tokens["nimbus"]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		trusted bool
		who     string
		want    int
	}{
		{"the owner", true, "alice", http.StatusOK},
		{"another user", true, "bob", http.StatusForbidden},
		{"not trusted", false, "alice", http.StatusBadGateway},
	} {
		t.Run(c.name, func(t *testing.T) {
			opts := []option{withHTTP(), withTokens(ts), withConf("logviewer.https.port", 1), func(cfg *Config) {
				cfg.Client.TokenFile = nimbusToken
				cfg.Security.Policy.DaemonUsers = []string{"nimbus"}
			}}
			if c.trusted {
				opts = append(opts, withConf(keyLogViewerHTTPSCA, ca))
			}
			n, mem := memNimbus(t, opts...)
			sess := mem.Session()
			t.Cleanup(func() { sess.Close() })
			now := time.Now()
			if err := sess.RegisterSupervisor(t.Context(), cluster.SupervisorInfo{ID: "a", Host: "host-a", Ports: []int{6700}, StartTime: now, Time: now, Address: srv.Listener.Addr().String()}); err != nil {
				t.Fatal(err)
			}
			q := url.Values{"host": {"host-a"}, "file": {"wc-1-1/6700/worker.log"}}
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+n.HTTPAddr()+LogProxyPath+"log?"+q.Encode(), nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Accept", "text/plain")
			req.Header.Set("Authorization", "Bearer "+ts.tokens[c.who])
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != c.want || c.want == http.StatusOK && string(body) != "over tls\n" {
				t.Errorf("proxied page as %s = %d %q, want %d", c.who, resp.StatusCode, body, c.want)
			}
		})
	}
}

// TestLogProxyClientCertificate: a logviewer that requires client
// certificates (and takes no tokens) serves nimbus's proxy, which presents
// its own client certificate (nimbus.client.tls.cert.path, .key.path),
// and decides for the caller nimbus forwards; without that certificate
// the handshake fails and the proxy answers 502.
func TestLogProxyClientCertificate(t *testing.T) {
	t.Parallel()
	now := time.Now()
	ca, err := devpki.NewCA("log proxy test CA", now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	if err := devpki.WriteFile(caFile, ca.CertPEM, 0o644, false); err != nil {
		t.Fatal(err)
	}
	issue := func(name string, req devpki.Request) (string, string) {
		req.ValidFor = time.Hour
		is, err := ca.Issue(req, now)
		if err != nil {
			t.Fatal(err)
		}
		cert, key, err := devpki.WritePair(dir, name, is, false)
		if err != nil {
			t.Fatal(err)
		}
		return cert, key
	}
	lvCert, lvKey := issue("logviewer", devpki.Request{CommonName: "logviewer", Hosts: []string{"127.0.0.1"}, Server: true})
	nimbusCert, nimbusKey := issue("nimbus", devpki.Request{CommonName: "nimbus", Client: true})

	ts := makeTokens(t, "alice", "bob")
	pol := auth.Policy{Enforce: true, DaemonUsers: []string{"nimbus"}, UIActionsEnabled: true}
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "wc-1-1", "6700"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "wc-1-1", "6700", "worker.log"), []byte("over mutual tls\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := logviewer.DefaultConfig()
	cfg.LogRoot = root
	cfg.Authorize = logviewer.AuthorizeWith(auth.NewAuthenticator(nil, true, pol), pol,
		func(_ context.Context, id string) (auth.TopologyACL, error) {
			return auth.TopologyACL{ID: id, Owner: "alice"}, nil
		})
	h, err := logviewer.NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	serverTLS, err := auth.ServerTLS{CertFile: lvCert, KeyFile: lvKey, ClientCAFile: caFile, RequireClientCert: true}.Config()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = serverTLS
	srv.StartTLS()
	t.Cleanup(srv.Close)

	for _, c := range []struct {
		name string
		cert bool
		who  string
		want int
	}{
		{"the owner", true, "alice", http.StatusOK},
		{"another user", true, "bob", http.StatusForbidden},
		{"no client certificate", false, "alice", http.StatusBadGateway},
	} {
		t.Run(c.name, func(t *testing.T) {
			opts := []option{withHTTP(), withTokens(ts), withConf("logviewer.https.port", 1), withConf(keyLogViewerHTTPSCA, caFile),
				func(cfg *Config) { cfg.Security.Policy.DaemonUsers = []string{"nimbus"} }}
			if c.cert {
				opts = append(opts, func(cfg *Config) {
					cfg.Client.TLS.CertFile, cfg.Client.TLS.KeyFile = nimbusCert, nimbusKey
				})
			}
			n, mem := memNimbus(t, opts...)
			sess := mem.Session()
			t.Cleanup(func() { sess.Close() })
			if err := sess.RegisterSupervisor(t.Context(), cluster.SupervisorInfo{ID: "a", Host: "host-a", Ports: []int{6700}, StartTime: now, Time: now, Address: srv.Listener.Addr().String()}); err != nil {
				t.Fatal(err)
			}
			q := url.Values{"host": {"host-a"}, "file": {"wc-1-1/6700/worker.log"}}
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+n.HTTPAddr()+LogProxyPath+"log?"+q.Encode(), nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Accept", "text/plain")
			req.Header.Set("Authorization", "Bearer "+ts.tokens[c.who])
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != c.want || c.want == http.StatusOK && string(body) != "over mutual tls\n" {
				t.Errorf("proxied page as %s = %d %q, want %d", c.who, resp.StatusCode, body, c.want)
			}
		})
	}
}
