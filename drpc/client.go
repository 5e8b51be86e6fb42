package drpc

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/squallstream/squall/api/drpcpb"
	"github.com/squallstream/squall/topology"
)

// maxClientMessage bounds a message a client receives: a result.
const maxClientMessage = 64 << 20

// Client calls functions on one DRPC server's client API (drpc.port), as
// Storm's DRPCClient does. It is safe for concurrent use.
type Client struct {
	addr string
	conn *grpc.ClientConn
	api  drpcpb.DistributedRPCClient
}

// Dial returns a client of the server at addr (host:port). It connects
// lazily; opts replace the default plaintext credentials (the security
// layer passes TLS or token credentials here).
func Dial(addr string, opts ...grpc.DialOption) (*Client, error) {
	opts = append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxClientMessage)),
	}, opts...)
	conn, err := grpc.NewClient(addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("drpc client %s: %w", addr, err)
	}
	return &Client{addr: addr, conn: conn, api: drpcpb.NewDistributedRPCClient(conn)}, nil
}

// DialConfigured returns a client of one of the servers that conf names
// (drpc.servers, at drpc.port), as Storm's DRPCClient.getConfiguredClient
// does: it tries them in random order and takes the first that accepts a
// connection within connectTimeout each.
func DialConfigured(ctx context.Context, conf topology.Config, connectTimeout time.Duration, opts ...grpc.DialOption) (*Client, error) {
	r := confReader{conf: conf}
	servers := r.strings(KeyServers)
	port := r.int(KeyPort, DefaultPort)
	if r.err != nil {
		return nil, r.err
	}
	if len(servers) == 0 {
		return nil, fmt.Errorf("config %s is not set: it names the DRPC servers to call", KeyServers)
	}
	if port <= 0 {
		return nil, fmt.Errorf("config %s: %d is not a port to call", KeyPort, port)
	}
	addrs, err := joinServers(servers, port)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, i := range rand.Perm(len(addrs)) {
		c, err := Dial(addrs[i], opts...)
		if err == nil {
			if err = c.connect(ctx, connectTimeout); err == nil {
				return c, nil
			}
			c.Close()
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("%w: %w", ErrUnavailable, errors.Join(errs...))
}

// connect waits until the connection is up, or fails.
func (c *Client) connect(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c.conn.Connect()
	for {
		s := c.conn.GetState()
		switch s {
		case connectivity.Ready:
			return nil
		case connectivity.TransientFailure, connectivity.Shutdown:
			return fmt.Errorf("drpc server %s: cannot connect", c.addr)
		}
		if !c.conn.WaitForStateChange(ctx, s) {
			return fmt.Errorf("drpc server %s: no connection within %v", c.addr, timeout)
		}
	}
}

// Addr returns the server's address.
func (c *Client) Addr() string { return c.addr }

// Execute calls function with args and returns its result. A request that
// got no result fails with an *ExecutionError (errors.Is ErrFailed,
// ErrTimeout, ErrShutdown or ErrInternal); a refused one with ErrBadRequest
// (arguments too large included), ErrBusy, ErrDenied or
// ErrUnauthenticated; an unreachable server with ErrUnavailable.
func (c *Client) Execute(ctx context.Context, function, args string) (string, error) {
	resp, err := c.api.Execute(ctx, &drpcpb.ExecuteRequest{Function: function, Args: args})
	if err != nil {
		return "", fromStatus(err)
	}
	return resp.GetResult(), nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// remoteError is an error a server answered with: its message, and the
// sentinel that says what it means.
type remoteError struct {
	kind error
	msg  string
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.kind }

// fromStatus turns a gRPC status from a server into the errors
// Client.Execute documents.
func fromStatus(err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	for _, d := range st.Details() {
		if e, ok := d.(*drpcpb.ExecutionError); ok {
			return &ExecutionError{Type: e.GetType(), Msg: e.GetMessage()}
		}
	}
	var kind error
	switch st.Code() {
	case codes.InvalidArgument:
		kind = ErrBadRequest
	case codes.ResourceExhausted:
		kind = ErrBusy
	case codes.PermissionDenied:
		kind = ErrDenied
	case codes.Unauthenticated:
		kind = ErrUnauthenticated
	case codes.Unavailable:
		kind = ErrUnavailable
	case codes.Canceled:
		kind = context.Canceled
	case codes.DeadlineExceeded:
		kind = context.DeadlineExceeded
	default:
		kind = ErrInternal
	}
	return &remoteError{kind: kind, msg: fmt.Sprintf("drpc: %s", st.Message())}
}
