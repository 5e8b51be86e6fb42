package e2e_test

import (
	"errors"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"gopkg.in/yaml.v3"

	"github.com/squallstream/squall/auth/zkacl"
	"github.com/squallstream/squall/internal/layout"
)

// TestRunWorkersAsOwner runs a cluster with tokens, TLS, ZooKeeper ACLs and
// supervisor.run.worker.as.user, the supervisor as root: the word count
// submitted by the principal "nobody" runs to the end with its workers
// and their Python children running as the local user nobody (checked
// with ps), over TLS between workers whose key the supervisor handed them,
// talking to ZooKeeper with their topology's credential, which opens
// their topology's nodes and nothing else.
func TestRunWorkersAsOwner(t *testing.T) {
	needPython(t)
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("running workers as their owners needs root, and CI is set")
		}
		t.Skip("running workers as their owners needs root")
	}
	const user = "nobody"
	pki := newSecurePKI(t, user, "admin", "supervisor", "nimbus")
	conf := pki.clusterConf()
	maps.Copy(conf, map[string]any{
		"supervisor.run.worker.as.user":         true,
		"supervisor.run.worker.as.user.min.uid": 1000,
	})
	c := newCluster(t, 1, withConf(conf))
	// The worker (nobody) passes through the test's directories to its
	// own, and runs the squall binary built for the tests.
	for _, d := range []string{filepath.Dir(c.dir), c.dir, filepath.Dir(squallBin)} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	c.https = &http.Client{Transport: &http.Transport{TLSClientConfig: pki.tlsConfig(t)}, Timeout: 30 * time.Second}
	c.token = pki.tokens[user]
	c.cliConf = pki.clientConf(t, user)

	out := c.squall("submit", "testdata/wordcount")
	if !strings.Contains(out, "Submitted topology e2e-wordcount") {
		t.Fatalf("submit said %q", out)
	}
	id := c.topologyID("e2e-wordcount")
	c.waitAcked(id, 2000, 120*time.Second)

	pids := c.workerPids(id)
	if len(pids) == 0 {
		t.Fatal("no worker runs")
	}
	children := 0
	for port, pid := range pids {
		if got := psUser(t, "-p", strconv.Itoa(pid)); got != user {
			t.Errorf("worker on port %d (pid %d) runs as %q, want %s", port, pid, got, user)
		}
		kids := strings.Fields(psUser(t, "--ppid", strconv.Itoa(pid)))
		for _, k := range kids {
			if k != user {
				t.Errorf("a child of the worker on port %d runs as %q, want %s", port, k, user)
			}
		}
		children += len(kids)
	}
	if children == 0 {
		t.Error("no worker has a child process (the Python split bolt)")
	}
	// What the worker got: no token file, no nimbus key, its own copy of
	// the workers' TLS key.
	s := c.sups[0]
	confs, _ := filepath.Glob(filepath.Join(layout.WorkersRoot(s.localDir), "*", "worker-conf.yaml"))
	if len(confs) == 0 {
		t.Fatal("no worker configuration file")
	}
	data, err := os.ReadFile(confs[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"nimbus.client.token.file", "nimbus.tls.key.path", "nimbus.auth.tokens.file", pki.path("worker-key.pem"),
		"storm.zookeeper.auth.payload", "e2e-password"} {
		if strings.Contains(string(data), secret) {
			t.Errorf("the worker's configuration holds %s:\n%s", secret, data)
		}
	}
	checkWorkerZooKeeper(t, c, id, data)

	if out := c.squall("kill", "-w", "0", "e2e-wordcount"); !strings.Contains(out, "Killed topology: e2e-wordcount") {
		t.Errorf("kill said %q", out)
	}
	waitUntil(t, 30*time.Second, "the workers to stop", func() bool { return len(c.workerPids(id)) == 0 })
}

// psUser returns the user names ps shows for the processes args select.
func psUser(t *testing.T, args ...string) string {
	t.Helper()
	out, _ := exec.Command("ps", append([]string{"-o", "user="}, args...)...).Output()
	return strings.TrimSpace(string(out))
}

// checkWorkerZooKeeper checks the ZooKeeper credential a worker of
// topology id got in its configuration (conf): it reads the topology's
// record and assignment, and gets NoAuth for the daemons' nodes, the
// worker secret and the list of topologies.
func checkWorkerZooKeeper(t *testing.T, c *cluster, id string, conf []byte) {
	t.Helper()
	var wc map[string]any
	if err := yaml.Unmarshal(conf, &wc); err != nil {
		t.Fatal(err)
	}
	cred, err := zkacl.TopologyCredential(wc)
	if err != nil || cred.IsZero() {
		t.Fatalf("the worker's configuration has no ZooKeeper credential of its topology: %v, %v", cred, err)
	}
	zconn, _, err := zk.Connect([]string{c.zkAddr}, 10*time.Second, zk.WithLogger(zkQuiet{}))
	if err != nil {
		t.Fatal(err)
	}
	defer zconn.Close()
	if err := zconn.AddAuth(cred.Scheme, cred.Payload); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{c.root + "/storms/" + id, c.root + "/assignments/" + id} {
		if _, _, err := zconn.Get(p); err != nil {
			t.Errorf("ZooKeeper %s with the topology's credential: %v", p, err)
		}
	}
	for _, p := range []string{c.root, c.root + "/storms", c.root + "/supervisors", c.root + "/secrets/" + id} {
		if _, _, err := zconn.Get(p); !errors.Is(err, zk.ErrNoAuth) {
			t.Errorf("ZooKeeper %s with the topology's credential: %v, want zk.ErrNoAuth", p, err)
		}
	}
	if _, _, err := zconn.Children(c.root + "/storms"); !errors.Is(err, zk.ErrNoAuth) {
		t.Errorf("the topology's credential lists the topologies: %v, want zk.ErrNoAuth", err)
	}
}
