package drpc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"

	"github.com/squallstream/squall/api/drpcpb"
)

// stopGrace bounds how long a stopping server waits for its connections
// to finish after every waiting request was answered.
const stopGrace = 5 * time.Second

// Server is a DRPC server: it queues the requests clients make (over gRPC
// or HTTP) under their function, hands them to the topologies that fetch
// that function, and answers each client with its topology's result.
// Create it with New and run it with Run; its other methods are safe for
// concurrent use.
type Server struct {
	cfg   Config
	log   *slog.Logger
	table *table

	running atomic.Bool
	// ready is closed once the listeners are bound; the addresses are set
	// before.
	ready                           chan struct{}
	addr, invocationsAddr, httpAddr string
}

// New validates cfg and returns a server that has not started. A nil
// logger discards.
func New(cfg Config, logger *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Server{
		cfg:   cfg,
		log:   logger.With("component", "drpc"),
		table: newTable(cfg.MaxBufferSize, cfg.MaxOutstanding),
		ready: make(chan struct{}),
	}, nil
}

// Ready is closed once Run has bound the server's ports.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Addr returns the host:port of the client API (drpc.port), "" when it is
// off. Valid once Ready is closed.
func (s *Server) Addr() string { return s.addr }

// InvocationsAddr returns the host:port of the topologies' API
// (drpc.invocations.port). Valid once Ready is closed.
func (s *Server) InvocationsAddr() string { return s.invocationsAddr }

// HTTPAddr returns the host:port of the HTTP forms (drpc.http.port), ""
// when they are off. Valid once Ready is closed.
func (s *Server) HTTPAddr() string { return s.httpAddr }

// Stats returns the server's counters.
func (s *Server) Stats() Stats { return s.table.snapshot() }

// Run binds the ports and serves until ctx ends. Stopping answers every
// waiting client with SERVER_SHUTDOWN and ends every fetch, then closes
// the ports; Run returns once every goroutine it started has.
func (s *Server) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("drpc: Run called twice")
	}
	// Whatever happens, nobody waits on this server any more once Run
	// returns.
	defer s.table.close()
	var listeners []net.Listener
	listen := func(port int) (net.Listener, error) {
		l, err := net.Listen("tcp", net.JoinHostPort(s.cfg.Host, strconv.Itoa(port)))
		if err != nil {
			for _, l := range listeners {
				l.Close()
			}
			return nil, fmt.Errorf("drpc: %w", err)
		}
		listeners = append(listeners, l)
		return l, nil
	}
	invL, err := listen(s.cfg.InvocationsPort)
	if err != nil {
		return err
	}
	s.invocationsAddr = dialAddr(invL)
	var clientL, httpL net.Listener
	if s.cfg.Port >= 0 {
		if clientL, err = listen(s.cfg.Port); err != nil {
			return err
		}
		s.addr = dialAddr(clientL)
	}
	if s.cfg.HTTPPort >= 0 {
		if httpL, err = listen(s.cfg.HTTPPort); err != nil {
			return err
		}
		s.httpAddr = dialAddr(httpL)
	}
	close(s.ready)
	s.log.Info("drpc server listening", "client", s.addr, "invocations", s.invocationsAddr, "http", s.httpAddr)

	var wg sync.WaitGroup
	errc := make(chan error, 3)
	var stops []func()
	opts := append([]grpc.ServerOption{
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
	}, s.cfg.GRPCOptions...)

	inv := grpc.NewServer(append(opts, grpc.MaxRecvMsgSize(s.invocationsMsgLimit()))...)
	drpcpb.RegisterDistributedRPCInvocationsServer(inv, invocationsAPI{s: s})
	wg.Go(func() { errc <- inv.Serve(invL) })
	stops = append(stops, func() { gracefulStop(inv) })
	if clientL != nil {
		cs := grpc.NewServer(append(opts, grpc.MaxRecvMsgSize(s.cfg.MaxBufferSize+64<<10))...)
		drpcpb.RegisterDistributedRPCServer(cs, clientAPI{s: s})
		wg.Go(func() { errc <- cs.Serve(clientL) })
		stops = append(stops, func() { gracefulStop(cs) })
	}
	if httpL != nil {
		hs := &http.Server{
			Handler:           s.HTTPHandler(),
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       60 * time.Second,
			IdleTimeout:       120 * time.Second,
			MaxHeaderBytes:    maxHeaderBytes,
			ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		}
		if s.cfg.HTTPTLS != nil {
			httpL = tls.NewListener(httpL, s.cfg.HTTPTLS)
		}
		wg.Go(func() {
			if err := hs.Serve(httpL); !errors.Is(err, http.ErrServerClosed) {
				errc <- err
				return
			}
			errc <- nil
		})
		stops = append(stops, func() {
			sctx, cancel := context.WithTimeout(context.Background(), stopGrace)
			defer cancel()
			if hs.Shutdown(sctx) != nil {
				hs.Close()
			}
		})
	}

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
		runErr = fmt.Errorf("drpc: serve: %w", runErr)
	}
	s.log.Info("drpc server stopping", "outstanding", s.Stats().Outstanding)
	s.table.close()
	var stopping sync.WaitGroup
	for _, stop := range stops {
		stopping.Go(stop)
	}
	stopping.Wait()
	wg.Wait()
	return runErr
}

