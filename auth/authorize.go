package auth

import (
	"fmt"
	"slices"
)

// Operation is something a principal asks to do: an RPC of nimbus's API,
// a supervisor's package download, a worker's connection to another.
type Operation int

// The operations. Each RPC of squall.v1.Nimbus maps to one (NimbusMethods).
const (
	opInvalid Operation = iota

	// Cluster operations: any user nimbus.users/nimbus.groups admit
	// (Storm's "user commands").
	OpGetClusterSummary
	OpGetClusterConfiguration
	OpGetNimbusSummary
	OpGetSupervisorSummary
	// OpListTopologies is allowed like the others of its class; the list
	// then holds only the topologies the principal may view.
	OpListTopologies
	OpSubmitTopology

	// Topology reads: the owner, topology.users/groups and
	// topology.readonly.users/groups.
	OpGetTopology
	OpGetComponent
	OpGetErrors

	// Topology changes: the owner and topology.users/groups.
	OpActivateTopology
	OpDeactivateTopology
	OpRebalanceTopology
	OpKillTopology

	// OpDownloadPackage is a supervisor fetching a topology's package
	// (nimbus.supervisor.users), or a follower nimbus copying it
	// (nimbus.daemon.users).
	OpDownloadPackage

	// OpWorkerConnect is a worker connecting to another worker of its
	// topology: only a holder of the topology's secret, whoever else asks.
	OpWorkerConnect

	// OpSetLogConfig changes a topology's log levels (Storm's
	// setLogConfig), a topology change.
	OpSetLogConfig

	// OpDebug turns a topology's event sampling on or off (Storm's
	// debug), a topology change.
	OpDebug

	opCount
)

// Class groups operations that the same rule governs.
type Class int

const (
	ClassCluster Class = iota + 1
	ClassTopologyRead
	ClassTopologyWrite
	ClassSupervisor
	ClassWorker
)

var opInfo = [opCount]struct {
	name  string
	class Class
}{
	OpGetClusterSummary:       {"getClusterSummary", ClassCluster},
	OpGetClusterConfiguration: {"getClusterConfiguration", ClassCluster},
	OpGetNimbusSummary:        {"getNimbusSummary", ClassCluster},
	OpGetSupervisorSummary:    {"getSupervisorSummary", ClassCluster},
	OpListTopologies:          {"listTopologies", ClassCluster},
	OpSubmitTopology:          {"submitTopology", ClassCluster},
	OpGetTopology:             {"getTopology", ClassTopologyRead},
	OpGetComponent:            {"getComponent", ClassTopologyRead},
	OpGetErrors:               {"getErrors", ClassTopologyRead},
	OpActivateTopology:        {"activate", ClassTopologyWrite},
	OpDeactivateTopology:      {"deactivate", ClassTopologyWrite},
	OpRebalanceTopology:       {"rebalance", ClassTopologyWrite},
	OpKillTopology:            {"killTopology", ClassTopologyWrite},
	OpDownloadPackage:         {"downloadPackage", ClassSupervisor},
	OpWorkerConnect:           {"workerConnect", ClassWorker},
	OpSetLogConfig:            {"setLogConfig", ClassTopologyWrite},
	OpDebug:                   {"debug", ClassTopologyWrite},
}

// Operations lists every operation, in order.
func Operations() []Operation {
	ops := make([]Operation, 0, opCount-1)
	for op := opInvalid + 1; op < opCount; op++ {
		ops = append(ops, op)
	}
	return ops
}

// String is the operation's name in the audit log, Storm's where Storm has
// the operation ("killTopology", "rebalance").
func (op Operation) String() string {
	if op <= opInvalid || op >= opCount {
		return fmt.Sprintf("Operation(%d)", int(op))
	}
	return opInfo[op].name
}

// Class returns the class of op, 0 for an invalid one.
func (op Operation) Class() Class {
	if op <= opInvalid || op >= opCount {
		return 0
	}
	return opInfo[op].class
}

// ChangesState reports whether op changes the cluster: the operations the
// audit log records and ui.actions.enabled=false refuses over REST.
func (op Operation) ChangesState() bool {
	return op == OpSubmitTopology || op.Class() == ClassTopologyWrite
}

