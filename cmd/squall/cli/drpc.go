package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/squallstream/squall/auth"
	"github.com/squallstream/squall/drpc"
)

type drpcOptions struct {
	config   configFlags
	logLevel string
	insecure bool
}

func newDRPCCmd() *cobra.Command {
	var o drpcOptions
	cmd := &cobra.Command{
		Use:   "drpc",
		Short: "Run a DRPC server, through which clients call topologies' functions",
		Long: `Run a distributed RPC server, as Storm's "storm drpc". Clients call a function
with an argument string; a topology that serves the function (with
squall.DRPCSpout and squall.ReturnResults) computes the result, and the
server hands it back:

  drpc.port             gRPC for clients (squall drpc-client, drpc.Client)
  drpc.invocations.port gRPC for topologies
  drpc.http.port        Storm's HTTP forms:
                          curl -d ARGS http://HOST:PORT/drpc/FUNCTION
                          curl http://HOST:PORT/drpc/FUNCTION/ARGS

Storm's two Thrift ports serve squall's gRPC: Storm's Thrift clients do not
work. Requests wait at most drpc.request.timeout.secs (600); at most
drpc.max_buffer_size bytes (1 MiB) of requests wait for a topology, beyond
which the server answers 503. Everything binds drpc.host, 127.0.0.1 unless
configured. Port 0 picks a free port; drpc.port or drpc.http.port -1 turns
it off.

Security (docs/security.md, docs/drpc.md): callers authenticate as to
nimbus, with a bearer token of nimbus.auth.tokens.file or a client
certificate (drpc.tls.ca.path); drpc.tls.cert.path and .key.path put every
port on TLS (HTTPS on drpc.http.port); drpc.authorizer with Storm's
DRPCSimpleACLAuthorizer and drpc.authorizer.acl.filename says who may call
(client.users) and serve (invocation.user) each function. With
drpc.worker.tokens (and storm.zookeeper.*, TLS), topologies' workers
authenticate as their owners with tokens made from their topologies'
secrets, which the server reads from ZooKeeper; a token serves its
topology's requests only and expires after
storm.worker.token.life.time.hours (24). Once listening, it prints
one line on stderr:

  drpc client=HOST:PORT invocations=HOST:PORT http=HOST:PORT`,
		Example: `  squall drpc
  squall drpc -c drpc.http.port=8081 -c drpc.request.timeout.secs=30`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDRPC(cmd.Context(), o, cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	o.config.register(f)
	f.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.BoolVar(&o.insecure, "insecure", false, "bind a drpc.host that is not loopback without authentication or TLS: anyone who reaches it can call and serve every function")
	return cmd
}

func runDRPC(ctx context.Context, o drpcOptions, stderr io.Writer) error {
	conf, err := o.config.load()
	if err != nil {
		return err
	}
	log, err := daemonLogger(o.logLevel)
	if err != nil {
		return err
	}
	cfg, err := drpc.ConfigFrom(conf)
	if err != nil {
		return err
	}
	var keys auth.TopologyKeys
	if conf.Bool(drpc.KeyWorkerTokens, false) { // type-checked on load (KnownKeys)
		// The topologies' secrets and owners are in ZooKeeper, which
		// this server reads as a daemon.
		state, err := zooKeeperState(conf, log)
		if err != nil {
			return fmt.Errorf("%s: %w", drpc.KeyWorkerTokens, err)
		}
		defer state.Close()
		keys = drpc.ClusterKeys(state)
	}
	sec, err := drpc.Secure(&cfg, conf, keys)
	if err != nil {
		return err
	}
	if err := auth.CheckExposure("squall drpc", cfg.Host, sec.Authenticating, sec.TLS, o.insecure); err != nil {
		return fmt.Errorf("%w (for DRPC: anyone who reaches it could call and serve every function)", err)
	}
	if o.insecure && !auth.IsLoopback(cfg.Host) && (!sec.Authenticating || !sec.TLS) {
		log.Warn("insecure: listening beyond loopback without protection (--insecure)", "host", cfg.Host,
			"authentication", sec.Authenticating, "tls", sec.TLS, "exposes", "anyone who reaches it may call and serve every function")
	}
	if sec.Tokens != nil {
		go sec.Tokens.Watch(ctx, 5*time.Second, nil, log)
	}
	s, err := drpc.New(cfg, log)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	select {
	case <-s.Ready():
		fmt.Fprintf(stderr, "drpc client=%s invocations=%s http=%s\n", orNone(s.Addr()), s.InvocationsAddr(), orNone(s.HTTPAddr()))
	case err := <-done:
		return err
	}
	return <-done
}

func orNone(addr string) string {
	if addr == "" {
		return "none"
	}
	return addr
}
