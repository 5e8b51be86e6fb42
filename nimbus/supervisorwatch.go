package nimbus

import (
	"context"
	"slices"
	"time"

	"github.com/squallstream/squall/cluster"
)

// A live supervisor rewrites its record every supervisor.monitor.frequency.secs
// with a new Time, and the supervisors' watch fires each time. Most of
// these changes say only "still alive": a full reading of the cluster
// state for each (a scheduling pass, a refresh of the last known state)
// would cost every idle cluster a pass every few seconds. So nimbus reads
// the supervisors alone when their watch fires, and goes on to the full
// reading only when a supervisor came, went or changed its record in more
// than its Time; the Time changes still tell the leader's liveness when
// each supervisor was last seen alive (liveness.saw). Each change is read
// once on a nimbus, for the last known state and the leader alike.

// supervisorsRead is one reading of the registered supervisors, taken when
// their watch fired: what was read, or why it could not be, and when.
type supervisorsRead struct {
	infos []cluster.SupervisorInfo
	err   error
	at    time.Time
}

// readSupervisorsOnChange reads the supervisors each time their watch
// fires, until ctx ends: the one reading of them on this nimbus. Each
// reading refreshes the last known state and goes to known and, while
// this nimbus leads, to the leader loop (leader.sups).
func (n *Nimbus) readSupervisorsOnChange(ctx context.Context, known chan supervisorsRead) {
	for range n.state.WatchSupervisors(ctx) {
		infos, err := n.freshView(ctx).supervisors()
		r := supervisorsRead{infos: infos, err: err, at: n.clock.Now()}
		offer(known, r)
		if l := n.currentLeader(); l != nil {
			offer(l.sups, r)
		}
	}
}

// offer puts r in out, replacing a reading not taken yet: out must have
// room for one, and the caller must be its only sender.
func offer(out chan supervisorsRead, r supervisorsRead) {
	select {
	case <-out: // superseded
	default:
	}
	out <- r // never blocks: the only sender, and the slot is free
}

// supervisorsChanged reports whether cur differs from prev in anything but
// the supervisors' Time: a supervisor came, went or changed its record.
// Both are in the order ListSupervisors gives.
func supervisorsChanged(prev, cur []cluster.SupervisorInfo) bool {
	return !slices.EqualFunc(prev, cur, func(a, b cluster.SupervisorInfo) bool {
		return a.ID == b.ID && a.Host == b.Host && slices.Equal(a.Ports, b.Ports) &&
			slices.Equal(a.UsedPorts, b.UsedPorts) && a.StartTime.Equal(b.StartTime) &&
			a.Version == b.Version && a.Address == b.Address
	})
}
