package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"

	"github.com/spf13/pflag"

	"github.com/squallstream/squall/auth"
	"github.com/squallstream/squall/drpc"
	"github.com/squallstream/squall/topology"
)

// The DRPC server `squall local --drpc` embeds, so that a DRPC topology
// can be called with curl with nothing else running.

type localDRPCFlags struct {
	enabled  bool
	httpPort int
	port     int
}

func (f *localDRPCFlags) register(fs *pflag.FlagSet) {
	fs.BoolVar(&f.enabled, "drpc", false, "start a DRPC server in this process for the topology's DRPC functions (HTTP on 127.0.0.1)")
	fs.IntVar(&f.httpPort, "drpc-http-port", drpc.DefaultHTTPPort, "with --drpc: the HTTP port of the DRPC server (0 picks a free one)")
	fs.IntVar(&f.port, "drpc-port", -1, "with --drpc: a client gRPC port too, for squall drpc-client (-1: none, 0: a free one)")
}

// localDRPC is a running embedded server.
type localDRPC struct {
	s      *drpc.Server
	cancel context.CancelFunc
	done   chan error
}

// startLocalDRPC starts a server configured from conf (the topology's
// configuration, -c included) with HTTP on f.httpPort, the client gRPC
// port f.port (-1: none) and a free invocations port, and waits until it
// listens. It binds loopback only: it has no authentication.
func startLocalDRPC(conf topology.Config, f localDRPCFlags, logger *slog.Logger) (*localDRPC, error) {
	cfg, err := drpc.ConfigFrom(conf)
	if err != nil {
		return nil, fmt.Errorf("--drpc: %w", err)
	}
	if !auth.IsLoopback(cfg.Host) {
		return nil, fmt.Errorf("--drpc: config %s %q is not a loopback address; the embedded DRPC server has no authentication and serves loopback only (run squall drpc for more)", drpc.KeyHost, cfg.Host)
	}
	cfg.Port, cfg.InvocationsPort, cfg.HTTPPort = f.port, 0, f.httpPort
	s, err := drpc.New(cfg, logger)
	if err != nil {
		return nil, fmt.Errorf("--drpc: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &localDRPC{s: s, cancel: cancel, done: make(chan error, 1)}
	go func() { l.done <- s.Run(ctx) }()
	select {
	case <-s.Ready():
		return l, nil
	case err := <-l.done:
		cancel()
		return nil, fmt.Errorf("--drpc: %w", err)
	}
}

// topologyConfig is what the topology's DRPCSpout needs to find the
// server.
func (l *localDRPC) topologyConfig() (topology.Config, error) {
	_, port, err := net.SplitHostPort(l.s.InvocationsAddr())
	if err != nil {
		return nil, err
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return nil, err
	}
	host, _, _ := net.SplitHostPort(l.s.InvocationsAddr())
	return topology.Config{drpc.KeyServers: []any{host}, drpc.KeyInvocationsPort: p}, nil
}

// banner is the line that tells the user where to call.
func (l *localDRPC) banner() string {
	b := fmt.Sprintf("drpc http://%s/drpc/FUNCTION/ARGS", l.s.HTTPAddr())
	if addr := l.s.Addr(); addr != "" {
		h, p, _ := net.SplitHostPort(addr)
		b += fmt.Sprintf("\ndrpc client=%s: squall drpc-client -c 'drpc.servers=[%s]' -c drpc.port=%s FUNCTION ARGS", addr, h, p)
	}
	return b
}

// stop stops the server (every client still waiting hears
// SERVER_SHUTDOWN) and waits for it.
func (l *localDRPC) stop() error {
	l.cancel()
	return <-l.done
}
