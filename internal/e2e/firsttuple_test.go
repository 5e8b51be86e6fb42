package e2e_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// firstTupleTopology is a Go spout of three sentences and a Go bolt that
// logs what it gets, with the time, in the worker's log.
const firstTupleTopology = `name: %s
spouts:
  - id: sentences
    go: squall.RandomSentences
    args: {limit: 3}
    parallelism: 1
bolts:
  - id: log
    go: squall.Log
    parallelism: 1
streams:
  - from: sentences
    to: log
    grouping: {type: SHUFFLE}
`

var firstTupleLine = regexp.MustCompile(`(?m)^time=(\S+) level=INFO msg=tuple .*component=log`)

// TestFirstTupleLatency submits a Go topology to a cluster with the
// default intervals (heartbeats, supervisor and nimbus monitoring) a few
// times, and logs how long after `squall submit` returned its bolt got the
// first tuple (from the worker's log) and the REST API showed it
// executed. It checks only that both happen; the figures are for
// docs/performance.md (go test -run TestFirstTupleLatency -v ./internal/e2e).
func TestFirstTupleLatency(t *testing.T) {
	c := newCluster(t, 1, withConf(map[string]any{
		"nimbus.monitor.freq.secs":          10,
		"supervisor.monitor.frequency.secs": 3,
		"task.heartbeat.frequency.secs":     3,
	}))
	var first, rest []time.Duration
	for i := range 3 {
		name := fmt.Sprintf("first%d", i)
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "topology.yaml"), fmt.Appendf(nil, firstTupleTopology, name), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Mkdir(filepath.Join(dir, "resources"), 0o755)
		c.squall("submit", dir)
		submitted := time.Now()
		id := c.topologyID(name)
		var seen time.Time
		waitUntil(t, 60*time.Second, "the first tuple in REST", func() bool {
			p := c.topology(id)
			seen = time.Now()
			return len(p.Bolts) > 0 && p.Bolts[0].Executed > 0
		})
		m := firstTupleLine.FindStringSubmatch(c.workerLogs(id))
		if m == nil {
			t.Fatalf("the log bolt logged no tuple:\n%s", c.workerLogs(id))
		}
		at, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil {
			t.Fatalf("time of the first tuple %q: %v", m[1], err)
		}
		first = append(first, at.Sub(submitted))
		rest = append(rest, seen.Sub(at))
		t.Logf("round %d: first tuple in the Go bolt %v after submit returned; in REST %v after that",
			i, at.Sub(submitted).Round(time.Millisecond), seen.Sub(at).Round(time.Millisecond))
		// The next round starts on a cluster at rest: a worker still
		// stopping would hold the slot the next topology is given.
		c.squall("kill", "-w", "0", name)
		waitUntil(t, 30*time.Second, "the workers to stop", func() bool { return len(c.workerPids(id)) == 0 })
		waitUntil(t, 30*time.Second, "the topology to go", func() bool {
			return !strings.Contains(c.squall("list"), name+" ")
		})
	}
	slices.Sort(first)
	slices.Sort(rest)
	t.Logf("submit returned -> first tuple: %v; first tuple -> REST: %v (load average %s)", first, rest, loadAverage())
}

// loadAverage returns the machine's load averages, for the log.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(data))[:3], " ")
}
