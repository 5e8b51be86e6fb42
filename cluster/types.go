package cluster

import (
	"cmp"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/squallstream/squall/internal/loglevel"
	"github.com/squallstream/squall/metrics"
)

// TopologyStatus is a topology's state in Storm's state machine.
type TopologyStatus string

// Topology statuses, with Storm's names.
const (
	StatusActive      TopologyStatus = "ACTIVE"
	StatusInactive    TopologyStatus = "INACTIVE"
	StatusKilled      TopologyStatus = "KILLED"
	StatusRebalancing TopologyStatus = "REBALANCING"
)

// ActionKind names the delayed action of a kill or a rebalance.
type ActionKind string

// Delayed actions of Storm's state machine.
const (
	ActionKill      ActionKind = "KILL"
	ActionRebalance ActionKind = "REBALANCE"
)

// PendingAction is what nimbus does to a topology once the wait time of a
// kill or rebalance is over (the status flips at once, the action waits).
type PendingAction struct {
	// Kind is ActionKill or ActionRebalance.
	Kind ActionKind `json:"kind"`
	// At is when the action runs.
	At time.Time `json:"at"`
	// NumWorkers is a rebalance's new worker count; 0 keeps the current one.
	NumWorkers int `json:"numWorkers,omitempty"`
	// ComponentExecutors is a rebalance's new parallelism per component;
	// components not listed keep theirs.
	ComponentExecutors map[string]int `json:"componentExecutors,omitempty"`
}

// TopologyRecord is a submitted topology's entry (storms/<id>), Storm's
// StormBase.
type TopologyRecord struct {
	// ID is the topology id nimbus made at submission (name-counter-time).
	ID string `json:"id"`
	// Name is the name the user gave it, unique among live topologies.
	Name string `json:"name"`
	// Owner is the submitting user, if known.
	Owner string `json:"owner,omitempty"`
	// Status is where the topology is in Storm's state machine.
	Status TopologyStatus `json:"status"`
	// PrevStatus is the status to restore when a rebalance completes.
	PrevStatus TopologyStatus `json:"prevStatus,omitempty"`
	// NumWorkers is the number of worker processes asked for
	// (topology.workers).
	NumWorkers int `json:"numWorkers"`
	// LaunchTime is when the topology was submitted.
	LaunchTime time.Time `json:"launchTime"`
	// Pending is the delayed action of a kill or rebalance in progress.
	Pending *PendingAction `json:"pendingAction,omitempty"`
	// ComponentExecutors is the number of executors of each component.
	ComponentExecutors map[string]int `json:"componentExecutors,omitempty"`
	// PackageDigest identifies the topology's package (definition,
	// resources, Go binary), which nimbus keeps on disk, not in ZooKeeper.
	PackageDigest string `json:"packageDigest,omitempty"`
	// PackageSize is the package's size in bytes.
	PackageSize int64 `json:"packageSize,omitempty"`
	// LogConfig holds the log levels set at run time (Storm's
	// set_log_level), by logger; the workers follow it.
	LogConfig map[string]loglevel.Setting `json:"logConfig,omitempty"`
	// Debug holds Storm's debug options set at run time, by component
	// ("" for the whole topology); the workers follow it.
	Debug map[string]DebugOption `json:"debug,omitempty"`
	// Version is the record's revision, the token of compare-and-set
	// writes: State.SetTopology stores a record only if the stored one still
	// has this Version (0: only if there is none), and increments it.
	Version int64 `json:"version"`
	// Stateful is set at submission for a topology with stateful bolts,
	// which Storm checkpoints through a checkpoint spout: its listing
	// shows its last checkpoint, read from its workers' heartbeats. The
	// leader sets it on records written before it existed, from the
	// topology's definition.
	Stateful bool `json:"stateful,omitempty"`
	// Viewers are who else may see and operate the topology, from its
	// configuration at submission, for the daemons without its package
	// (a supervisor's logviewer); nil for a topology submitted before.
	Viewers *Viewers `json:"viewers,omitempty"`
}

// Viewers is a topology's ACL beyond its owner: Storm's topology.users,
// topology.groups (view and operate), topology.readonly.users and
// topology.readonly.groups (view).
type Viewers struct {
	Users          []string `json:"users,omitempty"`
	Groups         []string `json:"groups,omitempty"`
	ReadOnlyUsers  []string `json:"readOnlyUsers,omitempty"`
	ReadOnlyGroups []string `json:"readOnlyGroups,omitempty"`
}

// ExecutorID is an executor's inclusive range of task ids, as in Storm. It
// is written "[start end]", also as a JSON object key.
type ExecutorID struct {
	Start int `json:"start"`
	End   int `json:"end"`
}

// String returns "[start end]".
func (e ExecutorID) String() string { return fmt.Sprintf("[%d %d]", e.Start, e.End) }

// MarshalText returns "[start end]", so that ExecutorID can key JSON maps.
func (e ExecutorID) MarshalText() ([]byte, error) { return []byte(e.String()), nil }

// UnmarshalText parses "[start end]".
func (e *ExecutorID) UnmarshalText(b []byte) error {
	inner, ok := strings.CutPrefix(string(b), "[")
	inner, ok2 := strings.CutSuffix(inner, "]")
	start, end, ok3 := strings.Cut(inner, " ")
	s, err1 := strconv.Atoi(start)
	n, err2 := strconv.Atoi(end)
	if !ok || !ok2 || !ok3 || err1 != nil || err2 != nil {
		return fmt.Errorf("executor id %q: want \"[start end]\"", b)
	}
	*e = ExecutorID{Start: s, End: n}
	return nil
}

