package cluster

import (
	"context"
	"sync"
)

// State is the coordination state shared by nimbus, supervisors and
// workers. One State is one client session: its ephemeral entries (a
// supervisor's or a nimbus's registration, an election candidacy) live as
// long as the session. All methods are safe for concurrent use.
//
// Records with a Version (TopologyRecord, Assignment) are written with
// compare-and-set: a write succeeds only if the stored record still has the
// Version of the record written (0 for a record that must not exist yet),
// and stores it with Version+1. The usual loop is read, modify, write, and
// on ErrVersionConflict read again.
//
// Listing entities that are addressed one by one (topologies, assignments,
// supervisors) returns sorted ids; listing collections (heartbeats, errors,
// nimbuses) returns the values.
//
// Watches: WatchTopologies, WatchAssignments and WatchSupervisors return a
// channel that signals "something changed, read again". It is
// level-triggered and coalescing: the channel has a buffer of one and
// receives a value at once (so a consumer starts with a read) and after
// every change; changes made while a signal is pending merge into it, so a
// slow consumer never blocks the watcher and never misses the latest state:
// after any change a signal arrives, and a read made after receiving it sees
// the change or a later state. The channel is closed when ctx ends or the
// State is closed. Typical use:
//
//	for range st.WatchAssignments(ctx) {
//		ids, err := st.ListAssignments(ctx)
//		// ... converge on what was read ...
//	}
//
// A method whose context ends returns the context's error. A write
// interrupted that way, or by a lost connection, may or may not have been
// applied; compare-and-set writes that can be retried safely are retried.
// After Close every method returns ErrClosed, and watch channels are
// returned closed.
type State interface {
	// SetTopology writes rec (storms/<id>) with compare-and-set on
	// rec.Version and returns it as stored. It returns ErrExists if
	// rec.Version is 0 and the topology exists, ErrNotFound if rec.Version
	// is not 0 and it does not, and ErrVersionConflict if the stored
	// version differs.
	SetTopology(ctx context.Context, rec TopologyRecord) (TopologyRecord, error)
	// GetTopology returns topology id, or ErrNotFound.
	GetTopology(ctx context.Context, id string) (TopologyRecord, error)
	// DeleteTopology removes topology id's record and its secret, or
	// returns ErrNotFound.
	// Its assignment, heartbeats and errors are removed separately.
	DeleteTopology(ctx context.Context, id string) error
	// SetTopologySecret stores topology id's worker secret (secrets/<id>,
	// readable by the daemons only when ZooKeeper ACLs are on), replacing
	// any; DeleteTopology deletes it.
	SetTopologySecret(ctx context.Context, id string, secret []byte) error
	// GetTopologySecret returns topology id's worker secret, or
	// ErrNotFound.
	GetTopologySecret(ctx context.Context, id string) ([]byte, error)
	// ListTopologies returns the ids of all topologies, sorted.
	ListTopologies(ctx context.Context) ([]string, error)
	// WatchTopologies signals topologies being added, changed or removed
	// (see Watches above).
	WatchTopologies(ctx context.Context) <-chan struct{}
	// WatchTopology signals topology id being created, changed or
	// removed, and may signal other topologies' changes too. Unlike
	// WatchTopologies it needs no right to list the topologies: a
	// worker, whose ZooKeeper credential reads its own topology only,
	// follows its topology with it.
	WatchTopology(ctx context.Context, id string) <-chan struct{}

	// SetAssignment writes a (assignments/<topology-id>) with
	// compare-and-set on a.Version, like SetTopology.
	SetAssignment(ctx context.Context, a Assignment) (Assignment, error)
	// GetAssignment returns the assignment of a topology, or ErrNotFound.
	GetAssignment(ctx context.Context, topologyID string) (Assignment, error)
	// DeleteAssignment removes a topology's assignment, or returns
	// ErrNotFound.
	DeleteAssignment(ctx context.Context, topologyID string) error
	// ListAssignments returns the ids of the topologies with an assignment,
	// sorted.
	ListAssignments(ctx context.Context) ([]string, error)
	// WatchAssignments signals assignments being added, changed or removed.
	WatchAssignments(ctx context.Context) <-chan struct{}
	// WatchAssignment is WatchTopology for a topology's assignment.
	WatchAssignment(ctx context.Context, topologyID string) <-chan struct{}

	// RegisterSupervisor creates or updates this session's ephemeral entry
	// for info.ID (supervisors/<id>); call it again to update the info. The
	// entry lives as long as the State: it is removed by Close, and
	// re-created with the latest info after a session expiry. An entry of
	// the same id left by another session (an earlier run of the same
	// supervisor whose session has not expired yet) is replaced.
	RegisterSupervisor(ctx context.Context, info SupervisorInfo) error
	// GetSupervisor returns a live supervisor's info, or ErrNotFound.
	GetSupervisor(ctx context.Context, id string) (SupervisorInfo, error)
	// ListSupervisors returns the ids of the live supervisors, sorted.
	ListSupervisors(ctx context.Context) ([]string, error)
	// WatchSupervisors signals supervisors joining, leaving or updating
	// their info.
	WatchSupervisors(ctx context.Context) <-chan struct{}

	// PutWorkerHeartbeat creates or replaces the heartbeat of worker
	// hb.NodeID:hb.Port of topology hb.TopologyID.
	PutWorkerHeartbeat(ctx context.Context, hb WorkerHeartbeat) error
	// ListWorkerHeartbeats returns a topology's worker heartbeats, sorted by
	// node and port; none is not an error.
	ListWorkerHeartbeats(ctx context.Context, topologyID string) ([]WorkerHeartbeat, error)
	// DeleteWorkerHeartbeat removes one worker's heartbeat, or returns
	// ErrNotFound.
	DeleteWorkerHeartbeat(ctx context.Context, topologyID, nodeID string, port int) error
	// DeleteWorkerHeartbeats removes all heartbeats of a topology; none is
	// not an error.
	DeleteWorkerHeartbeats(ctx context.Context, topologyID string) error

	// ReportError records an error of component e.Component, keeping the
	// last MaxErrorsPerComponent per component.
	ReportError(ctx context.Context, topologyID string, e ErrorInfo) error
	// ListErrors returns the kept errors of all components of a topology,
	// oldest first within each component, components sorted; none is not an
	// error.
	ListErrors(ctx context.Context, topologyID string) ([]ErrorInfo, error)
	// DeleteErrors removes all errors of a topology; none is not an error.
	DeleteErrors(ctx context.Context, topologyID string) error

	// RegisterNimbus creates or updates this session's ephemeral entry for
	// info.Addr() (nimbuses/<host:port>), with RegisterSupervisor's
	// lifetime and replacement rules.
	RegisterNimbus(ctx context.Context, info NimbusInfo) error
	// ListNimbuses returns the registered nimbuses sorted by address, with
	// IsLeader set on the one whose address is the leader's.
	ListNimbuses(ctx context.Context) ([]NimbusInfo, error)
	// Campaign enters the leader election as info and blocks until this
	// session leads, ctx ends (the candidacy is withdrawn) or the State is
	// closed. Leadership ends when it is resigned, when the State is closed,
	// when the session expires, or when the connection to the coordination
	// service is lost (the session might expire without this process
	// knowing); the leader then watches Leadership.Lost and campaigns again
	// to lead again. A candidacy whose session expires while waiting is
	// renewed by Campaign, which keeps waiting.
	Campaign(ctx context.Context, info NimbusInfo) (*Leadership, error)
	// Leader returns the current leader's info (IsLeader set) and true, or
	// false if no one leads.
	Leader(ctx context.Context) (NimbusInfo, bool, error)

	// Close ends the session: its ephemeral entries are removed, its
	// leadership is lost, its watch channels are closed and its goroutines
	// have exited when Close returns. Close is idempotent.
	Close() error
}

