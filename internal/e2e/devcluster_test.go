package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
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

	"github.com/squallstream/squall/internal/procgroup"
	"github.com/squallstream/squall/internal/testenv"
	"github.com/squallstream/squall/internal/zktest"
)

// devCluster is a `squall dev-cluster` that a test or benchmark started
// on loopback: every port it opens is one it chose itself, but the
// supervisor's slots.
type devCluster struct {
	tb       testing.TB
	proc     *procgroup.Process
	dir      string   // its --dir, also its HOME
	conf     string   // the squall.yaml it wrote, with the ports it chose
	rest     string   // the REST API's base URL, http://127.0.0.1:PORT
	localDir string   // storm.local.dir: the supervisor's workers are under it
	logPath  string   // its output
	env      []string // the environment of the dev-cluster and its clients
}

// startDevCluster starts `squall dev-cluster` with the given worker slot
// ports (from testenv.FreePorts) and waits until it is ready. When tb ends, the
// cluster is stopped, any worker it left is killed with its process
// group, and, if tb failed, the end of its output is logged. It fails tb
// if the dev-cluster exits before it is ready, ZooKeeper missing
// included: its output, which says so, is in the failure.
func startDevCluster(tb testing.TB, ports ...int) *devCluster {
	tb.Helper()
	if len(ports) == 0 {
		tb.Fatal("startDevCluster: no worker slot ports")
	}
	slots := make([]string, len(ports))
	for i, p := range ports {
		slots[i] = strconv.Itoa(p)
	}
	dir := tb.TempDir()
	d := &devCluster{
		tb:       tb,
		dir:      dir,
		conf:     filepath.Join(dir, "squall.yaml"),
		localDir: filepath.Join(dir, "local"),
		logPath:  filepath.Join(dir, "dev-cluster.log"),
		// Its own home: the pointer the client commands follow is not
		// another dev-cluster's, nor the user's.
		env: append(os.Environ(), "HOME="+dir),
	}
	out, err := os.Create(d.logPath)
	if err != nil {
		tb.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(squallBin, "dev-cluster", "--dir", dir,
		"--zookeeper-port", "0", "--nimbus-port", "0", "--ui-port", "0", "--logviewer-port", "0",
		"--drpc-port", "0", "--drpc-invocations-port", "0", "--drpc-http-port", "0",
		"--ports", strings.Join(slots, ","))
	cmd.Env = d.env
	cmd.Stdout, cmd.Stderr = out, out
	d.proc, err = procgroup.Start(cmd)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		d.proc.Stop(testenv.Patience(30 * time.Second))
		killLeftoverWorkers(d.localDir)
		if tb.Failed() {
			tb.Logf("--- dev-cluster output:\n%s", tail(d.logPath, 60))
		}
	})
	testenv.WaitUntil(tb, 90*time.Second, "the dev cluster to be ready", func() bool {
		d.checkRunning()
		return findLine(d.logPath, 0, "squall dev cluster ready") != ""
	})

	// The written configuration names the ports actually chosen, so the
	// client commands and curl find the cluster.
	var conf struct {
		GRPCPort int `yaml:"nimbus.grpc.port"`
		UIPort   int `yaml:"ui.port"`
	}
	data, err := os.ReadFile(d.conf)
	if err != nil {
		tb.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &conf); err != nil {
		tb.Fatalf("%s: %v", d.conf, err)
	}
	if conf.GRPCPort == 0 || conf.UIPort == 0 {
		tb.Fatalf("squall.yaml has port 0 where the cluster chose one:\n%s", data)
	}
	d.rest = "http://127.0.0.1:" + strconv.Itoa(conf.UIPort)
	return d
}

// checkRunning fails the test if the dev-cluster has exited; the cleanup
// logs its output.
func (d *devCluster) checkRunning() {
	d.tb.Helper()
	if d.proc.Exited() {
		d.tb.Fatalf("dev-cluster exited: %v (its output follows)", d.proc.Status())
	}
}

// command returns a client command (submit, list, kill, ...) for the
// cluster: squall SUBCOMMAND --config squall.yaml ARGS.
func (d *devCluster) command(subcommand string, args ...string) *exec.Cmd {
	cmd := exec.Command(squallBin, append([]string{subcommand, "--config", d.conf}, args...)...)
	cmd.Env = d.env
	return cmd
}

// get reads GET path of the REST API into v, giving up after timeout.
func (d *devCluster) get(path string, timeout time.Duration, v any) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", d.rest+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %.200s", path, resp.Status, data)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("GET %s: %w: %.200s", path, err, data)
	}
	return nil
}

// workerPids returns the pids of the cluster's workers that run.
func (d *devCluster) workerPids() []int {
	var pids []int
	for _, w := range liveWorkers(d.localDir) {
		pids = append(pids, w.Pid)
	}
	return pids
}

// squall dev-cluster, as docs/operations.md tells a newcomer to try it:
// start it, submit with its squall.yaml, see tuples flow over REST, Ctrl-C,
// and nothing is left running.
func TestDevCluster(t *testing.T) {
	needPython(t)
	zktest.Shared(t) // skips (fails in CI) clearly when ZooKeeper is not installed
	d := startDevCluster(t, testenv.FreePorts(t, 2)...)

	submit := d.command("submit", "testdata/wordcount")
	if b, err := submit.CombinedOutput(); err != nil || !strings.Contains(string(b), "Submitted topology e2e-wordcount") {
		t.Fatalf("submit: %v\n%s", err, b)
	}
	list := d.command("list")
	if b, err := list.CombinedOutput(); err != nil || !strings.Contains(string(b), "e2e-wordcount") {
		t.Fatalf("list: %v\n%s", err, b)
	}
	// The REST API answers where squall.yaml says.
	c := &cluster{t: t, http: strings.TrimPrefix(d.rest, "http://")}
	id := c.topologyID("e2e-wordcount")
	waitUntil(t, 60*time.Second, "the topology to ack tuples", func() bool {
		p := c.topology(id)
		return len(p.Spouts) == 1 && p.Spouts[0].Acked > 0
	})

	// Ctrl-C stops everything, the topology's workers and their children
	// included.
	pids := d.workerPids()
	if len(pids) != 2 {
		t.Fatalf("%d workers running, want 2", len(pids))
	}
	if err := syscall.Kill(d.proc.Pid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.proc.Done():
	case <-time.After(testenv.Patience(60 * time.Second)):
		t.Fatal("dev-cluster did not stop within 60s of Ctrl-C")
	}
	if st := d.proc.Status(); !st.Success() {
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
