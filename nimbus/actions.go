package nimbus

import (
	"context"

	"github.com/squallstream/squall/auth"
	"github.com/squallstream/squall/cluster"
)

// caller returns who makes the request in ctx, as the Guard
// authenticated it: its name is the pages' "user" (empty when anonymous).
func caller(ctx context.Context) auth.Principal {
	if p, ok := auth.FromContext(ctx); ok {
		return p
	}
	return auth.Anonymous(auth.ViaDirect, "")
}

// mayOperate reports whether the caller in ctx may operate rec
// (activate, deactivate, rebalance, kill) the way it calls, as the Guard
// would decide a kill: the topology page's topologyActionsAllowed.
func (n *Nimbus) mayOperate(ctx context.Context, rec cluster.TopologyRecord) bool {
	acl := n.aclOf(ctx, rec)
	pol := n.cfg.Security.Policy
	pol.Enforce = n.cfg.Security.AuthenticationEnabled()
	return auth.Authorize(caller(ctx), auth.OpKillTopology, &acl, pol) == nil
}

// viewersOf records a topology's ACL in its record, for the daemons that
// decide without its package (supervisors' logviewers). The Guard checked
// the configuration at submission.
func viewersOf(conf map[string]any) *cluster.Viewers {
	acl, err := auth.TopologyACLFromConfig("", "", conf)
	if err != nil {
		return nil
	}
	return &cluster.Viewers{Users: acl.Users, Groups: acl.Groups, ReadOnlyUsers: acl.ReadOnlyUsers, ReadOnlyGroups: acl.ReadOnlyGroups}
}
