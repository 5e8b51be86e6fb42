package nimbus

import (
	"github.com/squallstream/squall/internal/backoff"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/auth"
	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/internal/buildinfo"
	"github.com/squallstream/squall/internal/layout"
)

// Nimbus is one nimbus daemon. New builds it, Run runs it. It implements
// api.NimbusServer; its methods are safe for concurrent use.
type Nimbus struct {
	api.UnimplementedNimbusServer

	cfg     Config
	state   cluster.State
	log     *slog.Logger
	clock   Clock
	timing  timing
	store   *packageStore
	models  *modelCache
	release memoryRelease
	known   *lastKnown // what the API last read, for when ZooKeeper does not answer
	version string
	started time.Time

	running atomic.Bool
	ready   chan struct{} // closed once the listeners are bound
	// passes counts the leader's scheduling passes, so that tests can
	// wait for one.
	passes atomic.Int64

	mu sync.Mutex
	// Guarded by mu:
	self     cluster.NimbusInfo // this nimbus as registered; set before ready closes
	grpcAddr string
	httpAddr string
	leader   *leader                     // the running leader loop, nil unless leading
	conns    map[string]*grpc.ClientConn // to other nimbuses, by address
	closed   bool                        // Run has returned: no new conns
	// replicas holds, by package digest, the nimbuses that copied the
	// package from this one.
	replicas map[string]map[string]bool
}

// New validates cfg and returns a nimbus using state, the cluster state
// (one session, which the caller closes after Run returns). It starts
// nothing.
func New(cfg Config, state cluster.State) (*Nimbus, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if state == nil {
		return nil, errors.New("nimbus: no cluster state")
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	clock := cfg.Clock
	if clock == nil {
		clock = systemClock{}
	}
	return &Nimbus{
		cfg:     cfg,
		state:   state,
		log:     logger.With("component", "nimbus"),
		clock:   clock,
		timing:  timingOf(cfg.Cluster),
		store:   newPackageStore(layout.NimbusPackages(cfg.LocalDir)),
		models:  newModelCache(),
		known:   newLastKnown(),
		version: shortVersion(),
		started: clock.Now(),
		ready:   make(chan struct{}),
		conns:   make(map[string]*grpc.ClientConn),
	}, nil
}

// shortVersion is the squall version without revision and Go version.
func shortVersion() string {
	v, _, _ := strings.Cut(buildinfo.String(), " ")
	return v
}

// Ready is closed once Run listens: GRPCAddr and HTTPAddr then tell where.
func (n *Nimbus) Ready() <-chan struct{} { return n.ready }

// GRPCAddr returns the address clients dial for the gRPC API (Host and
// the port the listener got, or the listener's address if it is bound to
// one), "" before Ready.
func (n *Nimbus) GRPCAddr() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.grpcAddr
}

// HTTPAddr returns the REST gateway's address as GRPCAddr does, "" before
// Ready or without REST.
func (n *Nimbus) HTTPAddr() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.httpAddr
}

// dialAddr returns the address to reach listener l at: host and its port
// when it listens on every interface.
func dialAddr(l net.Listener, host string) string {
	a, ok := l.Addr().(*net.TCPAddr)
	if !ok || !a.IP.IsUnspecified() {
		return l.Addr().String()
	}
	return net.JoinHostPort(host, strconv.Itoa(a.Port))
}

