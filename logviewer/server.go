package logviewer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Server is a logviewer daemon: Handler on its own port.
type Server struct {
	cfg     Config
	h       *Handler
	running atomic.Bool
	ready   chan struct{}

	mu sync.Mutex
	// addr is guarded by mu.
	addr string
}

// New validates cfg and returns a server; it starts nothing.
func New(cfg Config) (*Server, error) {
	if cfg.Addr == "" {
		return nil, fmt.Errorf("%w: Addr is empty", ErrConfig)
	}
	h, err := NewHandler(cfg)
	if err != nil {
		return nil, err
	}
	return &Server{cfg: cfg, h: h, ready: make(chan struct{})}, nil
}

// Ready is closed once Run listens; Addr then tells where.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Addr returns the address the server listens on, "" before Ready.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Run serves until ctx ends, then stops: waiting follows return at once,
// other requests get Config.ShutdownTimeout to finish. It returns nil
// after ctx ends, or the error that stopped it. Run may be called once.
func (s *Server) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("logviewer: Run called twice")
	}
	l, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("logviewer: listen: %w", err)
	}
	if s.cfg.TLS != nil {
		l = tls.NewListener(l, s.cfg.TLS)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	hs := &http.Server{
		Handler:           s.h,
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    64 << 10,
		// Requests' contexts end with Run's, so long polls let go.
		BaseContext: func(net.Listener) context.Context { return ctx },
	}
	s.mu.Lock()
	s.addr = l.Addr().String()
	s.mu.Unlock()
	served := make(chan error, 1)
	go func() { served <- hs.Serve(l) }()
	s.h.log.Info("logviewer started", "addr", s.Addr(), "logs", s.cfg.LogRoot)
	close(s.ready)

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-served:
		runErr = fmt.Errorf("logviewer: serve: %w", runErr)
	}
	cancel()
	sctx, scancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer scancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
	}
	if runErr == nil {
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			runErr = fmt.Errorf("logviewer: serve: %w", err)
		}
	}
	s.h.log.Info("logviewer stopped")
	return runErr
}