// gracefulStop stops a gRPC server, letting its calls finish for at most
// stopGrace: they all end quickly once the table is closed.
func gracefulStop(g *grpc.Server) {
	done := make(chan struct{})
	go func() {
		g.GracefulStop()
		close(done)
	}()
	t := time.NewTimer(stopGrace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		g.Stop()
		<-done
	}
}

// invocationsMsgLimit bounds a message to the invocations port: a batch of
// outcomes holds at most one result of drpc.max_buffer_size and a little
// more; results beyond that fail their request with a clear error.
func (s *Server) invocationsMsgLimit() int {
	return max(4<<20, 2*s.cfg.MaxBufferSize+64<<10)
}

// dialAddr returns the address to reach a listener at: loopback for one
// bound to every interface.
func dialAddr(l net.Listener) string {
	a := l.Addr().(*net.TCPAddr)
	ip := a.IP
	if ip.IsUnspecified() {
		if ip.To4() != nil {
			ip = net.IPv4(127, 0, 0, 1)
		} else {
			ip = net.IPv6loopback
		}
	}
	return net.JoinHostPort(ip.String(), strconv.Itoa(a.Port))
}

// Execute calls function with args and waits for its result: the request
// is queued until a topology fetches it, then waits for the topology's
// outcome, for drpc.request.timeout.secs, or for ctx to end.
func (s *Server) Execute(ctx context.Context, function, args string) (string, error) {
	if err := checkFunction(function); err != nil {
		return "", err
	}
	if !utf8.ValidString(args) {
		return "", fmt.Errorf("%w: the arguments are not UTF-8", ErrBadRequest)
	}
	if err := s.cfg.authorize(ctx, OpExecute, function); err != nil {
		return "", err
	}
	r, err := s.table.add(function, args)
	if err != nil {
		return "", err
	}
	timer := time.NewTimer(s.cfg.RequestTimeout)
	defer timer.Stop()
	select {
	case o := <-r.done:
		return o.result, o.err
	case <-timer.C:
		if s.table.abandon(r, true) {
			return "", executionError(drpcpb.ErrorType_SERVER_TIMEOUT, msgTimedOut)
		}
	case <-ctx.Done():
		if s.table.abandon(r, false) {
			return "", ctx.Err()
		}
	}
	// Settled while giving up: the outcome is there.
	o := <-r.done
	return o.result, o.err
}

// checkFunction checks a function name from a caller.
func checkFunction(function string) error {
	switch {
	case function == "":
		return fmt.Errorf("%w: no function named", ErrBadRequest)
	case len(function) > MaxFunctionLen:
		return fmt.Errorf("%w: a function name of %d bytes is longer than %d", ErrBadRequest, len(function), MaxFunctionLen)
	case !utf8.ValidString(function):
		return fmt.Errorf("%w: the function name is not UTF-8", ErrBadRequest)
	}
	for _, r := range function {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: the function name %q holds a control character", ErrBadRequest, function)
		}
	}
	return nil
}
