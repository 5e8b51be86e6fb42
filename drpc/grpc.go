package drpc

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/squallstream/squall/api/drpcpb"
)

// Limits of the invocations API.
const (
	// maxFetchBatch bounds the requests of one push.
	maxFetchBatch = 256
	// maxCredit bounds the credit a fetcher may hold.
	maxCredit = 1 << 20
	// maxLongPoll bounds FetchRequest's wait.
	maxLongPoll = 30 * time.Second
	// maxOutcomes bounds the outcomes of one Return.
	maxOutcomes = 4096
)

// clientAPI serves DistributedRPC.
type clientAPI struct {
	s *Server
	drpcpb.UnimplementedDistributedRPCServer
}

func (a clientAPI) Execute(ctx context.Context, req *drpcpb.ExecuteRequest) (*drpcpb.ExecuteResponse, error) {
	result, err := a.s.Execute(ctx, req.GetFunction(), req.GetArgs())
	if err != nil {
		return nil, toStatus(err)
	}
	return &drpcpb.ExecuteResponse{Result: result}, nil
}

// invocationsAPI serves DistributedRPCInvocations.
type invocationsAPI struct {
	s *Server
	drpcpb.UnimplementedDistributedRPCInvocationsServer
}

// Fetch pushes a function's requests as long as the caller grants credit.
func (a invocationsAPI) Fetch(stream grpc.BidiStreamingServer[drpcpb.FetchControl, drpcpb.FetchedRequests]) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	fn := first.GetFunction()
	if err := checkFunction(fn); err != nil {
		return toStatus(err)
	}
	ctx := stream.Context()
	if err := a.s.cfg.authorize(ctx, OpFetch, fn); err != nil {
		return toStatus(err)
	}
	fetcher := a.s.cfg.topology(ctx)
	cr := newCredit(first.GetCredit())
	// The caller's further messages only grant credit; their reader
	// ends with the stream.
	go func() {
		for {
			m, err := stream.Recv()
			if err != nil {
				cr.end()
				return
			}
			cr.add(m.GetCredit())
		}
	}()
	t := a.s.table
	t.subscribe(fn)
	defer t.unsubscribe(fn)
	var buf []fetched
	for {
		n, ok := cr.wait(ctx)
		if !ok {
			return ctx.Err()
		}
		var ready <-chan struct{}
		var closed bool
		buf, ready, closed = t.take(fn, fetcher, min(n, maxFetchBatch), buf[:0])
		if closed {
			return status.Error(codes.Unavailable, msgShutdown)
		}
		if len(buf) == 0 {
			select {
			case <-ready:
			case <-cr.ended:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
			continue
		}
		msg := &drpcpb.FetchedRequests{Requests: make([]*drpcpb.Request, len(buf))}
		for i, f := range buf {
			msg.Requests[i] = &drpcpb.Request{RequestId: f.id, Args: f.args}
		}
		if err := stream.Send(msg); err != nil {
			// The fetcher is gone; another one may take them.
			t.requeue(fn, buf)
			return err
		}
		cr.use(len(buf))
	}
}

