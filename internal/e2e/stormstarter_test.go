package e2e_test

import (
	"strings"
	"testing"
	"time"
)

// TestClusterStormStarterScripts submits storm-starter-like Node and Ruby
// scripts that load Storm's adapter from beside them, with no adapter in
// their resources: the cluster's workers serve squall's, so the spout's
// five sentences go through both bolts and are acked.
func TestClusterStormStarterScripts(t *testing.T) {
	needInterpreter(t, "node")
	needInterpreter(t, "ruby")
	c := newCluster(t, 1)
	if out := c.squall("submit", "../../examples/testdata/storm-starter"); !strings.Contains(out, "Submitted topology storm-starter") {
		t.Fatalf("submit said %q", out)
	}
	id := c.topologyID("storm-starter")
	p := c.waitAcked(id, 5, 2*time.Minute)
	if p.Spouts[0].Failed != 0 {
		t.Errorf("sentences failed %d tuples, want none", p.Spouts[0].Failed)
	}
	if out := c.squall("kill", "-w", "0", "storm-starter"); !strings.Contains(out, "Killed topology: storm-starter") {
		t.Errorf("kill said %q", out)
	}
	waitUntil(t, 30*time.Second, "the workers to stop", func() bool { return len(c.workerPids(id)) == 0 })
}
