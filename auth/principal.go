package auth

import (
	"context"
	"slices"
	"strings"
)

// Method says how a principal proved who it is.
type Method string

const (
	// MethodNone is an anonymous caller: authentication is not configured.
	MethodNone Method = "none"
	// MethodToken is a bearer token found in the token file.
	MethodToken Method = "token"
	// MethodMTLS is a client certificate verified against the CA bundle.
	MethodMTLS Method = "mtls"
	// MethodWorkerSecret is a worker holding its topology's secret.
	MethodWorkerSecret Method = "worker-secret"
)

// Via says how a request reached the service.
type Via string

const (
	// ViaDirect is a caller talking to the gRPC API itself.
	ViaDirect Via = "grpc"
	// ViaREST is a caller of the REST gateway, whose identity the gateway
	// forwarded.
	ViaREST Via = "rest"
	// ViaNimbus is a caller whose request a follower nimbus forwarded to
	// the leader (Principal.Forwarder names the follower).
	ViaNimbus Via = "nimbus"
)

// Principal is an authenticated caller. The zero Principal is anonymous.
type Principal struct {
	// Name is the user name: the token file's name, the certificate's
	// common name (or first URI SAN), "" when anonymous.
	Name string
	// Groups are the groups the token file or certificate gives the
	// principal, for nimbus.admins.groups, nimbus.groups, topology.groups.
	Groups []string
	// Method is how the principal authenticated.
	Method Method
	// Topology is, for a worker token (MethodWorkerToken), the id of the
	// topology whose workers hold it.
	Topology string
	// Via is how the request reached the service.
	Via Via
	// Forwarder names the daemon that forwarded this identity (ViaNimbus).
	Forwarder string
	// Remote is the caller's network address, for the audit log.
	Remote string
}

// Anonymous returns the principal of a caller when authentication is off.
func Anonymous(via Via, remote string) Principal {
	return Principal{Method: MethodNone, Via: via, Remote: remote}
}

// IsAnonymous reports whether p has no name.
func (p Principal) IsAnonymous() bool { return p.Name == "" }

// InGroup reports whether p belongs to any of groups.
func (p Principal) InGroup(groups []string) bool {
	for _, g := range p.Groups {
		if slices.Contains(groups, g) {
			return true
		}
	}
	return false
}

// String is "alice (token via rest)", or "anonymous".
func (p Principal) String() string {
	name := p.Name
	if name == "" {
		name = "anonymous"
	}
	var b strings.Builder
	b.WriteString(name)
	b.WriteString(" (")
	b.WriteString(string(p.Method))
	if p.Via != "" && p.Via != ViaDirect {
		b.WriteString(" via ")
		b.WriteString(string(p.Via))
		if p.Forwarder != "" {
			b.WriteString(" " + p.Forwarder)
		}
	}
	b.WriteString(")")
	return b.String()
}

type principalKey struct{}

// NewContext returns ctx carrying p.
func NewContext(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal the Guard put in ctx, and whether
// there is one. Every RPC that passed the Guard has one.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
