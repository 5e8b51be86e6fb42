// Package e2e_test runs squall as a user would on a small cluster: a real
// ZooKeeper, and nimbus, supervisors and workers as processes of the squall
// binary built from this tree, driven through the CLI and the REST API.
package e2e_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
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

	sqcluster "github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/internal/layout"
	"github.com/squallstream/squall/internal/procgroup"
	"github.com/squallstream/squall/internal/testenv"
	"github.com/squallstream/squall/internal/zkserver"
	"github.com/squallstream/squall/internal/zktest"
)

// squallBin is the squall binary built for the tests.
var squallBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "squall-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	squallBin = filepath.Join(dir, "squall")
	build := exec.Command("go", "build", "-o", squallBin, "github.com/squallstream/squall/cmd/squall")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build squall:", err)
		os.Exit(1)
	}
	code := zktest.Main(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

func needPython(t *testing.T) {
	t.Helper()
	needInterpreter(t, "python3")
}

// needInterpreter skips t when name is not installed, and fails it in CI,
// which must run every test.
func needInterpreter(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required: %v", name, err)
		}
		t.Skipf("%s not found: %v", name, err)
	}
}

// cluster is a ZooKeeper, one nimbus and supervisors, all on 127.0.0.1.
type cluster struct {
	t      *testing.T
	dir    string
	zkAddr string
	// zk is the cluster's own ZooKeeper (withOwnZooKeeper), which the test
	// may stop and start again; nil when it shares the package's.
	zk     *zkserver.Server
	root   string // storm.zookeeper.root
	conf   map[string]any
	nconf  string // nimbus's configuration file
	nimbus *daemon
	grpc   string // nimbus's gRPC address
	http   string // its REST address
	sups   []*supervisorProc
	// A secured cluster's REST client and token, and the CLI's
	// configuration file; zero for a plain cluster.
	https   *http.Client
	token   string
	cliConf string
}

// clusterOption adjusts a cluster before it starts.
type clusterOption func(*clusterOptions)

type clusterOptions struct {
	ownZK bool
	conf  map[string]any
}

// withOwnZooKeeper gives the cluster a ZooKeeper of its own, which the test
// may stop (stopZooKeeper) and start again (startZooKeeper).
func withOwnZooKeeper() clusterOption { return func(o *clusterOptions) { o.ownZK = true } }

// withConf overrides keys of every daemon's configuration.
func withConf(kv map[string]any) clusterOption {
	return func(o *clusterOptions) {
		for k, v := range kv {
			o.conf[k] = v
		}
	}
}

type supervisorProc struct {
	*daemon
	localDir string
	ports    []int
	conf     string
}

// daemon is a squall daemon process with its output in a file.
type daemon struct {
	name    string
	proc    *procgroup.Process
	logPath string
	logFrom int64 // where this run's output begins in logPath
	ready   string
}

// log returns what this run of the daemon wrote.
func (d *daemon) log() string {
	data, _ := os.ReadFile(d.logPath)
	if int64(len(data)) < d.logFrom {
		return ""
	}
	return string(data[d.logFrom:])
}

