package auth

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// Authenticator finds out who is calling, from a bearer token or a
// verified client certificate, and decides whether a forwarded identity is
// to be believed. Its methods are safe for concurrent use.
type Authenticator struct {
	tokens  *TokenStore
	mtls    bool
	policy  Policy
	workers *WorkerTokenVerifier // nil: no worker tokens
}

// NewAuthenticator returns an authenticator that accepts the tokens of
// tokens (nil: none) and, when mtls is set, verified client certificates.
// With neither, authentication is off and every caller is anonymous.
// policy names the daemons trusted to forward identities.
func NewAuthenticator(tokens *TokenStore, mtls bool, policy Policy) *Authenticator {
	return &Authenticator{tokens: tokens, mtls: mtls, policy: policy}
}

// WithWorkerTokens returns a copy of a that also accepts the worker tokens
// v verifies (over TLS only), as bearer tokens.
func (a *Authenticator) WithWorkerTokens(v WorkerTokenVerifier) *Authenticator {
	b := *a
	b.workers = &v
	return &b
}

// Enabled reports whether callers must authenticate.
func (a *Authenticator) Enabled() bool { return a.tokens != nil || a.mtls || a.workers != nil }

// credential authenticates a caller from an Authorization value (possibly
// empty) and a TLS connection state (possibly nil).
func (a *Authenticator) credential(ctx context.Context, authorization string, hasAuthorization bool, cs *tls.ConnectionState) (Principal, error) {
	if hasAuthorization {
		token, ok := bearerToken(authorization)
		if !ok {
			return Principal{}, fmt.Errorf("%w: the authorization is not \"Bearer <token>\"", ErrUnauthenticated)
		}
		if IsWorkerToken(token) {
			if a.workers == nil {
				return Principal{}, fmt.Errorf("%w: a worker token, which this server does not take (for DRPC: drpc.worker.tokens is off)", ErrUnauthenticated)
			}
			if cs == nil {
				return Principal{}, fmt.Errorf("%w: a worker token over a connection without TLS", ErrUnauthenticated)
			}
			return a.workers.Verify(ctx, token)
		}
		if a.tokens == nil {
			return Principal{}, fmt.Errorf("%w: this server takes no bearer tokens (%s is not set)", ErrUnauthenticated, KeyTokensFile)
		}
		return a.tokens.Authenticate(token)
	}
	if a.mtls && cs != nil {
		p, ok, err := PrincipalFromTLS(cs)
		if err != nil {
			return Principal{}, err
		}
		if ok {
			return p, nil
		}
	}
	return Principal{}, fmt.Errorf("%w: no credentials: send \"authorization: Bearer <token>\" or a client certificate", ErrUnauthenticated)
}

// FromGRPC authenticates the caller of a gRPC request and returns its
// principal:
//   - through the Link (the REST gateway), the identity the gateway
//     forwarded, which must be there;
//   - otherwise the caller's own credentials (anonymous when
//     authentication is off); a caller in nimbus.daemon.users may forward
//     another principal's identity, anyone else trying to is refused with
//     ErrPermissionDenied.
func (a *Authenticator) FromGRPC(ctx context.Context) (Principal, error) {
	pr, _ := peer.FromContext(ctx)
	md, _ := metadata.FromIncomingContext(ctx)
	forwarded := md.Get(IdentityMetadataKey)
	remote := ""
	if pr != nil && pr.Addr != nil {
		remote = pr.Addr.String()
	}
	if pr != nil {
		if _, ok := pr.AuthInfo.(LinkInfo); ok {
			if len(forwarded) != 1 {
				return Principal{}, fmt.Errorf("%w: in-process call with %d forwarded identities, want 1", ErrUnauthenticated, len(forwarded))
			}
			p, err := DecodeIdentity(forwarded[0])
			if err != nil {
				return Principal{}, err
			}
			p.Via, p.Forwarder = ViaREST, ""
			return p, nil
		}
	}

	caller := Anonymous(ViaDirect, remote)
	if a.Enabled() {
		authz := md.Get("authorization")
		if len(authz) > 1 {
			return Principal{}, fmt.Errorf("%w: %d authorization values, want 1", ErrUnauthenticated, len(authz))
		}
		var cs *tls.ConnectionState
		if pr != nil {
			if ti, ok := pr.AuthInfo.(credentials.TLSInfo); ok {
				cs = &ti.State
			}
		}
		var err error
		if caller, err = a.credential(ctx, first(authz), len(authz) == 1, cs); err != nil {
			return Principal{}, err
		}
		caller.Via, caller.Remote = ViaDirect, remote
	}
	if len(forwarded) == 0 {
		return caller, nil
	}
	if !a.Enabled() {
		// Nobody can be told apart: the forwarder's own (anonymous)
		// identity is all there is.
		caller.Via = ViaNimbus
		return caller, nil
	}
	if !a.policy.IsDaemon(caller) {
		return Principal{}, fmt.Errorf("%w: %s may not forward an identity (only %s may)", ErrPermissionDenied, caller.Name, KeyNimbusDaemonUsers)
	}
	if len(forwarded) != 1 {
		return Principal{}, fmt.Errorf("%w: %d forwarded identities, want 1", ErrUnauthenticated, len(forwarded))
	}
	p, err := DecodeIdentity(forwarded[0])
	if err != nil {
		return Principal{}, err
	}
	if p.Via != ViaREST {
		p.Via = ViaNimbus
	}
	p.Forwarder = caller.Name
	return p, nil
}

// FromHTTP authenticates the caller of a REST request: its bearer token,
// else its verified client certificate; anonymous when authentication is
// off.
func (a *Authenticator) FromHTTP(r *http.Request) (Principal, error) {
	if !a.Enabled() {
		return Anonymous(ViaREST, r.RemoteAddr), nil
	}
	vals := r.Header.Values("Authorization")
	if len(vals) > 1 {
		return Principal{}, fmt.Errorf("%w: %d Authorization headers, want 1", ErrUnauthenticated, len(vals))
	}
	p, err := a.credential(r.Context(), first(vals), len(vals) == 1, r.TLS)
	if err != nil {
		return Principal{}, err
	}
	p.Via, p.Remote = ViaREST, r.RemoteAddr
	return p, nil
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}
