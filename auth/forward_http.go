package auth

import (
	"fmt"
	"net/http"
)

// IdentityHeader carries, on an HTTP request from a daemon (nimbus's log
// proxy to a supervisor's logviewer), the identity of the caller on whose
// behalf it asks (EncodeIdentity). Only a nimbus.daemon.users principal
// may send it.
const IdentityHeader = "Squall-Identity"

// FromHTTPForwarding is FromHTTP for a server that daemons call on
// behalf of others: a request carrying IdentityHeader is the forwarded
// caller's, if the request itself authenticates as a nimbus.daemon.users
// principal; anyone else sending the header is refused.
func (a *Authenticator) FromHTTPForwarding(r *http.Request) (Principal, error) {
	p, err := a.FromHTTP(r)
	if err != nil {
		return Principal{}, err
	}
	fwd := r.Header.Values(IdentityHeader)
	if len(fwd) == 0 {
		return p, nil
	}
	if !a.Enabled() {
		return p, nil // nobody can be told apart
	}
	if !a.policy.IsDaemon(p) {
		return Principal{}, fmt.Errorf("%w: %s may not forward an identity (only %s may)", ErrPermissionDenied, p.Name, KeyNimbusDaemonUsers)
	}
	if len(fwd) != 1 {
		return Principal{}, fmt.Errorf("%w: %d forwarded identities, want 1", ErrUnauthenticated, len(fwd))
	}
	caller, err := DecodeIdentity(fwd[0])
	if err != nil {
		return Principal{}, err
	}
	caller.Via, caller.Forwarder, caller.Remote = ViaNimbus, p.Name, r.RemoteAddr
	return caller, nil
}

// SetForwardedIdentity makes r, which a daemon sends with its own
// credentials, ask on behalf of p.
func SetForwardedIdentity(r *http.Request, p Principal) {
	r.Header.Set(IdentityHeader, EncodeIdentity(p))
}
