package e2e_test

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/procstat"
	"github.com/squallstream/squall/internal/testenv"
)

// idleTopologyYAML is the topology BenchmarkIdleCluster submits ten
// times: a Go spout, two identity bolts and a null bolt, in one worker.
const idleTopologyYAML = `name: e2e-idle
config:
  topology.workers: 1
spouts:
  - id: words
    go: squall.TestWordSpout
    args: {field: word, intervalMs: 5}
bolts:
  - id: relay1
    go: squall.Identity
    args: {fields: [word]}
  - id: relay2
    go: squall.Identity
    args: {fields: [word]}
  - id: sink
    go: squall.Null
streams:
  - {from: words, to: relay1, grouping: {type: SHUFFLE}}
  - {from: relay1, to: relay2, grouping: {type: SHUFFLE}}
  - {from: relay2, to: sink, grouping: {type: SHUFFLE}}
`

// idleTopologies is how many topologies, and slots, BenchmarkIdleCluster
// runs.
const idleTopologies = 10

// BenchmarkIdleCluster measures what ten idle topologies cost on a
// `squall dev-cluster` with ten slots: each topology is submitted
// --inactive and runs in one worker. Once every worker is up, it adds up
// the CPU time (utime+stime of /proc/PID/stat) and the context switches
// (of every thread, /proc/PID/task/*/status) of each process of the
// cluster over b.N seconds (-benchtime 60x for a minute), and reports
// them per role: cpu-% is the share of one core used by squall's
// processes together (nimbus, the supervisor, the workers, the DRPC
// server and the dev-cluster process itself), wakeups/s their voluntary
// context switches per second; ZooKeeper's JVM, which is not squall's, is
// reported apart (zookeeper-cpu-%).
func BenchmarkIdleCluster(b *testing.B) {
	d := startDevCluster(b, testenv.FreePorts(b, idleTopologies)...)

	topoDir := filepath.Join(d.dir, "topology")
	if err := os.MkdirAll(topoDir, 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(topoDir, "topology.yaml"), []byte(idleTopologyYAML), 0o644); err != nil {
		b.Fatal(err)
	}
	for i := range idleTopologies {
		submit := d.command("submit", "--inactive", "--name", fmt.Sprintf("e2e-idle-%d", i), topoDir)
		if out, err := submit.CombinedOutput(); err != nil {
			b.Fatalf("submit: %v\n%s", err, out)
		}
	}
	// Measure once every worker is ready and none has been replaced for
	// a while: the start's own work is over.
	var workers map[int]bool
	var since time.Time
	testenv.WaitUntil(b, 3*time.Minute, fmt.Sprintf("%d settled workers", idleTopologies), func() bool {
		pids := map[int]bool{}
		for _, w := range liveWorkers(d.localDir) {
			if w.Ready {
				pids[w.Pid] = true
			}
		}
		if len(pids) != idleTopologies {
			workers = nil
			return false
		}
		if !maps.Equal(pids, workers) {
			workers, since = pids, time.Now()
			return false
		}
		return time.Since(since) >= 10*time.Second
	})

	procs, err := clusterProcesses(d.proc.Pid())
	if err != nil {
		b.Fatal(err)
	}
	if n := countRole(procs, "worker"); n != idleTopologies {
		b.Fatalf("%d worker processes under the dev cluster, want %d: %v", n, idleTopologies, procs)
	}
	for _, role := range []string{"nimbus", "supervisor", "zookeeper"} {
		if countRole(procs, role) != 1 {
			b.Fatalf("no single %s process under the dev cluster: %v", role, procs)
		}
	}
	before := readCosts(b, procs)
	start := time.Now()
	for b.Loop() {
		time.Sleep(time.Second)
	}
	window := time.Since(start)
	after := readCosts(b, procs)

	byRole := map[string]procCost{}
	for pid, p := range procs {
		c := byRole[p.role]
		c.add(after[pid].minus(before[pid]))
		byRole[p.role] = c
	}
	var squall procCost
	for role, c := range byRole {
		if role != "zookeeper" {
			squall.add(c)
		}
	}
	pct := func(c procCost) float64 { return 100 * float64(c.cpu) / float64(window) }
	perSec := func(n int64) float64 { return float64(n) / window.Seconds() }
	b.ReportMetric(pct(squall), "cpu-%")
	b.ReportMetric(perSec(squall.voluntary), "wakeups/s")
	b.ReportMetric(perSec(squall.involuntary), "preempted/s")
	for _, role := range []string{"worker", "nimbus", "supervisor", "drpc", "dev-cluster", "zookeeper"} {
		c := byRole[role]
		b.ReportMetric(pct(c), role+"-cpu-%")
		b.ReportMetric(perSec(c.voluntary), role+"-wakeups/s")
	}
}