// Run serves the gRPC API and the REST gateway, registers this nimbus in
// the cluster state, campaigns for leadership (running the leader loop
// while it leads) and copies packages from the leader, until ctx ends.
// Then it resigns, stops the servers (gracefully, within
// Config.ShutdownTimeout) and returns once every goroutine it started has
// returned. It returns nil after ctx ends, or the error that stopped it.
// Run may be called once.
func (n *Nimbus) Run(ctx context.Context) error {
	if !n.running.CompareAndSwap(false, true) {
		return errors.New("nimbus: Run called twice")
	}
	defer n.closeConns()
	defer n.release.stop()
	if err := n.store.init(); err != nil {
		return fmt.Errorf("nimbus: %w", err)
	}
	if err := n.checkExposure(); err != nil {
		return err
	}
	sec, err := n.newSecurity()
	if err != nil {
		return err
	}
	defer sec.close()
	gl, err := net.Listen("tcp", n.cfg.GRPCAddr)
	if err != nil {
		return fmt.Errorf("nimbus: listen for gRPC: %w", err)
	}
	var hl net.Listener
	if n.cfg.HTTPAddr != "" {
		if hl, err = net.Listen("tcp", n.cfg.HTTPAddr); err != nil {
			gl.Close()
			return fmt.Errorf("nimbus: listen for REST: %w", err)
		}
	}
	// Submissions, over gRPC or REST, share one set of slots; large ones
	// stream (UploadTopology), so no message need be larger than a chunk
	// and a definition. A REST submission takes its slot in the gateway,
	// so the tap lets it through when the gateway passes it on.
	slots := api.NewSlots(n.cfg.MaxConcurrentSubmits)
	gs := grpc.NewServer(append(sec.guard.ServerOptions(),
		grpc.Creds(auth.ServerCredentials(sec.grpcTLS)),
		grpc.MaxRecvMsgSize(api.MaxMessageBytesLimit),
		grpc.InTapHandle(forwardedSkipTap(api.SubmitTap(slots))),
		// Fixed windows: gRPC's dynamic ones grow to 16 MiB a connection,
		// which uploads faster than the disk takes them fill.
		grpc.InitialWindowSize(api.PackageChunkBytes),
		grpc.InitialConnWindowSize(2*api.PackageChunkBytes),
		grpc.ConnectionTimeout(10*time.Second), // the handshake of a new connection
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: n.cfg.HTTP.IdleTimeout}),
	)...)
	api.RegisterNimbusServer(gs, n)
	// The REST gateway calls the gRPC server through an in-process link,
	// so that every REST request passes the Guard's interceptors too.
	link := auth.NewLink()
	var (
		hs       *http.Server
		linkConn *grpc.ClientConn
	)
	if hl != nil {
		maxMsg := api.MaxMessageBytes(n.cfg.MaxSubmitBytes)
		linkConn, err = grpc.NewClient(auth.LinkTarget, append(link.DialOptions(),
			grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(maxMsg), grpc.MaxCallRecvMsgSize(maxMsg)))...)
		if err != nil {
			gl.Close()
			hl.Close()
			return fmt.Errorf("nimbus: %w", err)
		}
		gw, err := api.NewGatewayHandler(api.ForClient(api.NewNimbusClient(linkConn)), api.GatewayConfig{
			MaxSubmitBytes:    n.cfg.MaxSubmitBytes,
			MaxRequestBytes:   api.DefaultMaxRequestBytes,
			Submissions:       slots,
			SpoolDir:          n.store.scratch,
			SubmitIdleTimeout: n.cfg.SubmitIdleTimeout,
			SubmitTimeout:     n.cfg.SubmitTimeout,
		})
		if err != nil {
			linkConn.Close()
			gl.Close()
			hl.Close()
			return fmt.Errorf("nimbus: %w", err)
		}
		hs = api.NewHTTPServer(gw, n.cfg.HTTP)
		hs.Handler = n.httpHandler(gw, sec.guard)
		hs.TLSConfig = sec.restTLS
		hl = listenTLS(hl, sec.restTLS)
	}

	n.mu.Lock()
	n.self = cluster.NimbusInfo{
		Host:      n.cfg.Host,
		Port:      gl.Addr().(*net.TCPAddr).Port,
		Version:   n.version,
		StartTime: n.started,
	}
	n.grpcAddr = dialAddr(gl, n.cfg.Host)
	if hl != nil {
		n.httpAddr = dialAddr(hl, n.cfg.Host)
	}
	n.mu.Unlock()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	fatal := make(chan error, 2)
	wg.Go(func() {
		if err := gs.Serve(gl); err != nil {
			fatal <- fmt.Errorf("nimbus: serve gRPC: %w", err)
		}
	})
	if hs != nil {
		wg.Go(func() { gs.Serve(link.Listener()) })
		wg.Go(func() {
			if err := hs.Serve(hl); !errors.Is(err, http.ErrServerClosed) {
				fatal <- fmt.Errorf("nimbus: serve REST: %w", err)
			}
		})
	}
	if sec.tokens != nil {
		wg.Go(func() { sec.tokens.Watch(ctx, tokenReloadEvery, n.cfg.Hup, n.log.With("component", "tokens")) })
	}
	wg.Go(func() { n.campaign(ctx) })
	wg.Go(func() { n.replicate(ctx) })
	wg.Go(func() { n.keepKnown(ctx) })
	n.log.Info("nimbus started", "grpc", n.GRPCAddr(), "http", n.HTTPAddr(), "host", n.cfg.Host)
	close(n.ready)

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-fatal:
	}
	cancel()
	n.stopServers(gs, hs)
	if linkConn != nil {
		linkConn.Close()
	}
	link.Close()
	wg.Wait()
	n.log.Info("nimbus stopped")
	return runErr
}