// OnTopology reports whether op acts on one topology, whose ACL decides.
func (op Operation) OnTopology() bool {
	c := op.Class()
	return c == ClassTopologyRead || c == ClassTopologyWrite || c == ClassWorker
}

// TopologyACL is who may see and operate a topology: its owner and the
// users and groups its configuration lists.
type TopologyACL struct {
	// ID is the topology's id.
	ID string
	// Owner is the principal that submitted it (topology.submitter.user);
	// it may always view and operate it.
	Owner string
	// Users and Groups (topology.users, topology.groups) may view and
	// operate it.
	Users, Groups []string
	// ReadOnlyUsers and ReadOnlyGroups (topology.readonly.users,
	// topology.readonly.groups) may view it.
	ReadOnlyUsers, ReadOnlyGroups []string
}

// TopologyACLFromConfig reads a topology's ACL from its configuration.
// owner is who nimbus recorded as the submitter; a topology.submitter.user
// in conf is ignored, since a submission could set it to anyone.
func TopologyACLFromConfig(id, owner string, conf map[string]any) (TopologyACL, error) {
	acl := TopologyACL{ID: id, Owner: owner}
	var err error
	for _, f := range []struct {
		key string
		dst *[]string
	}{
		{KeyTopologyUsers, &acl.Users},
		{KeyTopologyGroups, &acl.Groups},
		{KeyTopologyReadOnlyUsers, &acl.ReadOnlyUsers},
		{KeyTopologyReadOnlyGroup, &acl.ReadOnlyGroups},
	} {
		if *f.dst, err = confStrings(conf, f.key); err != nil {
			return TopologyACL{}, err
		}
	}
	return acl, nil
}

// Policy is the cluster's authorization configuration.
type Policy struct {
	// Enforce turns authorization on. It is on whenever authentication
	// is: without authentication every caller is anonymous and every
	// operation is allowed (only workers' secrets and ui.actions.enabled
	// still apply).
	Enforce bool
	// Admins and AdminGroups (nimbus.admins, nimbus.admins.groups) may do
	// anything but connect as a worker.
	Admins, AdminGroups []string
	// Users and Groups (nimbus.users, nimbus.groups) may use the cluster
	// operations (submit, list, summaries); when both are empty, every
	// authenticated principal may.
	Users, Groups []string
	// SupervisorUsers (nimbus.supervisor.users) may download packages and
	// do nothing else.
	SupervisorUsers []string
	// DaemonUsers (nimbus.daemon.users) are nimbus's own principals: they
	// may download packages (a follower copying from the leader) and
	// forward the identity of the caller whose request they pass on.
	DaemonUsers []string
	// UIActionsEnabled (ui.actions.enabled, default true) false makes the
	// REST API read-only.
	UIActionsEnabled bool
}

// PolicyFromConfig reads the policy's keys. enforce says whether
// authentication is configured (see ServerSettings).
func PolicyFromConfig(conf map[string]any, enforce bool) (Policy, error) {
	p := Policy{Enforce: enforce}
	var err error
	for _, f := range []struct {
		key string
		dst *[]string
	}{
		{KeyNimbusAdmins, &p.Admins},
		{KeyNimbusAdminsGroups, &p.AdminGroups},
		{KeyNimbusUsers, &p.Users},
		{KeyNimbusGroups, &p.Groups},
		{KeyNimbusSupervisorUsers, &p.SupervisorUsers},
		{KeyNimbusDaemonUsers, &p.DaemonUsers},
	} {
		if *f.dst, err = confStrings(conf, f.key); err != nil {
			return Policy{}, err
		}
	}
	if p.UIActionsEnabled, err = confBool(conf, KeyUIActionsEnabled, true); err != nil {
		return Policy{}, err
	}
	return p, nil
}

// IsAdmin reports whether p is a cluster admin.
func (pol Policy) IsAdmin(p Principal) bool {
	return !p.IsAnonymous() && (slices.Contains(pol.Admins, p.Name) || p.InGroup(pol.AdminGroups))
}

// IsDaemon reports whether p is one of nimbus's own principals, trusted to
// forward identities.
func (pol Policy) IsDaemon(p Principal) bool {
	return !p.IsAnonymous() && p.Method != MethodWorkerSecret && slices.Contains(pol.DaemonUsers, p.Name)
}

