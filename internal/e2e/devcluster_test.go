package e2e_test

import (
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
	"github.com/squallstream/squall/internal/zktest"
)

// squall dev-cluster, as docs/operations.md tells a newcomer to try it:
// start it, submit with its squall.yaml, see tuples flow over REST, Ctrl-C,
// and nothing is left running.
func TestDevCluster(t *testing.T) {
	needPython(t)
	zktest.Shared(t) // fails clearly when ZooKeeper is not installed
	dir := t.TempDir()
	ports := freePorts(t, 2)
	logPath := filepath.Join(dir, "dev-cluster.log")
	out, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(squallBin, "dev-cluster", "--dir", dir,
		"--zookeeper-port", "0", "--nimbus-port", "0", "--ui-port", "0",
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
			t.Logf("--- dev-cluster output:\n%s", tail(logPath, 60))
		}
	})
	waitUntil(t, 90*time.Second, "the dev cluster to be ready", func() bool {
		if proc.Exited() {
			t.Fatalf("dev-cluster exited: %v", proc.Status())
		}
		return findLine(logPath, 0, "squall dev cluster ready") != ""
	})

	// The written configuration names the ports actually chosen, so the
	// client commands and curl find the cluster.
	confPath := filepath.Join(dir, "squall.yaml")
	var conf struct {
		GRPCPort int `yaml:"nimbus.grpc.port"`
		UIPort   int `yaml:"ui.port"`
	}
	data, err := os.ReadFile(confPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &conf); err != nil {
		t.Fatal(err)
	}
	if conf.GRPCPort == 0 || conf.UIPort == 0 {
		t.Fatalf("squall.yaml has port 0 where the cluster chose one:\n%s", data)
	}

	submit := exec.Command(squallBin, "submit", "--config", confPath, "testdata/wordcount")
	if b, err := submit.CombinedOutput(); err != nil || !strings.Contains(string(b), "Submitted topology e2e-wordcount") {
		t.Fatalf("submit: %v\n%s", err, b)
	}
	list := exec.Command(squallBin, "list", "--config", confPath)
	if b, err := list.CombinedOutput(); err != nil || !strings.Contains(string(b), "e2e-wordcount") {
		t.Fatalf("list: %v\n%s", err, b)
	}
	// The REST API answers where squall.yaml says.
	c := &cluster{t: t, http: "127.0.0.1:" + strconv.Itoa(conf.UIPort)}
	id := c.topologyID("e2e-wordcount")
	waitUntil(t, 60*time.Second, "the topology to ack tuples", func() bool {
		p := c.topology(id)
		return len(p.Spouts) == 1 && p.Spouts[0].Acked > 0
	})

	// Ctrl-C stops everything, the topology's workers and their children
	// included.
	metas, _ := filepath.Glob(filepath.Join(layout.WorkersRoot(filepath.Join(dir, "local")), "*", "meta.json"))
	var pids []int
	for _, m := range metas {
		var meta layout.WorkerMeta
		if layout.ReadJSON(m, &meta) == nil && meta.Pid > 0 {
			pids = append(pids, meta.Pid)
		}
	}
	if len(pids) != 2 {
		t.Fatalf("%d workers running, want 2", len(pids))
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
	for _, pid := range pids {
		if procgroup.Alive(pid) {
			t.Errorf("worker %d still runs after the dev cluster stopped", pid)
		}
		if syscall.Kill(-pid, 0) == nil {
			t.Errorf("worker %d's process group (its Python children) still runs", pid)
		}
	}
}
