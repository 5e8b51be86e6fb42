package auth

import (
	"errors"
	"fmt"
	"testing"
)

// allow says, per class of operation, whether a principal may: cluster,
// topology read, topology write, supervisor, worker. "-" no, "+" yes.
type allow string

func (a allow) for_(op Operation) bool {
	i := map[Class]int{ClassCluster: 0, ClassTopologyRead: 1, ClassTopologyWrite: 2, ClassSupervisor: 3, ClassWorker: 4}[op.Class()]
	return a[i] == '+'
}

func TestAuthorizeTable(t *testing.T) {
	const topo = "wordcount-1-1700000000"
	acl := &TopologyACL{
		ID:             topo,
		Owner:          "alice",
		Users:          []string{"bob"},
		Groups:         []string{"team"},
		ReadOnlyUsers:  []string{"carol"},
		ReadOnlyGroups: []string{"auditors"},
	}
	enforced := Policy{
		Enforce:          true,
		Admins:           []string{"root-admin"},
		AdminGroups:      []string{"ops"},
		Users:            []string{"alice", "bob", "carol", "mallory"},
		Groups:           []string{"devs"},
		SupervisorUsers:  []string{"supervisor"},
		DaemonUsers:      []string{"nimbus"},
		UIActionsEnabled: true,
	}
	readOnlyREST := enforced
	readOnlyREST.UIActionsEnabled = false
	open := Policy{UIActionsEnabled: true}
	openReadOnly := Policy{}

	user := func(name string, groups ...string) Principal {
		return Principal{Name: name, Groups: groups, Method: MethodToken, Via: ViaDirect}
	}
	rest := func(p Principal) Principal { p.Via = ViaREST; return p }
	forwarded := func(p Principal) Principal { p.Via, p.Forwarder = ViaNimbus, "nimbus"; return p }
	worker := func(id string) Principal {
		return Principal{Name: WorkerPrincipalName(id), Method: MethodWorkerSecret}
	}

	tests := []struct {
		name string
		p    Principal
		pol  Policy
		want allow // cluster, read, write, supervisor, worker
	}{
		{"admin", user("root-admin"), enforced, "++++-"},
		{"admin by group", user("ann", "ops"), enforced, "++++-"},
		{"owner", user("alice"), enforced, "+++--"},
		{"owner by certificate", Principal{Name: "alice", Method: MethodMTLS}, enforced, "+++--"},
		{"topology.users", user("bob"), enforced, "+++--"},
		{"topology.groups, not in nimbus.users", user("tom", "team"), enforced, "-++--"},
		{"topology.groups and nimbus.groups", user("tom", "team", "devs"), enforced, "+++--"},
		{"topology.readonly.users", user("carol"), enforced, "++---"},
		{"topology.readonly.groups", user("dan", "auditors"), enforced, "-+---"},
		{"nimbus.users, outside the topology", user("mallory"), enforced, "+----"},
		{"nimbus.groups, outside the topology", user("dev", "devs"), enforced, "+----"},
		{"stranger", user("eve"), enforced, "-----"},
		{"supervisor", user("supervisor"), enforced, "---+-"},
		{"supervisor listed in topology.users too", user("supervisor", "team"), enforced, "---+-"},
		{"nimbus daemon", user("nimbus"), enforced, "---+-"},
		{"anonymous with authentication on", Anonymous(ViaDirect, ""), enforced, "-----"},
		{"worker of the topology", worker(topo), enforced, "----+"},
		{"worker of another topology", worker("other-2-1700000000"), enforced, "-----"},
		{"worker secret named like a user", Principal{Name: "root-admin", Method: MethodWorkerSecret}, enforced, "-----"},
		{"token named like a worker", user(WorkerPrincipalName(topo)), enforced, "-----"},

		{"owner over REST", rest(user("alice")), enforced, "+++--"},
		{"owner over REST, read-only UI", rest(user("alice")), readOnlyREST, "++---"},
		{"admin over REST, read-only UI", rest(user("root-admin")), readOnlyREST, "++-+-"},
		{"owner over gRPC, read-only UI", user("alice"), readOnlyREST, "+++--"},
		{"owner forwarded by a follower", forwarded(user("alice")), enforced, "+++--"},
		{"stranger forwarded by a follower", forwarded(user("eve")), enforced, "-----"},

		{"anonymous, authentication off", Anonymous(ViaDirect, ""), open, "++++-"},
		{"anonymous over REST, authentication off", Anonymous(ViaREST, ""), open, "++++-"},
		{"anonymous over REST, off and read-only UI", Anonymous(ViaREST, ""), openReadOnly, "++-+-"},
		{"worker, authentication off", worker(topo), open, "----+"},
		{"anonymous worker connection, authentication off", Anonymous(ViaDirect, ""), open, "++++-"},
	}
	for _, tt := range tests {
		for _, op := range Operations() {
			t.Run(fmt.Sprintf("%s/%v", tt.name, op), func(t *testing.T) {
				err := Authorize(tt.p, op, acl, tt.pol)
				want := tt.want.for_(op)
				// Submitting is the one cluster operation that changes state.
				if op == OpSubmitTopology && tt.p.Via == ViaREST && !tt.pol.UIActionsEnabled {
					want = false
				}
				if (err == nil) != want {
					t.Errorf("Authorize(%v, %v) = %v, want allowed=%v", tt.p, op, err, want)
				}
				if err != nil && !errors.Is(err, ErrPermissionDenied) {
					t.Errorf("Authorize(%v, %v) = %v, want ErrPermissionDenied", tt.p, op, err)
				}
			})
		}
	}
}