func newCluster(t *testing.T, supervisors int, opts ...clusterOption) *cluster {
	t.Helper()
	o := clusterOptions{conf: map[string]any{}}
	for _, opt := range opts {
		opt(&o)
	}
	c := &cluster{t: t, dir: t.TempDir(), root: zktest.Root(t)}
	if o.ownZK {
		c.startZooKeeper(0)
		t.Cleanup(func() { c.zk.Stop() })
	} else {
		c.zkAddr = zktest.Shared(t).Addr()
	}
	host, port, _ := net.SplitHostPort(c.zkAddr)
	zkPort, _ := strconv.Atoi(port)
	c.conf = map[string]any{
		"storm.zookeeper.servers":              []any{host},
		"storm.zookeeper.port":                 zkPort,
		"storm.zookeeper.root":                 c.root,
		"storm.zookeeper.session.timeout":      4000,
		"storm.local.hostname":                 "127.0.0.1",
		"nimbus.seeds":                         []any{"127.0.0.1"},
		"nimbus.grpc.port":                     0,
		"ui.port":                              0,
		"nimbus.monitor.freq.secs":             1,
		"nimbus.task.timeout.secs":             6,
		"nimbus.task.launch.secs":              20,
		"nimbus.supervisor.timeout.secs":       15,
		"supervisor.monitor.frequency.secs":    1,
		"supervisor.worker.timeout.secs":       6,
		"supervisor.worker.start.timeout.secs": 30,
		"task.heartbeat.frequency.secs":        1,
	}
	maps.Copy(c.conf, o.conf)
	c.nconf = c.writeConf("nimbus", map[string]any{"storm.local.dir": filepath.Join(c.dir, "nimbus")})
	c.startNimbus()
	for i := range supervisors {
		ports := testenv.FreePorts(t, 2)
		local := filepath.Join(c.dir, fmt.Sprintf("supervisor%d", i))
		sconf := c.writeConf(fmt.Sprintf("supervisor%d", i), map[string]any{
			"storm.local.dir":        local,
			"supervisor.slots.ports": []any{ports[0], ports[1]},
			"logviewer.port":         0,
		})
		s := &supervisorProc{localDir: local, ports: ports, conf: sconf}
		s.daemon = c.startSupervisor(s)
		c.sups = append(c.sups, s)
	}
	t.Cleanup(c.stopAll)
	return c
}

// startNimbus starts nimbus (again, after a kill) and learns its
// addresses.
func (c *cluster) startNimbus() {
	c.t.Helper()
	c.nimbus = c.start("nimbus", "nimbus grpc=", "nimbus", "--config", c.nconf, "--log-level", "info")
	f := fields(c.nimbus.ready)
	c.grpc, c.http = f["grpc"], f["http"]
}

// startZooKeeper starts the cluster's own ZooKeeper on port (0: a free
// one), with the data it had before if it ran already.
func (c *cluster) startZooKeeper(port int) {
	c.t.Helper()
	srv, err := zkserver.Start(zkserver.Options{Dir: filepath.Join(c.dir, "zookeeper"), Port: port, Test: true})
	if err != nil {
		if _, missing := errors.AsType[*zkserver.MissingError](err); missing && os.Getenv("CI") == "" {
			c.t.Skip(err)
		}
		c.t.Fatal(err)
	}
	c.zk, c.zkAddr = srv, srv.Addr()
}

// state opens a session on the cluster's ZooKeeper, for the test to look
// at what nimbus and the workers wrote; closed when the test ends.
func (c *cluster) state() *sqcluster.ZooKeeper {
	c.t.Helper()
	cfg := sqcluster.DefaultConfig()
	cfg.Servers = []string{c.zkAddr}
	cfg.Root = c.root
	cfg.SessionTimeout = 4 * time.Second
	st, err := sqcluster.NewZooKeeper(cfg, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { st.Close() })
	return st
}

func (c *cluster) writeConf(name string, extra map[string]any) string {
	conf := map[string]any{}
	for k, v := range c.conf {
		conf[k] = v
	}
	for k, v := range extra {
		conf[k] = v
	}
	data, err := yaml.Marshal(conf)
	if err != nil {
		c.t.Fatal(err)
	}
	path := filepath.Join(c.dir, name+".yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		c.t.Fatal(err)
	}
	return path
}

func (c *cluster) startSupervisor(s *supervisorProc) *daemon {
	return c.start(fmt.Sprintf("supervisor-%d", s.ports[0]), "supervisor node=", "supervisor", "--config", s.conf,
		"--log-level", "info", "--kill-workers")
}

