package e2e_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/testenv"
)

// TestClusterDRPCWorkerTokens: on a secured cluster (tokens, TLS,
// ZooKeeper ACLs), a topology whose configuration names no drpc.client.*
// certificate or token file, only TLS, serves a DRPC function: its
// workers authenticate to `squall drpc` with the worker token their
// topology's secret gives, and the server, reading the secret and the
// owner from ZooKeeper, takes them for alice, the owner, whom the ACL
// names as invocation.user. Alice calls it over HTTPS; bob may not.
func TestClusterDRPCWorkerTokens(t *testing.T) {
	pki := newSecurePKI(t, "alice", "bob", "supervisor", "nimbus")
	c := newCluster(t, 1, withConf(pki.clusterConf()))
	c.cliConf = pki.clientConf(t, "alice")

	acl := filepath.Join(pki.dir, "drpc-auth-acl.yaml")
	if err := os.WriteFile(acl, []byte("drpc.authorizer.acl:\n  identity:\n    client.users: [alice]\n    invocation.user: alice\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ports := testenv.FreePorts(t, 3)
	dconf := c.writeConf("drpc", map[string]any{
		"drpc.port":                    ports[0],
		"drpc.invocations.port":        ports[1],
		"drpc.http.port":               ports[2],
		"drpc.tls.cert.path":           pki.path("server.pem"),
		"drpc.tls.key.path":            pki.path("server-key.pem"),
		"drpc.worker.tokens":           true,
		"drpc.authorizer":              "org.apache.storm.security.auth.authorizer.DRPCSimpleACLAuthorizer",
		"drpc.authorizer.acl.filename": acl,
		"drpc.authorizer.acl.strict":   true,
	})
	d := c.start("drpc", "drpc client=", "drpc", "--config", dconf, "--log-level", "info")
	t.Cleanup(func() { d.proc.Stop(10 * time.Second) })

	out := c.squall("submit", "../../drpc/testdata/linear-identity",
		"-c", "drpc.servers=[127.0.0.1]",
		"-c", "drpc.invocations.port="+strconv.Itoa(ports[1]),
		"-c", "drpc.client.use.tls=true",
		"-c", "drpc.client.tls.ca.path="+pki.ca)
	if !strings.Contains(out, "Submitted topology linear-identity") {
		t.Fatalf("submit said %q", out)
	}

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: pki.tlsConfig(t)}, Timeout: 60 * time.Second}
	t.Cleanup(client.CloseIdleConnections)
	call := func(who string) (int, string) {
		req, err := http.NewRequest(http.MethodPost, "https://127.0.0.1:"+strconv.Itoa(ports[2])+"/drpc/identity", strings.NewReader("hello"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+pki.tokens[who])
		resp, err := client.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	var code int
	var body string
	waitUntil(t, 180*time.Second, "the topology to answer alice", func() bool {
		code, body = call("alice")
		return code == http.StatusOK
	})
	if body != "hello" {
		t.Errorf("alice's call = %d %q, want 200 hello", code, body)
	}
	if code, body := call("bob"); code != http.StatusForbidden {
		t.Errorf("bob's call = %d %q, want 403", code, body)
	}
}