// clusterProc is a process of the dev cluster and the part it plays.
type clusterProc struct {
	pid  int
	role string
}

func (p clusterProc) String() string { return fmt.Sprintf("%s:%d", p.role, p.pid) }

// clusterProcesses finds root and every process descending from it, and
// names each one's role: the squall subcommand it runs (nimbus,
// supervisor, worker, drpc), zookeeper for the JVM, dev-cluster for root;
// a process that is none of these (a worker's child) plays its parent's.
func clusterProcesses(root int) (map[int]clusterProc, error) {
	parent, err := processParents()
	if err != nil {
		return nil, err
	}
	procs := map[int]clusterProc{root: {root, "dev-cluster"}}
	var roleOf func(pid int) (string, bool)
	roleOf = func(pid int) (string, bool) {
		if p, ok := procs[pid]; ok {
			return p.role, true
		}
		ppid, ok := parent[pid]
		if !ok || ppid <= 1 {
			return "", false
		}
		prole, ok := roleOf(ppid)
		if !ok {
			return "", false
		}
		role := commandRole(pid)
		if role == "" {
			role = prole
		}
		procs[pid] = clusterProc{pid, role}
		return role, true
	}
	for pid := range parent {
		roleOf(pid)
	}
	return procs, nil
}

// processParents returns the parent of every process of the machine.
func processParents() (map[int]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	parent := map[int]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if s, err := procstat.Read(pid); err == nil {
			parent[pid] = s.PPid
		}
	}
	return parent, nil
}

// commandRole names what pid runs: the squall subcommand, zookeeper for a
// JVM running ZooKeeper, or "" for anything else.
func commandRole(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return ""
	}
	args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	switch {
	case len(args) > 1 && args[0] == squallBin:
		return args[1]
	case strings.Contains(string(b), "org.apache.zookeeper"):
		return "zookeeper"
	}
	return ""
}

func countRole(procs map[int]clusterProc, role string) int {
	n := 0
	for _, p := range procs {
		if p.role == role {
			n++
		}
	}
	return n
}

// procCost is what the kernel counted for a process so far: its CPU time
// and the context switches of its threads.
type procCost struct {
	cpu                    time.Duration
	voluntary, involuntary int64
}

func (c *procCost) add(o procCost) {
	c.cpu += o.cpu
	c.voluntary += o.voluntary
	c.involuntary += o.involuntary
}

func (c procCost) minus(o procCost) procCost {
	return procCost{c.cpu - o.cpu, c.voluntary - o.voluntary, c.involuntary - o.involuntary}
}

// readCosts reads the cost so far of every process of procs; a process
// that is gone fails the benchmark: the cluster must stay as it was.
func readCosts(tb testing.TB, procs map[int]clusterProc) map[int]procCost {
	tb.Helper()
	costs := map[int]procCost{}
	for pid, p := range procs {
		s, err := procstat.Read(pid)
		if err != nil {
			tb.Fatalf("%v: %v", p, err)
		}
		c := procCost{cpu: s.CPU}
		tasks, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
		if err != nil {
			tb.Fatalf("%v: %v", p, err)
		}
		for _, t := range tasks {
			status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + t.Name() + "/status")
			if err != nil {
				continue // the thread ended
			}
			v, i := contextSwitches(status)
			c.voluntary += v
			c.involuntary += i
		}
		costs[pid] = c
	}
	return costs
}

// contextSwitches reads a thread's voluntary and involuntary context
// switches from its /proc status file.
func contextSwitches(status []byte) (voluntary, involuntary int64) {
	for line := range strings.SplitSeq(string(status), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "voluntary_ctxt_switches":
			voluntary = n
		case "nonvoluntary_ctxt_switches":
			involuntary = n
		}
	}
	return voluntary, involuntary
}
