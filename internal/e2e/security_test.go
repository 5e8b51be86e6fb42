package e2e_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	"gopkg.in/yaml.v3"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/auth"
	"github.com/squallstream/squall/auth/devpki"
	"github.com/squallstream/squall/internal/layout"
)

// securePKI is what a secured test cluster authenticates with: a CA,
// nimbus's and the workers' certificates, and a token per principal.
type securePKI struct {
	dir    string
	ca     string
	tokens map[string]string // principal → token
	files  map[string]string // principal → token file (0600)
}

func newSecurePKI(t *testing.T, principals ...string) *securePKI {
	t.Helper()
	p := &securePKI{dir: t.TempDir(), tokens: map[string]string{}, files: map[string]string{}}
	now := time.Now()
	ca, err := devpki.NewCA("squall e2e CA", now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p.ca = filepath.Join(p.dir, "ca.pem")
	if err := devpki.WriteFile(p.ca, ca.CertPEM, 0o644, false); err != nil {
		t.Fatal(err)
	}
	for name, req := range map[string]devpki.Request{
		"server": {CommonName: "nimbus", Hosts: []string{"127.0.0.1", "localhost"}, Server: true, Client: true, ValidFor: time.Hour},
		"worker": {CommonName: "squall-worker", Hosts: []string{"127.0.0.1"}, Server: true, Client: true, ValidFor: time.Hour},
	} {
		is, err := ca.Issue(req, now)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := devpki.WritePair(p.dir, name, is, false); err != nil {
			t.Fatal(err)
		}
	}
	var lines []string
	for _, name := range principals {
		tok, err := auth.NewToken()
		if err != nil {
			t.Fatal(err)
		}
		line, err := auth.TokenLine(tok, name, nil)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, line)
		p.tokens[name] = tok
		p.files[name] = filepath.Join(p.dir, name+".token")
		if err := os.WriteFile(p.files[name], []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(p.path("tokens"), []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *securePKI) path(name string) string { return filepath.Join(p.dir, name) }

// clusterConf turns on every layer: tokens, TLS on gRPC, REST and between
// workers; the daemons dial nimbus as "supervisor".
func (p *securePKI) clusterConf() map[string]any {
	return map[string]any{
		"nimbus.auth.tokens.file":             p.path("tokens"),
		"nimbus.tls.cert.path":                p.path("server.pem"),
		"nimbus.tls.key.path":                 p.path("server-key.pem"),
		"ui.https.cert.path":                  p.path("server.pem"),
		"ui.https.key.path":                   p.path("server-key.pem"),
		"nimbus.admins":                       []any{"admin"},
		"nimbus.supervisor.users":             []any{"supervisor"},
		"nimbus.daemon.users":                 []any{"nimbus"},
		"nimbus.client.use.tls":               true,
		"nimbus.client.tls.ca.path":           p.ca,
		"nimbus.client.token.file":            p.files["supervisor"],
		"storm.messaging.netty.tls.enable":    true,
		"storm.messaging.netty.tls.cert.path": p.path("worker.pem"),
		"storm.messaging.netty.tls.key.path":  p.path("worker-key.pem"),
		"storm.messaging.netty.tls.ca.path":   p.ca,
		"storm.zookeeper.auth.scheme":         "digest",
		"storm.zookeeper.auth.payload":        "squall:e2e-password",
	}
}

// clientConf writes the CLI configuration of who.
func (p *securePKI) clientConf(t *testing.T, who string) string {
	t.Helper()
	data, err := yaml.Marshal(map[string]any{
		"nimbus.client.use.tls":     true,
		"nimbus.client.tls.ca.path": p.ca,
		"nimbus.client.token.file":  p.files[who],
	})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(p.dir, who+".yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func (p *securePKI) tlsConfig(t *testing.T) *tls.Config {
	t.Helper()
	pem, err := os.ReadFile(p.ca)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// restAs sends a REST request as who ("" for no credentials) and returns
// its status and body.
func restAs(t *testing.T, c *cluster, client *http.Client, p *securePKI, who, method, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "https://"+c.http+path, nil)
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
	var b strings.Builder
	buf := make([]byte, 4096)
	n, _ := resp.Body.Read(buf)
	b.Write(buf[:n])
	return resp.StatusCode, b.String()
}

// TestSecuredCluster runs a real ZooKeeper, nimbus and supervisor with
// tokens, TLS everywhere and authorization, and tries what an attacker
// on the network and other users would: an anonymous call is refused
// (401, Unauthenticated), a reader cannot kill (403), another user does
// not see the topology, and a forged frame to a worker delivers nothing,
// while the owner's word count runs over TLS between workers and every
// decision is in the audit log.
func TestSecuredCluster(t *testing.T) {
	needPython(t)
	pki := newSecurePKI(t, "alice", "bob", "carol", "admin", "supervisor", "nimbus")
	c := newCluster(t, 1, withConf(pki.clusterConf()))
	c.https = &http.Client{Transport: &http.Transport{TLSClientConfig: pki.tlsConfig(t)}, Timeout: 30 * time.Second}
	c.token = pki.tokens["alice"]
	c.cliConf = pki.clientConf(t, "alice")

	// Anyone on the network: no token, no answer.
	if code, body := restAs(t, c, c.https, pki, "", "GET", "/api/v1/cluster/summary"); code != http.StatusUnauthorized {
		t.Errorf("anonymous REST: %d %s, want 401", code, body)
	}
	if resp, err := http.Get("http://" + c.http + "/api/v1/cluster/summary"); err == nil {
		if resp.StatusCode == http.StatusOK {
			t.Errorf("plain HTTP to the HTTPS port answered 200")
		}
		resp.Body.Close()
	}
	conn, err := grpc.NewClient(c.grpc, grpc.WithTransportCredentials(credentials.NewTLS(pki.tlsConfig(t))))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	_, err = api.NewNimbusClient(conn).GetClusterSummary(ctx, &api.GetClusterSummaryRequest{})
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("anonymous gRPC: %v, want Unauthenticated", err)
	}

	// The owner submits with the CLI; carol may read the topology.
	out := c.squall("submit", "testdata/wordcount", "-c", "topology.readonly.users=[carol]")
	if !strings.Contains(out, "Submitted topology e2e-wordcount") {
		t.Fatalf("submit said %q", out)
	}
	id := c.topologyID("e2e-wordcount")
	c.waitAcked(id, 2000, 90*time.Second) // tuples cross workers over TLS after the handshake

	if code, body := restAs(t, c, c.https, pki, "carol", "GET", "/api/v1/topology/"+id); code != http.StatusOK {
		t.Errorf("carol (a reader) GET topology: %d %s, want 200", code, body)
	}
	if code, body := restAs(t, c, c.https, pki, "carol", "POST", "/api/v1/topology/"+id+"/kill/0"); code != http.StatusForbidden {
		t.Errorf("carol (a reader) kill: %d %s, want 403", code, body)
	}
	if code, body := restAs(t, c, c.https, pki, "bob", "GET", "/api/v1/topology/"+id); code != http.StatusForbidden {
		t.Errorf("bob GET topology: %d %s, want 403", code, body)
	}
	if code, body := restAs(t, c, c.https, pki, "bob", "GET", "/api/v1/topology/summary"); code != http.StatusOK || strings.Contains(body, id) {
		t.Errorf("bob's topology list: %d %s, want 200 without %s", code, body, id)
	}
	bobConf := pki.clientConf(t, "bob")
	cmd := exec.Command(squallBin, "kill", "--config", bobConf, "--nimbus", c.grpc, "-w", "0", "e2e-wordcount")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(strings.ToLower(string(out)), "permission denied") {
		t.Errorf("bob's squall kill: %v: %s; want a permission denied failure", err, out)
	}

	// Someone who read the topology id in the REST API connects to a
	// worker and sends what the old protocol took: refused, logged.
	ports := c.componentPorts(id, "count")
	if len(ports) == 0 {
		t.Fatal("no worker runs count")
	}
	forgeFrame(t, ports[0], id)
	waitUntil(t, 30*time.Second, "the worker to log the refusal", func() bool {
		return strings.Contains(c.workerLogs(id), "worker connection refused")
	})

	// ZooKeeper: the cluster's nodes are closed to a session without the
	// daemons' credential.
	zconn, _, err := zk.Connect([]string{c.zkAddr}, 10*time.Second, zk.WithLogger(zkQuiet{}))
	if err != nil {
		t.Fatal(err)
	}
	defer zconn.Close()
	for _, p := range []string{c.root, c.root + "/storms/" + id, c.root + "/secrets/" + id} {
		if _, _, err := zconn.Get(p); !errors.Is(err, zk.ErrNoAuth) {
			t.Errorf("ZooKeeper %s without the credential: %v, want zk.ErrNoAuth", p, err)
		}
	}
	// The workers hold their topology's credential, not the daemons'.
	confs, _ := filepath.Glob(filepath.Join(layout.WorkersRoot(c.sups[0].localDir), "*", "worker-conf.yaml"))
	if len(confs) == 0 {
		t.Fatal("no worker configuration file")
	}
	wconf, err := os.ReadFile(confs[0])
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(wconf), "e2e-password") {
		t.Errorf("the worker's configuration holds the daemons' ZooKeeper password:\n%s", wconf)
	}
	checkWorkerZooKeeper(t, c, id, wconf)

	if out := c.squall("kill", "-w", "0", "e2e-wordcount"); !strings.Contains(out, "Killed topology: e2e-wordcount") {
		t.Errorf("alice's kill said %q", out)
	}
	waitUntil(t, 30*time.Second, "the workers to stop", func() bool { return len(c.workerPids(id)) == 0 })

	log := c.nimbus.log()
	for _, want := range []string{
		"who=alice auth=token via=grpc",
		"op=submitTopology topology=" + id + " result=ok",
		"who=carol auth=token via=rest",
		"op=killTopology topology=" + id + " result=denied",
		"result=unauthenticated",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the audit log lacks %q", want)
		}
	}
}

// forgeFrame connects to a worker's port without TLS or the secret and
// sends the old hello and a frame; the worker must close the connection
// without answering.
func forgeFrame(t *testing.T, port int, stormID string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, f := range [][]byte{[]byte("squall-transfer-2\x00" + stormID), {0, 1, 2, 3, 4, 5, 6, 7}} {
		conn.Write(binary.BigEndian.AppendUint32(nil, uint32(len(f))))
		conn.Write(f)
	}
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	n, err := conn.Read(make([]byte, 1))
	if err == nil {
		t.Errorf("the worker answered a forged connection (%d bytes)", n)
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Errorf("the worker kept a forged connection open")
	}
}

// zkQuiet drops the ZooKeeper client's log lines.
type zkQuiet struct{}

func (zkQuiet) Printf(string, ...any) {}