// stopServers stops the gRPC and HTTP servers, gracefully for at most
// Config.ShutdownTimeout, then by closing their connections.
func (n *Nimbus) stopServers(gs *grpc.Server, hs *http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.ShutdownTimeout)
	defer cancel()
	stopped := make(chan struct{})
	go func() {
		gs.GracefulStop()
		close(stopped)
	}()
	if hs != nil {
		if err := hs.Shutdown(ctx); err != nil {
			hs.Close()
		}
	}
	select {
	case <-stopped:
	case <-ctx.Done():
		gs.Stop()
		<-stopped
	}
}

// info returns this nimbus as registered.
func (n *Nimbus) info() cluster.NimbusInfo {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.self
}

// currentLeader returns the running leader loop, or nil if this nimbus
// does not lead.
func (n *Nimbus) currentLeader() *leader {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.leader
}

func (n *Nimbus) setLeader(l *leader) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.leader = l
}

// campaign registers this nimbus and runs for leadership until ctx ends,
// leading whenever it wins.
func (n *Nimbus) campaign(ctx context.Context) {
	self := n.info()
	b := backoff.New(backoff.Policy{Min: 100 * time.Millisecond, Max: 5 * time.Second})
	for {
		err := n.state.RegisterNimbus(ctx, self)
		if err == nil {
			break
		}
		n.log.Warn("register nimbus", "err", err)
		if !b.Wait(ctx) {
			return
		}
	}
	b.Reset()
	for {
		lead, err := n.state.Campaign(ctx, self)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			n.log.Warn("campaign for leadership", "err", err)
			if !b.Wait(ctx) {
				return
			}
			continue
		}
		b.Reset()
		n.lead(ctx, lead)
		if ctx.Err() != nil {
			return
		}
	}
}

// lead runs the leader loop until the leadership is lost or ctx ends; then
// it resigns, so that another nimbus takes over at once.
func (n *Nimbus) lead(ctx context.Context, lead *cluster.Leadership) {
	n.log.Info("leadership won", "leader", lead.Info().Addr())
	l := newLeader(n, lead)
	n.setLeader(l)
	l.run(ctx)
	n.setLeader(nil)
	rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := lead.Resign(rctx); err != nil {
		n.log.Warn("resign leadership", "err", err)
	}
	n.log.Info("leadership ended")
}

// conn returns a client connection to the nimbus at addr, made on first
// use and closed when Run returns.
func (n *Nimbus) conn(addr string) (*grpc.ClientConn, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, unavailablef("nimbus is stopping")
	}
	if c, ok := n.conns[addr]; ok {
		return c, nil
	}
	maxMsg := api.MaxMessageBytes(n.cfg.MaxSubmitBytes)
	// nimbus's own credentials (nimbus.client.*): a nimbus.daemon.users
	// principal, which may forward its callers' identities.
	opts, err := n.cfg.Client.DialOptions(addr)
	if err != nil {
		return nil, fmt.Errorf("connect to nimbus %s: %w", addr, err)
	}
	c, err := grpc.NewClient(addr, append(opts,
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(maxMsg), grpc.MaxCallRecvMsgSize(maxMsg)))...)
	if err != nil {
		return nil, fmt.Errorf("connect to nimbus %s: %w", addr, err)
	}
	n.conns[addr] = c
	return c, nil
}

func (n *Nimbus) closeConns() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.closed = true
	for addr, c := range n.conns {
		c.Close()
		delete(n.conns, addr)
	}
}