func TestAuthorizeOpenCluster(t *testing.T) {
	// With nimbus.users and nimbus.groups empty, every authenticated
	// principal may use the cluster operations, as in Storm.
	pol := Policy{Enforce: true, UIActionsEnabled: true}
	p := Principal{Name: "anyone", Method: MethodToken}
	for _, op := range []Operation{OpSubmitTopology, OpListTopologies, OpGetClusterSummary} {
		if err := Authorize(p, op, nil, pol); err != nil {
			t.Errorf("Authorize(%v, %v) = %v, want allowed", p, op, err)
		}
	}
	// nimbus.groups alone restricts too (Storm would let everyone in).
	pol.Groups = []string{"devs"}
	if err := Authorize(p, OpSubmitTopology, nil, pol); !errors.Is(err, ErrPermissionDenied) {
		t.Errorf("Authorize with nimbus.groups set = %v, want ErrPermissionDenied", err)
	}
}

func TestAuthorizeNeedsTopology(t *testing.T) {
	pol := Policy{Enforce: true, Admins: []string{"admin"}, UIActionsEnabled: true}
	admin := Principal{Name: "admin", Method: MethodToken}
	for _, op := range Operations() {
		err := Authorize(admin, op, nil, pol)
		if op.OnTopology() != (err != nil) {
			t.Errorf("Authorize(admin, %v, nil acl) = %v; on a topology: %v", op, err, op.OnTopology())
		}
	}
	if err := Authorize(admin, Operation(999), nil, pol); !errors.Is(err, ErrPermissionDenied) {
		t.Errorf("Authorize(unknown operation) = %v, want ErrPermissionDenied", err)
	}
}

func TestOperationNames(t *testing.T) {
	seen := map[string]bool{}
	for _, op := range Operations() {
		name := op.String()
		if name == "" || seen[name] || op.Class() == 0 {
			t.Errorf("operation %d: name %q class %d (duplicate or missing)", int(op), name, op.Class())
		}
		seen[name] = true
	}
	if got := Operation(0).String(); got != "Operation(0)" {
		t.Errorf("Operation(0).String() = %q", got)
	}
}

func TestPolicyFromConfig(t *testing.T) {
	conf := map[string]any{
		KeyNimbusAdmins:          []any{"admin"},
		KeyNimbusAdminsGroups:    "ops",
		KeyNimbusUsers:           []string{"alice"},
		KeyNimbusSupervisorUsers: []any{"sup"},
		KeyNimbusDaemonUsers:     []any{"nimbus"},
		KeyUIActionsEnabled:      "false",
	}
	pol, err := PolicyFromConfig(conf, true)
	if err != nil {
		t.Fatal(err)
	}
	if !pol.Enforce || pol.UIActionsEnabled || pol.Admins[0] != "admin" || pol.AdminGroups[0] != "ops" ||
		pol.Users[0] != "alice" || pol.SupervisorUsers[0] != "sup" || pol.DaemonUsers[0] != "nimbus" {
		t.Errorf("PolicyFromConfig() = %+v", pol)
	}
	def, err := PolicyFromConfig(map[string]any{}, false)
	if err != nil || !def.UIActionsEnabled || def.Enforce {
		t.Errorf("PolicyFromConfig({}) = %+v, %v; want actions enabled, not enforced", def, err)
	}
	for _, bad := range []map[string]any{
		{KeyNimbusAdmins: 3},
		{KeyNimbusUsers: []any{"a", 2}},
		{KeyUIActionsEnabled: "maybe"},
	} {
		if _, err := PolicyFromConfig(bad, true); err == nil {
			t.Errorf("PolicyFromConfig(%v) = nil error", bad)
		}
	}
}

func TestTopologyACLFromConfig(t *testing.T) {
	acl, err := TopologyACLFromConfig("t-1-1", "alice", map[string]any{
		KeyTopologyUsers:         []any{"bob"},
		KeyTopologyGroups:        []any{"team"},
		KeyTopologyReadOnlyUsers: "carol",
		KeyTopologySubmitterUser: "mallory", // ignored: nimbus's record says who
	})
	if err != nil {
		t.Fatal(err)
	}
	if acl.Owner != "alice" || acl.Users[0] != "bob" || acl.Groups[0] != "team" || acl.ReadOnlyUsers[0] != "carol" {
		t.Errorf("TopologyACLFromConfig() = %+v", acl)
	}
	mallory := Principal{Name: "mallory", Method: MethodToken}
	if CanView(mallory, acl, Policy{Enforce: true}) {
		t.Errorf("CanView(mallory) = true; a submitted topology.submitter.user must not grant access")
	}
	if _, err := TopologyACLFromConfig("t", "", map[string]any{KeyTopologyGroups: 1}); err == nil {
		t.Errorf("TopologyACLFromConfig(bad groups) = nil error")
	}
}