// FetchRequest long-polls for one request.
func (a invocationsAPI) FetchRequest(ctx context.Context, req *drpcpb.FetchRequestRequest) (*drpcpb.Request, error) {
	fn := req.GetFunction()
	if err := checkFunction(fn); err != nil {
		return nil, toStatus(err)
	}
	if err := a.s.cfg.authorize(ctx, OpFetch, fn); err != nil {
		return nil, toStatus(err)
	}
	t := a.s.table
	t.subscribe(fn)
	defer t.unsubscribe(fn)
	timer := time.NewTimer(min(time.Duration(req.GetWaitMillis())*time.Millisecond, maxLongPoll))
	defer timer.Stop()
	var buf [1]fetched
	for {
		got, ready, closed := t.take(fn, a.s.cfg.topology(ctx), 1, buf[:0])
		if closed {
			return nil, status.Error(codes.Unavailable, msgShutdown)
		}
		if len(got) == 1 {
			return &drpcpb.Request{RequestId: got[0].id, Args: got[0].args}, nil
		}
		select {
		case <-ready:
		case <-timer.C:
			return &drpcpb.Request{}, nil
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	}
}

// Return settles requests.
func (a invocationsAPI) Return(ctx context.Context, req *drpcpb.ReturnRequest) (*drpcpb.ReturnResponse, error) {
	if n := len(req.GetOutcomes()); n > maxOutcomes {
		return nil, status.Errorf(codes.InvalidArgument, "%d outcomes in one Return, more than %d", n, maxOutcomes)
	}
	resp := &drpcpb.ReturnResponse{}
	for i, o := range req.GetOutcomes() {
		if reason := a.s.settle(ctx, o); reason != "" {
			resp.Refused = append(resp.Refused, &drpcpb.Refusal{Index: uint32(i), Reason: reason})
		}
	}
	return resp, nil
}

// settle applies one outcome, returning why it was refused, if it was.
func (s *Server) settle(ctx context.Context, o *drpcpb.Outcome) string {
	id := o.GetRequestId()
	var out outcome
	op := OpResult
	switch v := o.GetOutcome().(type) {
	case *drpcpb.Outcome_Result:
		out.result = v.Result
		if len(v.Result) > s.cfg.MaxBufferSize {
			out = outcome{err: executionError(drpcpb.ErrorType_INTERNAL_ERROR, fmt.Sprintf(
				"the topology's result of %d bytes exceeds %s (%d bytes)", len(v.Result), KeyMaxBufferSize, s.cfg.MaxBufferSize))}
		}
	case *drpcpb.Outcome_Failure:
		op = OpFail
		msg := v.Failure
		if msg == "" {
			msg = msgFailed
		}
		out.err = executionError(drpcpb.ErrorType_FAILED_REQUEST, msg)
	default:
		return "the outcome holds neither a result nor a failure"
	}
	if s.cfg.Authorize != nil || s.cfg.Topology != nil {
		fn, fetcher, ok := s.table.fetchedBy(id)
		if !ok {
			return ""
		}
		err := s.cfg.authorize(ctx, op, fn)
		if caller := s.cfg.topology(ctx); err == nil && caller != "" && caller != fetcher {
			err = fmt.Errorf("%w: DRPC %s of request %s of function %q with topology %s's worker token: another topology fetched it",
				ErrDenied, op, id, fn, caller)
		}
		if err != nil {
			s.log.Warn("drpc outcome refused", "request", id, "err", err)
			return err.Error()
		}
	}
	if !s.table.settle(id, out) {
		s.log.Debug("drpc outcome for an unknown request", "request", id)
	}
	return ""
}

// credit is the number of requests a fetcher can take. add and end are
// called by the stream's reader; wait and use by the pushing loop.
type credit struct {
	n       atomic.Int64
	changed chan struct{}
	ended   chan struct{}
}

func newCredit(initial uint32) *credit {
	c := &credit{changed: make(chan struct{}, 1), ended: make(chan struct{})}
	c.n.Store(min(int64(initial), maxCredit))
	return c
}

func (c *credit) add(n uint32) {
	if n == 0 {
		return
	}
	if c.n.Add(int64(n)) > maxCredit {
		c.n.Store(maxCredit)
	}
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

func (c *credit) use(n int) { c.n.Add(-int64(n)) }

func (c *credit) end() { close(c.ended) }

// wait returns the credit once there is some; false if the stream ended
// first.
func (c *credit) wait(ctx context.Context) (int, bool) {
	for {
		if n := c.n.Load(); n > 0 {
			return int(n), true
		}
		select {
		case <-c.changed:
		case <-c.ended:
			return 0, false
		case <-ctx.Done():
			return 0, false
		}
	}
}

// toStatus turns an error of the server into the gRPC status the API
// documents.
func toStatus(err error) error {
	var ee *ExecutionError
	if errors.As(err, &ee) {
		code := codes.Internal
		switch ee.Type {
		case drpcpb.ErrorType_FAILED_REQUEST:
			code = codes.Aborted
		case drpcpb.ErrorType_SERVER_TIMEOUT:
			code = codes.DeadlineExceeded
		case drpcpb.ErrorType_SERVER_SHUTDOWN:
			code = codes.Unavailable
		}
		st, derr := status.New(code, ee.Msg).WithDetails(&drpcpb.ExecutionError{Type: ee.Type, Message: ee.Msg})
		if derr != nil {
			return status.Error(code, ee.Msg)
		}
		return st.Err()
	}
	code := codes.Internal
	switch {
	case errors.Is(err, ErrBadRequest), errors.Is(err, ErrTooLarge):
		code = codes.InvalidArgument
	case errors.Is(err, ErrBusy):
		code = codes.ResourceExhausted
	case errors.Is(err, ErrDenied):
		code = codes.PermissionDenied
	case errors.Is(err, ErrUnauthenticated):
		code = codes.Unauthenticated
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return status.FromContextError(err).Err()
	}
	return status.Error(code, err.Error())
}
