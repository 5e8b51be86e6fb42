package supervisor

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/internal/testenv"
)

// countingState counts a supervisor's reads of the assignments and its
// registrations (one per monitor tick).
type countingState struct {
	cluster.State
	lists, registrations *atomic.Int64
}

func (c countingState) ListAssignments(ctx context.Context) ([]string, error) {
	c.lists.Add(1)
	return c.State.ListAssignments(ctx)
}

func (c countingState) RegisterSupervisor(ctx context.Context, info cluster.SupervisorInfo) error {
	c.registrations.Add(1)
	return c.State.RegisterSupervisor(ctx, info)
}

// The watch on the assignments tells of every change: a supervisor whose
// last reading succeeded does not read them again at every monitor tick
// (ten topologies cost 31 reads each time), and still follows a change.
func TestTickDoesNotRereadAssignments(t *testing.T) {
	mem := cluster.NewMemory()
	var lists, registrations atomic.Int64
	first := true
	h := newHarnessOn(t, func() cluster.State {
		if first { // the harness's own session
			first = false
			return mem.Session()
		}
		return countingState{State: mem.Session(), lists: &lists, registrations: &registrations}
	})
	s := h.startSupervisor(t.TempDir(), []int{6700, 6701})
	h.submit("quiet-1-1", nil, nil)
	h.assign("quiet-1-1", slots(cluster.Slot{NodeID: s.NodeID(), Port: 6700}, 1))
	s.waitRunning(t, 6700)

	before, ticks := lists.Load(), registrations.Load()
	const wait = 5
	testenv.WaitUntil(t, testWaitDeadline, "five monitor ticks", func() bool { return registrations.Load() >= ticks+wait })
	if got := lists.Load() - before; got > 1 {
		t.Errorf("%d readings of the assignments in %d monitor ticks with nothing changed, want none", got, wait)
	}

	// A change still reaches the supervisor, through the watch.
	h.assign("quiet-1-1", slots(cluster.Slot{NodeID: s.NodeID(), Port: 6701}, 1))
	s.waitRunning(t, 6701)
}
