package nimbus

import (
	"context"

	"google.golang.org/grpc/metadata"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/auth"
)

// forwardedBy is the gRPC metadata key a follower sets on the requests it
// forwards to the leader, naming itself. A nimbus that receives a
// forwarded request and does not lead answers Unavailable rather than
// forwarding it again, so that requests never loop between nimbuses
// that disagree on the leader for a moment.
const forwardedBy = "squall-forwarded-by"

// leaderClient returns a client of the leader, and the context to call it
// with, for a follower to forward a request. It fails with ErrUnavailable
// when no nimbus leads, when the election names this nimbus but its
// leader loop is not running (it is starting or stopping), or when ctx is
// already a forwarded request.
func (n *Nimbus) leaderClient(ctx context.Context) (api.NimbusClient, context.Context, error) {
	if md, ok := metadata.FromIncomingContext(ctx); ok && len(md.Get(forwardedBy)) > 0 {
		return nil, nil, unavailablef("nimbus %s forwarded this request here, but this nimbus does not lead either; retry", md.Get(forwardedBy)[0])
	}
	if err := n.writable(); err != nil {
		return nil, nil, err
	}
	lctx, cancel := context.WithTimeout(ctx, freshBudget)
	defer cancel()
	info, ok, err := n.state.Leader(lctx)
	if err != nil {
		return nil, nil, unavailablef("find the leader: %v", err)
	}
	if !ok {
		return nil, nil, unavailablef("no nimbus leads the cluster at the moment (an election may be under way); retry")
	}
	self := n.info()
	if info.Addr() == self.Addr() {
		return nil, nil, unavailablef("the leadership is changing hands; retry")
	}
	conn, err := n.conn(info.Addr())
	if err != nil {
		return nil, nil, err
	}
	// The leader authorizes the caller, not this nimbus.
	fctx := metadata.AppendToOutgoingContext(auth.ForwardContext(ctx), forwardedBy, self.Addr())
	return api.NewNimbusClient(conn), fctx, nil
}
