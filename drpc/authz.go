package drpc

import (
	"context"
	"fmt"
	"slices"
)

// Operation is what a caller asks to do with a function, under Storm's
// operation names.
type Operation string

const (
	// OpExecute calls a function (a client).
	OpExecute Operation = "execute"
	// OpFetch, OpResult and OpFail serve a function (a topology).
	OpFetch  Operation = "fetchRequest"
	OpResult Operation = "result"
	OpFail   Operation = "failRequest"
)

// Authorizer decides whether principal may perform op on function; the
// principal is empty for an anonymous caller. It is called on every
// execute, on opening a fetch, and for every outcome returned, so it must
// be fast; it must be safe for concurrent use.
type Authorizer func(principal string, op Operation, function string) bool

// authorize checks a call against the configured authorizer.
func (c *Config) authorize(ctx context.Context, op Operation, function string) error {
	if c.Authorize == nil {
		return nil
	}
	principal := ""
	if c.Principal != nil {
		principal = c.Principal(ctx)
	}
	if c.Authorize(principal, op, function) {
		return nil
	}
	who := principal
	if who == "" {
		who = "an anonymous caller"
	}
	return fmt.Errorf("%w: DRPC %s of function %q by %s", ErrDenied, op, function, who)
}

// topology returns the topology of a caller's worker token (Config.Topology).
func (c *Config) topology(ctx context.Context) string {
	if c.Topology == nil {
		return ""
	}
	return c.Topology(ctx)
}

// ACL is the model of Storm's DRPCSimpleACLAuthorizer: for each function,
// the principals that may call it and the one principal that may serve it.
type ACL struct {
	// Functions maps a function name to its entry (Storm's
	// drpc.authorizer.acl).
	Functions map[string]ACLEntry
	// Strict denies every operation on a function without an entry
	// (drpc.authorizer.acl.strict); otherwise such a function is open to
	// all.
	Strict bool
}

// ACLEntry is one function's entry.
type ACLEntry struct {
	// ClientUsers may execute the function (Storm's client.users).
	ClientUsers []string
	// InvocationUser may fetch its requests and return their results
	// (Storm's invocation.user).
	InvocationUser string
}

// Authorize is an Authorizer. The anonymous principal matches no entry.
func (a ACL) Authorize(principal string, op Operation, function string) bool {
	e, ok := a.Functions[function]
	if !ok {
		return !a.Strict
	}
	if principal == "" {
		return false
	}
	switch op {
	case OpExecute:
		return slices.Contains(e.ClientUsers, principal)
	case OpFetch, OpResult, OpFail:
		return e.InvocationUser == principal
	}
	return false
}

// ParseACL reads the value of drpc.authorizer.acl as Storm's ACL file
// holds it:
//
//	drpc.authorizer.acl:
//	  reach:
//	    client.users: [alice, bob]
//	    invocation.user: storm
func ParseACL(v any) (map[string]ACLEntry, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("drpc.authorizer.acl: %#v is not a map of functions", v)
	}
	acl := make(map[string]ACLEntry, len(m))
	for fn, ev := range m {
		em, ok := ev.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("drpc.authorizer.acl %s: %#v is not a map", fn, ev)
		}
		var e ACLEntry
		for k, v := range em {
			switch k {
			case "client.users":
				l, ok := v.([]any)
				if !ok {
					return nil, fmt.Errorf("drpc.authorizer.acl %s client.users: %#v is not a list", fn, v)
				}
				for _, u := range l {
					s, ok := u.(string)
					if !ok {
						return nil, fmt.Errorf("drpc.authorizer.acl %s client.users: %#v is not a name", fn, u)
					}
					e.ClientUsers = append(e.ClientUsers, s)
				}
			case "invocation.user":
				s, ok := v.(string)
				if !ok {
					return nil, fmt.Errorf("drpc.authorizer.acl %s invocation.user: %#v is not a name", fn, v)
				}
				e.InvocationUser = s
			default:
				return nil, fmt.Errorf("drpc.authorizer.acl %s: unknown key %q (want client.users, invocation.user)", fn, k)
			}
		}
		acl[fn] = e
	}
	return acl, nil
}
