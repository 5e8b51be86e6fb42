package supervisor

import (
	"context"
	"errors"
	"fmt"

	"github.com/squallstream/squall/auth"
	"github.com/squallstream/squall/cluster"
)

// LogViewerAuth makes the node's logviewer authenticate and authorize
// every request as nimbus's REST API does, so that it may listen beyond
// loopback: a topology's logs are for those who may view the topology,
// daemon logs for admins, /metrics for anyone authenticated.
type LogViewerAuth struct {
	// Authenticator knows the cluster's tokens (nimbus.auth.tokens.file,
	// the same file as nimbus's) and whether client certificates count.
	Authenticator *auth.Authenticator
	// Policy names the admins.
	Policy auth.Policy
	// Tokens, if set, is the Authenticator's token file, re-read when it
	// changes while the logviewer runs.
	Tokens *auth.TokenStore
}

// topologyACL is the logviewer's logviewer.TopologyACLs: a topology's
// owner and viewers, as nimbus recorded them in the cluster state.
func (s *Supervisor) topologyACL(ctx context.Context, id string) (auth.TopologyACL, error) {
	rec, err := s.state.GetTopology(ctx, id)
	if errors.Is(err, cluster.ErrNotFound) {
		return auth.TopologyACL{}, fmt.Errorf("%w: %s", auth.ErrUnknownTopology, id)
	}
	if err != nil {
		return auth.TopologyACL{}, err
	}
	acl := auth.TopologyACL{ID: rec.ID, Owner: rec.Owner}
	if v := rec.Viewers; v != nil {
		acl.Users, acl.Groups, acl.ReadOnlyUsers, acl.ReadOnlyGroups = v.Users, v.Groups, v.ReadOnlyUsers, v.ReadOnlyGroups
	}
	return acl, nil
}
