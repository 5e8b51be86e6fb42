package drpc

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/squallstream/squall/api/drpcpb"
	"github.com/squallstream/squall/internal/backoff"
)

// fetchBackoff paces reconnections to a server that is down.
var fetchBackoff = backoff.Policy{Min: 50 * time.Millisecond, Max: 5 * time.Second}

// incoming is a request a fetcher got, for the spout to emit.
type incoming struct {
	server int
	req    *drpcpb.Request
}

// fetcher keeps a Fetch stream open to one DRPC server and hands the
// requests it pushes to the spout's inbox. It grants the server credit
// for at most window requests waiting in the inbox or in transit, so a
// slow topology leaves requests queued on the server, where its
// drpc.max_buffer_size applies, and where other spout tasks can take
// them.
type fetcher struct {
	server   int
	addr     string
	function string
	window   int
	conn     *grpc.ClientConn
	api      drpcpb.DistributedRPCInvocationsClient
	log      *slog.Logger
	inbox    chan<- incoming
	// report tells the component about a server it cannot fetch from.
	report func(error)

	// buffered counts this fetcher's requests in the inbox.
	buffered atomic.Int64
	// taken receives when the spout took one of them.
	taken chan struct{}
}

func newFetcher(server int, addr, function string, window int, inbox chan<- incoming, log *slog.Logger, report func(error), opts ...grpc.DialOption) (*fetcher, error) {
	opts = append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)
	conn, err := grpc.NewClient(addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("drpc server %s: %w", addr, err)
	}
	return &fetcher{
		server: server, addr: addr, function: function, window: window,
		conn: conn, api: drpcpb.NewDistributedRPCInvocationsClient(conn),
		log: log.With("server", addr), inbox: inbox, report: report,
		taken: make(chan struct{}, 1),
	}, nil
}

// took tells the fetcher the spout took one of its requests.
func (f *fetcher) took() {
	f.buffered.Add(-1)
	select {
	case f.taken <- struct{}{}:
	default:
	}
}

// healthyStream is how long a stream must have lasted to count as a
// success, for backoff and reporting, when it brought no request.
const healthyStream = 5 * time.Second

// run fetches until ctx ends, reconnecting with backoff.
func (f *fetcher) run(ctx context.Context) {
	b := backoff.New(fetchBackoff)
	healthy := true
	for {
		start := time.Now()
		got, err := f.stream(ctx)
		if ctx.Err() != nil {
			return
		}
		if got || time.Since(start) >= healthyStream {
			b.Reset()
			healthy = true
		}
		if healthy {
			// Said once per outage, not once per retry.
			err = fmt.Errorf("fetch %q requests from drpc server %s: %w", f.function, f.addr, err)
			f.log.Warn("drpc fetch failed", "function", f.function, "err", err)
			f.report(err)
		}
		healthy = false
		if !b.Wait(ctx) {
			return
		}
	}
}

// stream runs one Fetch stream until it breaks or ctx ends, and reports
// whether it got anything.
func (f *fetcher) stream(ctx context.Context) (got bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := f.api.Fetch(ctx)
	if err != nil {
		return false, fromStatus(err)
	}
	granted := f.room(0)
	if err := st.Send(&drpcpb.FetchControl{Function: f.function, Credit: uint32(granted)}); err != nil {
		_, err = st.Recv() // the stream's status says why
		return false, fromStatus(err)
	}
	var received atomic.Int64
	errc := make(chan error, 1)
	go func() {
		for {
			m, err := st.Recv()
			if err != nil {
				errc <- err
				return
			}
			for _, r := range m.GetRequests() {
				f.buffered.Add(1)
				received.Add(1)
				select {
				case f.inbox <- incoming{server: f.server, req: r}:
				case <-ctx.Done():
					errc <- ctx.Err()
					return
				}
			}
		}
	}()
	for {
		select {
		case err := <-errc:
			return received.Load() > 0, fromStatus(err)
		case <-ctx.Done():
			cancel()
			<-errc
			return received.Load() > 0, ctx.Err()
		case <-f.taken:
		}
		outstanding := granted - received.Load()
		room := f.room(outstanding)
		// Grant in steps of a quarter window, or whatever there is when
		// the server has nothing left to send on.
		if room >= max(1, int64(f.window)/4) || (outstanding == 0 && room > 0) {
			if err := st.Send(&drpcpb.FetchControl{Credit: uint32(room)}); err != nil {
				cancel()
				<-errc
				return received.Load() > 0, fromStatus(err)
			}
			granted += room
		}
	}
}

// room is the credit the fetcher can grant beyond the outstanding.
func (f *fetcher) room(outstanding int64) int64 {
	return int64(f.window) - f.buffered.Load() - outstanding
}
