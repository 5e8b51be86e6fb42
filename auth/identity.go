package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"google.golang.org/grpc/metadata"
)

// IdentityMetadataKey is the gRPC metadata key that carries a forwarded
// identity: from the REST gateway over the in-process Link, or from a
// follower nimbus (a nimbus.daemon.users principal) to the leader. From
// anyone else it is refused, and the REST middleware deletes any copy a
// client sends.
const IdentityMetadataKey = "squall-identity"

// identityHeader is IdentityMetadataKey as an HTTP header, in the form the
// gateway turns into gRPC metadata.
const identityHeader = "Grpc-Metadata-Squall-Identity"

// maxIdentityBytes bounds an encoded identity.
const maxIdentityBytes = 16 << 10

type wireIdentity struct {
	Name   string   `json:"n,omitempty"`
	Groups []string `json:"g,omitempty"`
	Method Method   `json:"m"`
	Via    Via      `json:"v,omitempty"`
	Remote string   `json:"r,omitempty"`
}

// EncodeIdentity returns p in the form of IdentityMetadataKey's value.
func EncodeIdentity(p Principal) string {
	// Marshalling strings and string slices cannot fail.
	b, _ := json.Marshal(wireIdentity{Name: p.Name, Groups: p.Groups, Method: p.Method, Via: p.Via, Remote: p.Remote})
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeIdentity reads a forwarded identity. It checks the form only:
// whether to trust it depends on who forwarded it.
func DecodeIdentity(s string) (Principal, error) {
	if len(s) > maxIdentityBytes {
		return Principal{}, fmt.Errorf("%w: forwarded identity of %d bytes, above the limit of %d", ErrUnauthenticated, len(s), maxIdentityBytes)
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Principal{}, fmt.Errorf("%w: forwarded identity: %w", ErrUnauthenticated, err)
	}
	var w wireIdentity
	if err := json.Unmarshal(b, &w); err != nil {
		return Principal{}, fmt.Errorf("%w: forwarded identity: %w", ErrUnauthenticated, err)
	}
	switch w.Method {
	case MethodNone:
		if w.Name != "" || len(w.Groups) > 0 {
			return Principal{}, fmt.Errorf("%w: forwarded identity: an anonymous principal with a name", ErrUnauthenticated)
		}
	case MethodToken, MethodMTLS:
		if err := checkCertName("principal", w.Name); err != nil {
			return Principal{}, fmt.Errorf("%w: forwarded identity: %w", ErrUnauthenticated, err)
		}
	default:
		return Principal{}, fmt.Errorf("%w: forwarded identity: method %q cannot be forwarded", ErrUnauthenticated, w.Method)
	}
	if len(w.Groups) > MaxGroups {
		return Principal{}, fmt.Errorf("%w: forwarded identity: %d groups, above the limit of %d", ErrUnauthenticated, len(w.Groups), MaxGroups)
	}
	for _, g := range w.Groups {
		if err := checkCertName("group", g); err != nil {
			return Principal{}, fmt.Errorf("%w: forwarded identity: %w", ErrUnauthenticated, err)
		}
	}
	switch w.Via {
	case "", ViaDirect, ViaREST, ViaNimbus:
	default:
		return Principal{}, fmt.Errorf("%w: forwarded identity: unknown via %q", ErrUnauthenticated, w.Via)
	}
	return Principal{Name: w.Name, Groups: w.Groups, Method: w.Method, Via: w.Via, Remote: w.Remote}, nil
}

// ForwardContext returns ctx ready for a call that passes the request of
// ctx's principal on (a follower nimbus forwarding to the leader): the
// principal the Guard put in ctx becomes the outgoing forwarded identity,
// replacing any already there. The caller's connection must authenticate
// as a nimbus.daemon.users principal, or the receiver refuses the call.
// Without a principal in ctx, ctx is returned as is.
func ForwardContext(ctx context.Context) context.Context {
	p, ok := FromContext(ctx)
	if !ok {
		return ctx
	}
	md, _ := metadata.FromOutgoingContext(ctx)
	md = md.Copy()
	md.Set(IdentityMetadataKey, EncodeIdentity(p))
	return metadata.NewOutgoingContext(ctx, md)
}
