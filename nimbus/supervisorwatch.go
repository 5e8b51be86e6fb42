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
// each supervisor was last seen alive (liveness.saw).

// supervisorsRead is one reading of the registered supervisors, taken when
// their watch fired: what was read, or why it could not be, and when.
type supervisorsRead struct {
	infos []cluster.SupervisorInfo
	err   error
	at    time.Time
}

// readSupervisorsOnChange reads the supervisors each time their watch
// fires, until ctx ends, and hands each reading to out, replacing one not
// taken yet: out must have room for one, and this goroutine must be its
// only sender. Each reading also refreshes the last known state.
func (n *Nimbus) readSupervisorsOnChange(ctx context.Context, out chan supervisorsRead) {
	for range n.state.WatchSupervisors(ctx) {
		infos, err := n.freshView(ctx).supervisors()
		r := supervisorsRead{infos: infos, err: err, at: n.clock.Now()}
		select {
		case <-out: // superseded
		default:
		}
		out <- r // never blocks: the only sender, and the slot is free
	}
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