// WorkerPrincipalName is the name of the principal a worker of topology id
// authenticates as, by holding the topology's secret.
func WorkerPrincipalName(id string) string { return "worker:" + id }

// Authorize decides whether p may do op, on the topology acl describes
// (nil for operations not on a topology). It returns nil to allow, or an
// error wrapping ErrPermissionDenied that says why not. It is a pure
// function: the Guard calls it for every RPC, workers for every
// connection.
func Authorize(p Principal, op Operation, acl *TopologyACL, pol Policy) error {
	class := op.Class()
	if class == 0 {
		return fmt.Errorf("%w: unknown operation %v", ErrPermissionDenied, op)
	}
	if op.OnTopology() && acl == nil {
		return fmt.Errorf("%w: %v without a topology", ErrPermissionDenied, op)
	}
	// A worker connection is a matter of the topology's secret, on or
	// off: nobody else, not even an admin, injects tuples.
	if class == ClassWorker {
		if p.Method == MethodWorkerSecret && p.Name == WorkerPrincipalName(acl.ID) {
			return nil
		}
		return fmt.Errorf("%w: only a worker of %s may connect to its workers", ErrPermissionDenied, acl.ID)
	}
	if p.Method == MethodWorkerSecret {
		return fmt.Errorf("%w: a worker's secret grants nothing but worker connections", ErrPermissionDenied)
	}
	if p.Via == ViaREST && op.ChangesState() && !pol.UIActionsEnabled {
		return fmt.Errorf("%w: the REST API is read-only (%s is false)", ErrPermissionDenied, KeyUIActionsEnabled)
	}
	if !pol.Enforce {
		return nil
	}
	if p.IsAnonymous() {
		return fmt.Errorf("%w: anonymous callers may do nothing when authentication is on", ErrPermissionDenied)
	}
	if pol.IsAdmin(p) {
		return nil
	}
	who := p.Name
	if slices.Contains(pol.SupervisorUsers, who) {
		if class == ClassSupervisor {
			return nil
		}
		return fmt.Errorf("%w: %s is a supervisor (%s), which may only download packages", ErrPermissionDenied, who, KeyNimbusSupervisorUsers)
	}
	switch class {
	case ClassSupervisor:
		if pol.IsDaemon(p) {
			return nil
		}
		return fmt.Errorf("%w: %v is for supervisors (%s) and nimbus (%s)", ErrPermissionDenied, op, KeyNimbusSupervisorUsers, KeyNimbusDaemonUsers)
	case ClassCluster:
		if len(pol.Users) == 0 && len(pol.Groups) == 0 || slices.Contains(pol.Users, who) || p.InGroup(pol.Groups) {
			return nil
		}
		return fmt.Errorf("%w: %s is not in %s or %s", ErrPermissionDenied, who, KeyNimbusUsers, KeyNimbusGroups)
	case ClassTopologyWrite:
		if acl.mayOperate(p) {
			return nil
		}
		return fmt.Errorf("%w: %s may not %v %s: not its owner, nor in its %s or %s", ErrPermissionDenied, who, op, acl.ID, KeyTopologyUsers, KeyTopologyGroups)
	case ClassTopologyRead:
		if acl.mayOperate(p) || slices.Contains(acl.ReadOnlyUsers, who) || p.InGroup(acl.ReadOnlyGroups) {
			return nil
		}
		return fmt.Errorf("%w: %s may not view %s: not its owner, nor in its %s, %s, %s or %s", ErrPermissionDenied, who, acl.ID,
			KeyTopologyUsers, KeyTopologyGroups, KeyTopologyReadOnlyUsers, KeyTopologyReadOnlyGroup)
	}
	return fmt.Errorf("%w: %v", ErrPermissionDenied, op)
}

func (acl *TopologyACL) mayOperate(p Principal) bool {
	return acl.Owner != "" && acl.Owner == p.Name || slices.Contains(acl.Users, p.Name) || p.InGroup(acl.Groups)
}

// CanView reports whether p may see the topology acl describes, in lists
// as on its own page.
func CanView(p Principal, acl TopologyACL, pol Policy) bool {
	return Authorize(p, OpGetTopology, &acl, pol) == nil
}