// Leadership is won by State.Campaign. Its methods are safe for concurrent
// use.
type Leadership struct {
	info   NimbusInfo
	lost   chan struct{}
	once   sync.Once
	resign func(ctx context.Context) error
}

func newLeadership(info NimbusInfo, resign func(ctx context.Context) error) *Leadership {
	info.IsLeader = true
	return &Leadership{info: info, lost: make(chan struct{}), resign: resign}
}

// Info returns the leader's info, as given to Campaign.
func (l *Leadership) Info() NimbusInfo { return l.info }

// Lost is closed when the leadership ends, for whatever reason. Leader-only
// work should stop when it is.
func (l *Leadership) Lost() <-chan struct{} { return l.lost }

// IsLost reports whether the leadership has ended.
func (l *Leadership) IsLost() bool {
	select {
	case <-l.lost:
		return true
	default:
		return false
	}
}

// Resign ends the leadership and withdraws the candidacy, so that another
// candidate can lead. Lost is closed when Resign returns, even with an error
// (the candidacy then ends with the session at the latest). Resigning twice
// is harmless.
func (l *Leadership) Resign(ctx context.Context) error {
	l.end()
	return l.resign(ctx)
}

// end closes lost once.
func (l *Leadership) end() { l.once.Do(func() { close(l.lost) }) }
