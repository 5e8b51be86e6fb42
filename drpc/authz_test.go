package drpc

import (
	"testing"

	"gopkg.in/yaml.v3"
)

// TestACL is Storm's DRPCSimpleACLAuthorizer, principal x operation x
// function.
func TestACL(t *testing.T) {
	entries := map[string]ACLEntry{
		"reach": {ClientUsers: []string{"alice", "bob"}, InvocationUser: "storm"},
		"empty": {},
	}
	type call struct {
		principal string
		op        Operation
		function  string
	}
	tests := []struct {
		call   call
		strict bool
		want   bool
	}{
		{call{"alice", OpExecute, "reach"}, true, true},
		{call{"bob", OpExecute, "reach"}, false, true},
		{call{"carol", OpExecute, "reach"}, false, false},
		{call{"storm", OpExecute, "reach"}, true, false},
		{call{"", OpExecute, "reach"}, false, false},
		{call{"storm", OpFetch, "reach"}, true, true},
		{call{"storm", OpResult, "reach"}, true, true},
		{call{"storm", OpFail, "reach"}, true, true},
		{call{"alice", OpFetch, "reach"}, false, false},
		{call{"alice", OpResult, "reach"}, false, false},
		{call{"storm", Operation("shutdown"), "reach"}, false, false},
		{call{"alice", OpExecute, "other"}, false, true},
		{call{"", OpFetch, "other"}, false, true},
		{call{"alice", OpExecute, "other"}, true, false},
		{call{"alice", OpExecute, "empty"}, false, false},
		{call{"", OpFetch, "empty"}, false, false},
	}
	for _, tt := range tests {
		acl := ACL{Functions: entries, Strict: tt.strict}
		if got := acl.Authorize(tt.call.principal, tt.call.op, tt.call.function); got != tt.want {
			t.Errorf("ACL{strict: %v}.Authorize(%q, %s, %q) = %v, want %v",
				tt.strict, tt.call.principal, tt.call.op, tt.call.function, got, tt.want)
		}
	}
}

func TestParseACL(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       map[string]ACLEntry
		ok         bool
	}{
		{"storm's example", `
reach:
  client.users: [alice, bob]
  invocation.user: storm
exclaim:
  invocation.user: storm
`, map[string]ACLEntry{
			"reach":   {ClientUsers: []string{"alice", "bob"}, InvocationUser: "storm"},
			"exclaim": {InvocationUser: "storm"},
		}, true},
		{"not a map", `[a, b]`, nil, false},
		{"entry not a map", `reach: alice`, nil, false},
		{"users not a list", "reach:\n  client.users: alice\n", nil, false},
		{"user not a name", "reach:\n  client.users: [[a]]\n", nil, false},
		{"invocation user not a name", "reach:\n  invocation.user: [a]\n", nil, false},
		{"unknown key", "reach:\n  client.user: [a]\n", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v any
			if err := yaml.Unmarshal([]byte(tt.yaml), &v); err != nil {
				t.Fatal(err)
			}
			got, err := ParseACL(v)
			if (err == nil) != tt.ok {
				t.Fatalf("ParseACL = %v, %v; want ok %v", got, err, tt.ok)
			}
			if !tt.ok {
				return
			}
			if len(got) != len(tt.want) {
				t.Fatalf("ParseACL = %v, want %v", got, tt.want)
			}
			for fn, e := range tt.want {
				g := got[fn]
				if g.InvocationUser != e.InvocationUser || len(g.ClientUsers) != len(e.ClientUsers) {
					t.Errorf("%s = %+v, want %+v", fn, g, e)
				}
			}
		})
	}
}