// start runs a squall daemon and waits for its readiness line.
func (c *cluster) start(name, readyPrefix string, args ...string) *daemon {
	c.t.Helper()
	logPath := filepath.Join(c.dir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		c.t.Fatal(err)
	}
	defer f.Close()
	// A restarted daemon appends to its log: its readiness line is one
	// written after this point.
	from, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		c.t.Fatal(err)
	}
	cmd := exec.Command(squallBin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	proc, err := procgroup.Start(cmd)
	if err != nil {
		c.t.Fatal(err)
	}
	d := &daemon{name: name, proc: proc, logPath: logPath, logFrom: from}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if line := findLine(logPath, from, readyPrefix); line != "" {
			d.ready = line
			return d
		}
		if proc.Exited() || time.Now().After(deadline) {
			c.t.Fatalf("%s did not start (%v):\n%s", name, proc.Status(), tail(logPath, 40))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stopAll stops the daemons (supervisors stop their workers), prints
// their logs if the test failed, and kills whatever is left.
func (c *cluster) stopAll() {
	for _, s := range c.sups {
		s.proc.Stop(20 * time.Second)
	}
	if c.nimbus != nil {
		c.nimbus.proc.Stop(10 * time.Second)
	}
	for _, s := range c.sups {
		killLeftoverWorkers(s.localDir)
	}
	if c.t.Failed() {
		logs, _ := filepath.Glob(filepath.Join(c.dir, "*.log"))
		workerLogs, _ := filepath.Glob(filepath.Join(c.dir, "*", "logs", "*", "*", "worker.log"))
		for _, l := range append(logs, workerLogs...) {
			c.t.Logf("--- %s:\n%s", l, tail(l, 60))
		}
	}
}

// killLeftoverWorkers kills the process group of every worker a
// supervisor left in its local dir.
func killLeftoverWorkers(localDir string) {
	metas, _ := filepath.Glob(filepath.Join(layout.WorkersRoot(localDir), "*", "meta.json"))
	for _, m := range metas {
		var meta layout.WorkerMeta
		if layout.ReadJSON(m, &meta) == nil && meta.Pid > 0 {
			syscall.Kill(-meta.Pid, syscall.SIGKILL)
		}
	}
}

// squall runs the CLI against the cluster and returns its output.
func (c *cluster) squall(args ...string) string {
	c.t.Helper()
	full := append([]string{args[0], "--nimbus", c.grpc}, args[1:]...)
	if c.cliConf != "" {
		full = append([]string{args[0], "--config", c.cliConf, "--nimbus", c.grpc}, args[1:]...)
	}
	cmd := exec.Command(squallBin, full...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		c.t.Fatalf("squall %s: %v\n%s", strings.Join(full, " "), err, out.String())
	}
	return out.String()
}

// rest sends a REST request to nimbus and decodes the JSON answer.
func (c *cluster) rest(method, path string, body io.Reader, contentType string, into any) int {
	c.t.Helper()
	scheme, client := "http", http.DefaultClient
	if c.https != nil {
		scheme, client = "https", c.https
	}
	req, err := http.NewRequest(method, scheme+"://"+c.http+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := client.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if into != nil {
		if err := json.Unmarshal(data, into); err != nil {
			c.t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
	return resp.StatusCode
}

// topologyPage is the part of GET /api/v1/topology/{id} the tests read.
type topologyPage struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Status  string `json:"status"`
	Workers int    `json:"workersTotal"`
	Spouts  []struct {
		ID      string `json:"spoutId"`
		Emitted int64  `json:"emitted"`
		Acked   int64  `json:"acked"`
		Failed  int64  `json:"failed"`
	} `json:"spouts"`
	Bolts []struct {
		ID        string `json:"boltId"`
		Executors int    `json:"executors"`
		Executed  int64  `json:"executed"`
	} `json:"bolts"`
}

func (c *cluster) topology(id string) topologyPage {
	c.t.Helper()
	var p topologyPage
	c.rest("GET", "/api/v1/topology/"+id, nil, "", &p)
	return p
}

// componentPorts returns the ports of the workers running a component.
func (c *cluster) componentPorts(id, component string) []int {
	c.t.Helper()
	var page struct {
		Executors []struct {
			Port int `json:"port"`
		} `json:"executorStats"`
	}
	c.rest("GET", "/api/v1/topology/"+id+"/component/"+component, nil, "", &page)
	seen := map[int]bool{}
	var ports []int
	for _, e := range page.Executors {
		if !seen[e.Port] {
			seen[e.Port] = true
			ports = append(ports, e.Port)
		}
	}
	return ports
}

// topologyID finds a running topology's id by name.
func (c *cluster) topologyID(name string) string {
	c.t.Helper()
	var list struct {
		Topologies []struct{ ID, Name string } `json:"topologies"`
	}
	c.rest("GET", "/api/v1/topology/summary", nil, "", &list)
	for _, t := range list.Topologies {
		if t.Name == name {
			return t.ID
		}
	}
	c.t.Fatalf("no topology %q in %+v", name, list)
	return ""
}

// liveWorker is a worker a supervisor launched whose process still runs.
type liveWorker struct {
	layout.WorkerMeta
	// Ready tells whether it has written a ready heartbeat.
	Ready bool
}

// liveWorkers returns the workers under a supervisor's local directory
// whose process still runs.
func liveWorkers(localDir string) []liveWorker {
	metas, _ := filepath.Glob(filepath.Join(layout.WorkersRoot(localDir), "*", "meta.json"))
	var live []liveWorker
	for _, m := range metas {
		var w liveWorker
		if layout.ReadJSON(m, &w.WorkerMeta) != nil || w.Pid <= 0 || !procgroup.Alive(w.Pid) {
			continue
		}
		var hb layout.Heartbeat
		w.Ready = layout.ReadJSON(layout.HeartbeatFile(filepath.Dir(m)), &hb) == nil && hb.Ready && hb.Pid == w.Pid
		live = append(live, w)
	}
	return live
}

// workerPids returns the pids of a topology's running workers, by port.
func (c *cluster) workerPids(stormID string) map[int]int {
	pids, _ := c.workers(stormID)
	return pids
}

// workers returns the pids of a topology's running workers, by port, and
// whether they are all ready.
func (c *cluster) workers(stormID string) (pids map[int]int, ready bool) {
	pids, ready = map[int]int{}, true
	for _, s := range c.sups {
		for _, w := range liveWorkers(s.localDir) {
			if w.StormID == stormID {
				pids[w.Port] = w.Pid
				ready = ready && w.Ready
			}
		}
	}
	return pids, ready
}

// settled waits until the topology runs n workers, all ready, whose pids
// stay the same for a few seconds: no worker is being replaced.
func (c *cluster) settled(stormID string, n int) map[int]int {
	c.t.Helper()
	var last map[int]int
	var since time.Time
	waitUntil(c.t, 60*time.Second, fmt.Sprintf("%d settled workers", n), func() bool {
		pids, ready := c.workers(stormID)
		if len(pids) != n || !ready {
			last = nil
			return false
		}
		if !maps.Equal(pids, last) {
			last, since = pids, time.Now()
			return false
		}
		return time.Since(since) >= 3*time.Second
	})
	return last
}

// workerLogs returns the worker logs of a topology, on every supervisor.
func (c *cluster) workerLogs(stormID string) string {
	var all strings.Builder
	for _, s := range c.sups {
		logs, _ := filepath.Glob(filepath.Join(layout.LogsRoot(s.localDir), stormID, "*", "worker.log"))
		for _, l := range logs {
			data, _ := os.ReadFile(l)
			all.Write(data)
		}
	}
	return all.String()
}

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	testenv.WaitUntil(t, timeout, what, cond)
}

// findLine returns the first line of path, from offset from on, that
// begins with prefix.
func findLine(path string, from int64, prefix string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return ""
	}
	s := bufio.NewScanner(f)
	for s.Scan() {
		if strings.HasPrefix(s.Text(), prefix) {
			return s.Text()
		}
	}
	return ""
}

func fields(line string) map[string]string {
	out := map[string]string{}
	for _, f := range strings.Fields(line) {
		if k, v, ok := strings.Cut(f, "="); ok {
			out[k] = v
		}
	}
	return out
}

func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
