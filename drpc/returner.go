package drpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/squallstream/squall/api/drpcpb"
)

// Limits of a returner.
const (
	// returnQueue is how many outcomes wait for a call; beyond it, send
	// blocks (backpressure on the bolt) and trySend refuses.
	returnQueue = 1024
	// returnCalls bounds the Return calls in flight to one server: while
	// they are, outcomes gather into the next batch.
	returnCalls = 4
	// returnBatch and returnBatchBytes bound one call.
	returnBatch      = 512
	returnBatchBytes = 256 << 10
	// returnTimeout bounds one call.
	returnTimeout = 30 * time.Second
	// returnDrain bounds how long close delivers what waits.
	returnDrain = 5 * time.Second
)

// errReturnerClosed is what outcomes still waiting get when their
// returner closes.
var errReturnerClosed = errors.New("drpc: returner closed")

// returner sends outcomes to one DRPC server's invocations API. One
// goroutine gathers what waits into batches while up to returnCalls calls
// are in flight, so that under load one call carries many outcomes and
// at low load an outcome goes out at once. send and trySend are safe for
// concurrent use, but not concurrently with or after close.
type returner struct {
	addr string
	conn *grpc.ClientConn
	api  drpcpb.DistributedRPCInvocationsClient
	log  *slog.Logger

	in       chan pendingOutcome
	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
}

// pendingOutcome is an outcome and what to call with its fate: nil once
// the server applied it (or ignored it as unknown), an error otherwise.
type pendingOutcome struct {
	o    *drpcpb.Outcome
	done func(error)
}

func newReturner(addr string, log *slog.Logger, opts ...grpc.DialOption) (*returner, error) {
	opts = append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)
	conn, err := grpc.NewClient(addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("drpc server %s: %w", addr, err)
	}
	r := &returner{
		addr: addr,
		conn: conn,
		api:  drpcpb.NewDistributedRPCInvocationsClient(conn),
		log:  log,
		in:   make(chan pendingOutcome, returnQueue),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	go r.run()
	return r, nil
}

// send queues an outcome, waiting for room.
func (r *returner) send(o *drpcpb.Outcome, done func(error)) {
	select {
	case r.in <- pendingOutcome{o, done}:
	case <-r.stop:
		done(errReturnerClosed)
	}
}

// trySend queues an outcome if there is room, and reports whether it did.
func (r *returner) trySend(o *drpcpb.Outcome, done func(error)) bool {
	select {
	case r.in <- pendingOutcome{o, done}:
		return true
	default:
		return false
	}
}

// close delivers what waits, for at most returnDrain, then closes the
// connection.
func (r *returner) close() {
	r.stopOnce.Do(func() { close(r.stop) })
	<-r.done
	r.conn.Close()
}

func (r *returner) run() {
	defer close(r.done)
	var calls sync.WaitGroup
	slots := make(chan struct{}, returnCalls)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for {
		select {
		case slots <- struct{}{}:
		case <-r.stop:
			r.drain(ctx, cancel, &calls, slots)
			return
		}
		var first pendingOutcome
		select {
		case first = <-r.in:
		case <-r.stop:
			<-slots
			r.drain(ctx, cancel, &calls, slots)
			return
		}
		batch := r.gather(first)
		calls.Go(func() {
			defer func() { <-slots }()
			r.call(ctx, batch)
		})
	}
}

// gather takes, after first, whatever else waits, within a batch's bounds.
func (r *returner) gather(first pendingOutcome) []pendingOutcome {
	batch := []pendingOutcome{first}
	size := outcomeSize(first.o)
	for len(batch) < returnBatch && size < returnBatchBytes {
		select {
		case p := <-r.in:
			batch = append(batch, p)
			size += outcomeSize(p.o)
		default:
			return batch
		}
	}
	return batch
}

// drain delivers what is queued at close and what is in flight, for at
// most returnDrain, then cancels the calls; what is left fails.
func (r *returner) drain(ctx context.Context, cancel context.CancelFunc, calls *sync.WaitGroup, slots chan struct{}) {
	stopCalls := time.AfterFunc(returnDrain, cancel)
	defer stopCalls.Stop()
	for {
		select {
		case p := <-r.in:
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				p.done(errReturnerClosed)
				continue
			}
			batch := r.gather(p)
			calls.Go(func() {
				defer func() { <-slots }()
				r.call(ctx, batch)
			})
		default:
			calls.Wait()
			return
		}
	}
}

// call sends one batch and tells each outcome its fate.
func (r *returner) call(ctx context.Context, batch []pendingOutcome) {
	ctx, cancel := context.WithTimeout(ctx, returnTimeout)
	defer cancel()
	req := &drpcpb.ReturnRequest{Outcomes: make([]*drpcpb.Outcome, len(batch))}
	for i, p := range batch {
		req.Outcomes[i] = p.o
	}
	resp, err := r.api.Return(ctx, req)
	if err != nil {
		err = fmt.Errorf("drpc server %s: return results: %w", r.addr, fromStatus(err))
		r.log.Debug("drpc return failed", "server", r.addr, "outcomes", len(batch), "err", err)
		for _, p := range batch {
			p.done(err)
		}
		return
	}
	refused := make(map[uint32]string, len(resp.GetRefused()))
	for _, rf := range resp.GetRefused() {
		refused[rf.GetIndex()] = rf.GetReason()
	}
	for i, p := range batch {
		if reason, ok := refused[uint32(i)]; ok {
			p.done(fmt.Errorf("drpc server %s refused the outcome: %s", r.addr, reason))
			continue
		}
		p.done(nil)
	}
}

func outcomeSize(o *drpcpb.Outcome) int {
	return len(o.GetRequestId()) + len(o.GetResult()) + len(o.GetFailure()) + 16
}
