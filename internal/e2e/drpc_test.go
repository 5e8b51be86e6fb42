package e2e_test

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/squallstream/squall/internal/layout"
	"github.com/squallstream/squall/internal/procgroup"
	"github.com/squallstream/squall/internal/testenv"
	"github.com/squallstream/squall/internal/zktest"
)

// A DRPC topology on squall dev-cluster: submitted with the cluster's
// squall.yaml, its workers find the cluster's DRPC server, and curl (here
// net/http) and squall drpc-client get exact answers.
func TestDevClusterDRPC(t *testing.T) {
	needPython(t)
	zktest.Shared(t)
	dir := t.TempDir()
	ports := testenv.FreePorts(t, 2)
	logPath := filepath.Join(dir, "dev-cluster.log")
	out, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(squallBin, "dev-cluster", "--dir", dir,
		"--zookeeper-port", "0", "--nimbus-port", "0", "--ui-port", "0",
		"--drpc-port", "0", "--drpc-invocations-port", "0", "--drpc-http-port", "0",
		"--ports", strconv.Itoa(ports[0])+","+strconv.Itoa(ports[1]))
	cmd.Stdout, cmd.Stderr = out, out
	proc, err := procgroup.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		proc.Stop(30 * time.Second)
		killLeftoverWorkers(filepath.Join(dir, "local"))
		if t.Failed() {
			t.Logf("--- dev-cluster output:\n%s", tail(logPath, 80))
		}
	})
	waitUntil(t, 90*time.Second, "the dev cluster to be ready", func() bool {
		if proc.Exited() {
			t.Fatalf("dev-cluster exited: %v", proc.Status())
		}
		return findLine(logPath, 0, "squall dev cluster ready") != ""
	})
	confPath := filepath.Join(dir, "squall.yaml")
	var conf struct {
		HTTPPort int      `yaml:"drpc.http.port"`
		Port     int      `yaml:"drpc.port"`
		Servers  []string `yaml:"drpc.servers"`
	}
	data, err := os.ReadFile(confPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &conf); err != nil {
		t.Fatal(err)
	}
	if conf.HTTPPort == 0 || conf.Port == 0 || len(conf.Servers) != 1 {
		t.Fatalf("squall.yaml does not name the DRPC server's ports:\n%s", data)
	}

	// Two workers: the chain's coordination crosses processes.
	submit := exec.Command(squallBin, "submit", "--config", confPath, "-c", "topology.workers=2", "../../examples/reach-python")
	if b, err := submit.CombinedOutput(); err != nil || !strings.Contains(string(b), "Submitted topology reach") {
		t.Fatalf("submit: %v\n%s", err, b)
	}
	// The first calls wait while the workers start: the server holds
	// them, but the workers' spouts start before their Python children
	// are up, and on a loaded machine those first requests may time out
	// in the topology (topology.message.timeout.secs). Then answers are
	// exact.
	base := "http://127.0.0.1:" + strconv.Itoa(conf.HTTPPort) + "/drpc/reach/"
	client := &http.Client{Timeout: 120 * time.Second}
	waitUntil(t, 180*time.Second, "the first answer", func() bool {
		resp, err := client.Get(base + "squall.dev/blog/1")
		if err != nil {
			return false
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK && string(body) == "7"
	})
	for _, c := range []struct{ url, want string }{
		{"squall.dev/blog/1", "7"},
		{"squall.dev/blog/3", "9"},
		{"example.org/post/7", "0"},
	} {
		resp, err := client.Get(base + c.url)
		if err != nil {
			t.Fatalf("GET %s: %v", c.url, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != c.want {
			t.Errorf("GET /drpc/reach/%s = %d %q, want 200 %q", c.url, resp.StatusCode, body, c.want)
		}
	}
	metas, _ := filepath.Glob(filepath.Join(layout.WorkersRoot(filepath.Join(dir, "local")), "*", "meta.json"))
	if len(metas) != 2 {
		t.Errorf("%d workers ran the chain, want 2", len(metas))
	}
	dc := exec.Command(squallBin, "drpc-client", "--config", confPath, "reach", "squall.dev/blog/2")
	if b, err := dc.CombinedOutput(); err != nil || strings.TrimSpace(string(b)) != `reach "squall.dev/blog/2" => "5"` {
		t.Errorf("drpc-client: %v\n%s", err, b)
	}

	if err := syscall.Kill(proc.Pid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-proc.Done():
	case <-time.After(60 * time.Second):
		t.Fatal("dev-cluster did not stop within 60s of Ctrl-C")
	}
	if st := proc.Status(); !st.Success() {
		t.Errorf("dev-cluster exited with %v", st)
	}
}