func compareExecutors(a, b ExecutorID) int {
	return cmp.Or(cmp.Compare(a.Start, b.Start), cmp.Compare(a.End, b.End))
}

// Slot is a worker port on a supervisor's node.
type Slot struct {
	NodeID string `json:"node"`
	Port   int    `json:"port"`
}

// String returns "node:port".
func (s Slot) String() string { return s.NodeID + ":" + strconv.Itoa(s.Port) }

func compareSlots(a, b Slot) int {
	return cmp.Or(cmp.Compare(a.NodeID, b.NodeID), cmp.Compare(a.Port, b.Port))
}

// Assignment says where a topology's executors run (assignments/<id>).
type Assignment struct {
	// TopologyID is the topology assigned.
	TopologyID string `json:"topologyId"`
	// Executors maps each executor to the slot that runs it.
	Executors map[ExecutorID]Slot `json:"executors"`
	// NodeHost maps the node ids used in Executors to host names.
	NodeHost map[string]string `json:"nodeHost"`
	// ExecutorStartTime is when each executor was (re)assigned, so nimbus
	// gives new executors time to start before judging their heartbeats.
	ExecutorStartTime map[ExecutorID]time.Time `json:"executorStartTime,omitempty"`
	// Version is the assignment's revision, incremented by every write, so
	// workers and supervisors notice changes. Like TopologyRecord.Version it
	// is the token of compare-and-set writes (State.SetAssignment).
	Version int64 `json:"version"`
}

// Slots returns the distinct slots of a, sorted.
func (a Assignment) Slots() []Slot {
	var out []Slot
	for _, s := range a.Executors {
		out = append(out, s)
	}
	slices.SortFunc(out, compareSlots)
	return slices.Compact(out)
}

// ExecutorsOn returns the executors assigned to slot s, sorted.
func (a Assignment) ExecutorsOn(s Slot) []ExecutorID {
	var out []ExecutorID
	for e, at := range a.Executors {
		if at == s {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, compareExecutors)
	return out
}

// SupervisorInfo describes a live supervisor (supervisors/<id>, ephemeral).
type SupervisorInfo struct {
	// ID is the supervisor's id, stable across its restarts.
	ID string `json:"id"`
	// Host is the host name workers of other nodes use to reach this one.
	Host string `json:"host"`
	// Ports are the worker ports it offers (supervisor.slots.ports).
	Ports []int `json:"ports"`
	// UsedPorts are the ports running a worker.
	UsedPorts []int `json:"usedPorts,omitempty"`
	// StartTime is when the supervisor started.
	StartTime time.Time `json:"startTime"`
	// Time is when the supervisor last wrote this record; a supervisor that
	// stops updating it is considered dead even if its session lives.
	Time time.Time `json:"time"`
	// Version is the squall version the supervisor runs.
	Version string `json:"version,omitempty"`
	// Address is host:port of a service the supervisor serves (log viewing,
	// worker management), empty if none.
	Address string `json:"address,omitempty"`
}

// Uptime returns how long the supervisor has been running at now.
func (s SupervisorInfo) Uptime(now time.Time) time.Duration { return now.Sub(s.StartTime) }

// WorkerHeartbeat is a worker's periodic report
// (workerbeats/<topology-id>/<node>-<port>).
type WorkerHeartbeat struct {
	TopologyID string `json:"topologyId"`
	NodeID     string `json:"node"`
	Port       int    `json:"port"`
	// Executors are the executors the worker runs.
	Executors []ExecutorID `json:"executors"`
	// Time is when the worker wrote the heartbeat.
	Time time.Time `json:"time"`
	// UptimeSecs is how long the worker has been running.
	UptimeSecs int64 `json:"uptimeSecs"`
	// ExecutorStats are the worker's executors' metrics in Storm's four
	// windows, one per executor (acker executors aside), as its executors
	// read them; nimbus merges them.
	ExecutorStats []metrics.Snapshot `json:"executorStats,omitempty"`
}

// ErrorInfo is an error a component reported
// (errors/<topology-id>/<component>/e<seq>); the last 10 per component are
// kept.
type ErrorInfo struct {
	Component string    `json:"component"`
	Task      int       `json:"task"`
	Host      string    `json:"host"`
	Port      int       `json:"port"`
	Time      time.Time `json:"time"`
	Message   string    `json:"message"`
}

// MaxErrorsPerComponent is how many errors are kept per component.
const MaxErrorsPerComponent = 10

// NimbusInfo describes a nimbus (nimbuses/<host:port>, ephemeral; also the
// value of its leader-lock candidate node).
type NimbusInfo struct {
	Host      string    `json:"host"`
	Port      int       `json:"port"`
	Version   string    `json:"version,omitempty"`
	StartTime time.Time `json:"startTime"`
	// IsLeader is not stored: State.ListNimbuses and State.Leader derive it
	// from the election when they read.
	IsLeader bool `json:"-"`
}

// Addr returns "host:port".
func (n NimbusInfo) Addr() string { return net.JoinHostPort(n.Host, strconv.Itoa(n.Port)) }

// DebugOption is Storm's DebugOptions: whether the tuples a topology (or a
// component) emits are sampled into its workers' event logs, and what
// percent of them.
type DebugOption struct {
	Enable      bool    `json:"enable"`
	SamplingPct float64 `json:"samplingPct"`
}
