package logviewer

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/squallstream/squall/auth"
)

// TopologyACLs returns a topology's ACL, or an error wrapping
// auth.ErrUnknownTopology for a topology nimbus no longer knows (its logs
// outlive it until the supervisor prunes them).
type TopologyACLs func(ctx context.Context, topology string) (auth.TopologyACL, error)

// AuthorizeWith returns a Config.Authorize that decides as the REST API
// does. The caller authenticates as to REST (a bearer token or a client
// certificate); a topology's logs are for those who may view the topology
// (its owner, topology.users and .groups, topology.readonly.users and
// .groups, admins); daemon logs, and the logs of topologies nimbus no
// longer knows, are for admins (nimbus.admins, nimbus.admins.groups);
// /metrics is for any authenticated caller.
// With authentication off, everything is allowed, as in the REST API.
func AuthorizeWith(authn *auth.Authenticator, pol auth.Policy, acls TopologyACLs) func(*http.Request, Access) error {
	return func(r *http.Request, a Access) error {
		// nimbus's log proxy asks with its own credentials on behalf
		// of its caller (auth.IdentityHeader).
		p, err := authn.FromHTTPForwarding(r)
		if err != nil {
			return err
		}
		if !pol.Enforce || pol.IsAdmin(p) || a.Op == OpMetrics {
			return nil // metrics are for any authenticated caller, as nimbus's
		}
		if a.Daemon || a.Topology == "" {
			return fmt.Errorf("%w: daemon logs are for admins (%s)", auth.ErrPermissionDenied, auth.KeyNimbusAdmins)
		}
		acl, err := acls(r.Context(), a.Topology)
		switch {
		case errors.Is(err, auth.ErrUnknownTopology):
			return fmt.Errorf("%w: %s is not a topology nimbus knows; its logs are for admins (%s)", auth.ErrPermissionDenied, a.Topology, auth.KeyNimbusAdmins)
		case err != nil:
			return fmt.Errorf("%w: cannot read the ACL of %s: %v", auth.ErrPermissionDenied, a.Topology, err)
		}
		return auth.Authorize(p, auth.OpGetTopology, &acl, pol)
	}
}
