package e2e_test

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/layout"
	"github.com/squallstream/squall/internal/redisserver/redistest"
	"github.com/squallstream/squall/state/provider"
	"github.com/squallstream/squall/state/redisstore"
)

// checkpointPage is the checkpoint view of GET /api/v1/topology/{id}.
type checkpointPage struct {
	Txid       *int64 `json:"checkpointTxid"`
	AgeSecs    *int64 `json:"checkpointAgeSecs"`
	Stalled    bool   `json:"checkpointStalled"`
	IntervalMs int64  `json:"checkpointIntervalMs"`
}

func (p checkpointPage) String() string {
	v := func(n *int64) string {
		if n == nil {
			return "null"
		}
		return strconv.FormatInt(*n, 10)
	}
	return fmt.Sprintf("txid %s, age %s s, stalled %v, interval %d ms", v(p.Txid), v(p.AgeSecs), p.Stalled, p.IntervalMs)
}

func (c *cluster) checkpoint(id string) checkpointPage {
	c.t.Helper()
	var p checkpointPage
	c.rest("GET", "/api/v1/topology/"+id, nil, "", &p)
	return p
}

// TestStateFaultsCluster runs the state fault test's word count with
// exactly-once state on a cluster (ZooKeeper, nimbus, two supervisors)
// keeping its state in a real Redis server: the counting child is killed
// with SIGKILL at 20% of the sentences acked, the worker running a count
// task at 50% (its supervisor starts it again), and at 70% a counting
// child is stopped (SIGSTOP) until nimbus, squall list and squall monitor
// flag the topology's checkpoint as stalled, then let go. Once every
// sentence is acked, the counts committed in Redis equal the expected
// ones.
func TestStateFaultsCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("state fault tests take minutes")
	}
	needPython(t)
	t.Parallel() // with TestStateFaultsLocal's subtests
	start := time.Now()
	redis := redistest.Start(t)
	c := newCluster(t, 2)
	dir := t.TempDir()
	c.squall("submit", "-c", "e2e.state.dir="+dir, "-c", "e2e.messages="+strconv.Itoa(statefulMessages),
		"-c", "topology.state.exactly.once=true",
		"-c", "topology.state.provider=org.apache.storm.redis.state.RedisKeyValueStateProvider",
		"-c", fmt.Sprintf(`topology.state.provider.config={"jedisPoolConfig": {"host": "127.0.0.1", "port": %d}}`, redis.Port()),
		"testdata/stateful")
	id := c.topologyID(statefulTopology)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("worker logs:\n%s", lastLines(c.workerLogs(id), 80))
		}
	})
	patience := statefulPatience
	alive := func() error { return nil } // the supervisors restart what dies
	countDir := func() string { return c.childDir("count.py") }

	waitAcked(t, dir, statefulMessages*20/100, 2*patience, alive)
	t.Logf("20%% acked after %v", time.Since(start).Round(time.Second))
	if cp := c.checkpoint(id); cp.Txid == nil || *cp.Txid < 1 || cp.Stalled || cp.IntervalMs != 500 {
		t.Errorf("checkpoint view while counting: %v, want a committed txid, not stalled, interval 500 ms", cp)
	}
	killChildOf(t, countDir, "count.py", patience)

	waitAcked(t, dir, statefulMessages*50/100, patience, alive)
	t.Logf("50%% acked after %v", time.Since(start).Round(time.Second))
	pids := c.settled(id, 2)
	ports := c.componentPorts(id, "count")
	if len(ports) == 0 {
		t.Fatalf("no worker runs count")
	}
	port := slices.Min(ports)
	syscall.Kill(pids[port], syscall.SIGKILL)
	waitUntil(t, patience, fmt.Sprintf("the worker on %d to be restarted", port), func() bool {
		p, ok := c.workerPids(id)[port]
		return ok && p != pids[port]
	})
	t.Logf("killed the worker on port %d (pid %d) with SIGKILL; its supervisor started it again", port, pids[port])

	waitAcked(t, dir, statefulMessages*70/100, patience, alive)
	t.Logf("70%% acked after %v", time.Since(start).Round(time.Second))
	c.stallCheckpoint(id, countDir, patience)

	waitAcked(t, dir, statefulMessages, 2*patience, alive)
	t.Logf("all %d sentences acked after %v", statefulMessages, time.Since(start).Round(time.Second))
	// Before reading the counts, a commit after the last ack: the view
	// lags a heartbeat, so the one after the next committed.
	txid := func() int64 {
		if cp := c.checkpoint(id); cp.Txid != nil {
			return *cp.Txid
		}
		return -1
	}
	last := txid()
	waitUntil(t, patience, fmt.Sprintf("checkpoint %d committed (the view showed %d at the last ack)", last+2, last), func() bool { return txid() >= last+2 })
	t.Logf("checkpoint %d committed (%d at the last ack)", txid(), last)
	t.Logf("checkpoint-duplicates (replays dropped) of the running count tasks: %d", c.userCounter(id, "count", "checkpoint-duplicates"))
	c.squall("kill", "-w", "0", statefulTopology)
	waitUntil(t, patience, "the workers to stop", func() bool { return len(c.workerPids(id)) == 0 })

	p, err := provider.New(provider.Config{Kind: provider.Redis, Redis: redisstore.Options{Addr: redis.Addr()}}, provider.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	checkCounts(t, readCommittedCounts(t, p), true)
	t.Logf("done in %v", time.Since(start).Round(time.Second))
}

