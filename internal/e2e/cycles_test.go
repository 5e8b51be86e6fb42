package e2e_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	sqcluster "github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/internal/testenv"
	"github.com/squallstream/squall/metrics"
)

// spoutEmitted returns what a topology's spouts emitted, as nimbus shows it.
func (c *cluster) spoutEmitted(id string) int64 {
	c.t.Helper()
	var n int64
	for _, s := range c.topology(id).Spouts {
		n += s.Emitted
	}
	return n
}

// waitSpoutsStopped waits until the spouts' emitted count stays the same
// for three heartbeats (task.heartbeat.frequency.secs) and at least 3s,
// and returns it.
func (c *cluster) waitSpoutsStopped(id string, timeout time.Duration) int64 {
	c.t.Helper()
	stable := 3 * time.Second
	if hb, ok := c.conf["task.heartbeat.frequency.secs"].(int); ok {
		stable = max(stable, 3*time.Duration(hb)*time.Second)
	}
	last, since := int64(-1), time.Now()
	waitUntil(c.t, timeout, "the spouts to stop emitting", func() bool {
		n := c.spoutEmitted(id)
		if n != last {
			last, since = n, time.Now()
			return false
		}
		return time.Since(since) >= stable
	})
	return last
}

// waitSpoutsEmitting waits until the spouts emitted more than from.
func (c *cluster) waitSpoutsEmitting(id string, from int64, timeout time.Duration) {
	c.t.Helper()
	waitUntil(c.t, timeout, fmt.Sprintf("the spouts to emit past %d", from), func() bool {
		return c.spoutEmitted(id) > from
	})
}

// cycleActivation deactivates and activates topology name n times,
// checking each time that its spouts stop, then resume.
func (c *cluster) cycleActivation(name, id string, n int) {
	c.t.Helper()
	for i := range n {
		c.squall("deactivate", name)
		stopped := c.waitSpoutsStopped(id, 60*time.Second)
		c.squall("activate", name)
		c.waitSpoutsEmitting(id, stopped, 60*time.Second)
		c.t.Logf("cycle %d: spouts stopped at %d emitted, then resumed", i+1, stopped)
	}
}

// workersFollowAssignment waits until every worker of the topology's
// assignment heartbeats, runs exactly the executors the assignment gives
// its slot, and, if it runs component, executes more of its tuples than
// when first seen (so the other workers reach it: they follow the
// assignment too).
func (c *cluster) workersFollowAssignment(st sqcluster.State, id, component string) {
	c.t.Helper()
	first := map[sqcluster.Slot]int64{}
	testenv.WaitErr(c.t, 60*time.Second, "the workers to run their assignment", func() error {
		ctx, cancel := context.WithTimeout(c.t.Context(), 5*time.Second)
		defer cancel()
		a, err := st.GetAssignment(ctx, id)
		if err != nil {
			return err
		}
		beats, err := st.ListWorkerHeartbeats(ctx, id)
		if err != nil {
			return err
		}
		bySlot := map[sqcluster.Slot]sqcluster.WorkerHeartbeat{}
		for _, hb := range beats {
			bySlot[sqcluster.Slot{NodeID: hb.NodeID, Port: hb.Port}] = hb
		}
		var problems []string
		for _, slot := range a.Slots() {
			hb, ok := bySlot[slot]
			if want := a.ExecutorsOn(slot); !ok || !slices.Equal(hb.Executors, want) {
				problems = append(problems, fmt.Sprintf("worker %v runs %v, assigned %v", slot, hb.Executors, want))
				continue
			}
			var executed int64
			runs := false
			for _, ex := range hb.ExecutorStats {
				if ex.Component == component {
					runs = true
					executed += ex.Total(metrics.Executed, nil).Counts[metrics.WindowAllTime]
				}
			}
			if !runs {
				continue
			}
			if f, seen := first[slot]; !seen || executed < f {
				first[slot] = executed // first seen, or restarted
			}
			if executed <= first[slot] {
				problems = append(problems, fmt.Sprintf("worker %v has executed %d %s tuples, no more yet", slot, executed, component))
			}
		}
		if len(problems) > 0 {
			return fmt.Errorf("%v", problems)
		}
		return nil
	})
}

// TestClusterActivationCycles deactivates and activates a topology five
// times: each time its spouts stop, and resume (a worker used to see only
// the first change of its topology's record). Then two rebalances reach
// the running workers: each runs what the new assignment says, and every
// worker of the bolt keeps receiving tuples.
func TestClusterActivationCycles(t *testing.T) {
	c := newCluster(t, 2)
	st := c.state()
	c.squall("submit", "testdata/cycles")
	id := c.topologyID("e2e-cycles")
	c.waitSpoutsEmitting(id, 100, 60*time.Second)

	c.cycleActivation("e2e-cycles", id, 5)

	for i, args := range [][]string{{"-e", "count=2"}, {"-n", "3", "-e", "count=4"}} {
		before := c.assignmentVersion(st, id)
		c.squall(append(append([]string{"rebalance", "-w", "0"}, args...), "e2e-cycles")...)
		waitUntil(t, 60*time.Second, "the new assignment", func() bool { return c.assignmentVersion(st, id) > before })
		c.workersFollowAssignment(st, id, "count")
		t.Logf("rebalance %d (%v) reached the workers", i+1, args)
	}
	// And the record's watch still works after all that.
	c.cycleActivation("e2e-cycles", id, 1)
	c.squall("kill", "-w", "0", "e2e-cycles")
	waitUntil(t, 30*time.Second, "the workers to stop", func() bool { return len(c.workerPids(id)) == 0 })
}

// assignmentVersion returns the version of a topology's assignment, 0 if
// it has none. A read that fails (ZooKeeper away a moment) is tried again:
// a 0 for it would let a wait for a newer version pass at once, and make a
// check that the version stayed the same fail.
func (c *cluster) assignmentVersion(st sqcluster.State, id string) int64 {
	c.t.Helper()
	var version int64
	testenv.WaitErr(c.t, 60*time.Second, "a reading of the assignment of "+id, func() error {
		ctx, cancel := context.WithTimeout(c.t.Context(), 5*time.Second)
		defer cancel()
		a, err := st.GetAssignment(ctx, id)
		if errors.Is(err, sqcluster.ErrNotFound) {
			version = 0
			return nil
		}
		version = a.Version
		return err
	})
	return version
}