// stallCheckpoint stops a counting child with SIGSTOP: with exactly-once
// state, the next PREPARE waits for the tuples it holds, so no checkpoint
// commits. Nimbus's topology page and summary, squall list and squall
// monitor must flag the stall within 10 checkpoint intervals (and a
// heartbeat); once the child runs again, the flag clears.
func (c *cluster) stallCheckpoint(id string, findDir func() string, patience time.Duration) {
	c.t.Helper()
	var victim int
	waitUntil(c.t, patience, "a count.py child to run", func() bool {
		if d := findDir(); d != "" {
			if pids := childrenIn(d, "count.py"); len(pids) > 0 {
				victim = pids[0]
				return true
			}
		}
		return false
	})
	if err := syscall.Kill(victim, syscall.SIGSTOP); err != nil {
		c.t.Fatal(err)
	}
	stopped := time.Now()
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			syscall.Kill(victim, syscall.SIGCONT)
		}
	}
	defer resume()
	var cp checkpointPage
	waitUntil(c.t, patience, "the topology page to flag the stalled checkpoint", func() bool {
		cp = c.checkpoint(id)
		return cp.Stalled
	})
	if cp.AgeSecs == nil || *cp.AgeSecs < 10*cp.IntervalMs/1000 {
		c.t.Errorf("stalled checkpoint: %v, want an age of 10 intervals or more", cp)
	}
	c.t.Logf("checkpoint flagged stalled %v after the child stopped: %v", time.Since(stopped).Round(100*time.Millisecond), cp)
	var list struct {
		Topologies []struct {
			Name    string `json:"name"`
			Txid    *int64 `json:"checkpointTxid"`
			Stalled bool   `json:"checkpointStalled"`
		} `json:"topologies"`
	}
	c.rest("GET", "/api/v1/topology/summary", nil, "", &list)
	if len(list.Topologies) != 1 || !list.Topologies[0].Stalled || list.Topologies[0].Txid == nil {
		c.t.Errorf("topology summary while stalled: %+v, want it flagged", list)
	}
	stdout, stderr := c.squallSplit("list")
	if !strings.Contains(stderr, statefulTopology+": CHECKPOINT STALLED") || !strings.Contains(stdout, statefulTopology) {
		c.t.Errorf("squall list while the checkpoint stalled:\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
	_, stderr = c.squallSplit("monitor", statefulTopology, "-m", "sentences", "-i", "1", "--count", "1")
	if !strings.Contains(stderr, statefulTopology+": CHECKPOINT STALLED") {
		c.t.Errorf("squall monitor while the checkpoint stalled printed on stderr:\n%s", stderr)
	}
	resume()
	waitUntil(c.t, patience, "the stall flag to clear once the child runs again", func() bool {
		cp = c.checkpoint(id)
		return !cp.Stalled && cp.AgeSecs != nil && *cp.AgeSecs < 10*cp.IntervalMs/1000
	})
	if stdout, stderr := c.squallSplit("list"); strings.Contains(stderr, "STALLED") {
		c.t.Errorf("squall list after the stall:\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
	c.t.Logf("checkpoints commit again: %v", cp)
}

// squallSplit runs the CLI against the cluster and returns its stdout
// and stderr apart.
func (c *cluster) squallSplit(args ...string) (string, string) {
	c.t.Helper()
	full := append([]string{args[0], "--nimbus", c.grpc}, args[1:]...)
	cmd := exec.Command(squallBin, full...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		c.t.Fatalf("squall %s: %v\n%s%s", strings.Join(full, " "), err, out.String(), errOut.String())
	}
	return out.String(), errOut.String()
}

// childDir returns the pid directory of a worker with a live child
// running script, on any supervisor; "" if none.
func (c *cluster) childDir(script string) string {
	for _, s := range c.sups {
		dirs, _ := filepath.Glob(filepath.Join(layout.WorkersRoot(s.localDir), "*"))
		for _, d := range dirs {
			if pd := layout.PidDir(d); len(childrenIn(pd, script)) > 0 {
				return pd
			}
		}
	}
	return ""
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(len(lines)-n, 0):], "\n")
}

// userCounter returns a component's user counter, all time, summed over
// its running executors.
func (c *cluster) userCounter(id, component, name string) int64 {
	c.t.Helper()
	var page struct {
		UserMetrics []struct {
			Name    string `json:"name"`
			Windows []struct {
				Window string `json:"window"`
				Count  int64  `json:"count"`
			} `json:"windows"`
		} `json:"userMetrics"`
	}
	c.rest("GET", "/api/v1/topology/"+id+"/component/"+component, nil, "", &page)
	for _, m := range page.UserMetrics {
		for _, w := range m.Windows {
			if m.Name == name && w.Window == ":all-time" {
				return w.Count
			}
		}
	}
	return -1
}
