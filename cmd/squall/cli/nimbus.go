package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/squallstream/squall/auth"
	"github.com/squallstream/squall/nimbus"
	"github.com/squallstream/squall/topology"
)

// keyUIHost is Storm's ui.host: where the REST API listens.
const keyUIHost = "ui.host"

type nimbusOptions struct {
	config   configFlags
	logs     logFlags
	host     string
	insecure bool
}

func newNimbusCmd(deps *Options) *cobra.Command {
	var o nimbusOptions
	cmd := &cobra.Command{
		Use: "nimbus",
		// nimbus serves the UI and its REST API that `storm ui` runs apart.
		SuggestFor: []string{"ui"},
		Short:      "Run a nimbus, the cluster's master",
		Long: `Run a nimbus: it serves the API (gRPC on nimbus.grpc.port, REST on ui.port),
accepts and validates topologies, stores their packages under
storm.local.dir, assigns their executors to the supervisors' slots, and
moves executors whose workers or supervisors stop heartbeating.

Several nimbuses may run on one ZooKeeper (storm.zookeeper.servers): one
leads, the others answer reads, forward writes to the leader and copy its
packages, ready to take over.

Port 0 picks a free port; ui.port -1 serves no REST. Once listening,
nimbus prints one line on stderr with the addresses it serves:

  nimbus grpc=HOST:PORT http=HOST:PORT

Both APIs listen on 127.0.0.1 unless nimbus.bind.host (gRPC) or ui.host
(REST) say otherwise. Another address needs authentication (bearer tokens,
nimbus.auth.tokens.file, or client certificates, nimbus.tls.ca.path) and,
with tokens, TLS; --insecure starts without them and logs what it exposes.
SIGHUP re-reads the token file. See docs/security.md.`,
		Example: `  squall nimbus
  squall nimbus --config /etc/squall/squall.yaml --host nimbus1.example.com
  squall nimbus -c nimbus.grpc.port=0 -c ui.port=0 -c 'storm.zookeeper.servers=[127.0.0.1]'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runNimbus(cmd.Context(), o, deps, cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	o.config.register(f)
	o.logs.register(f, "log level: debug, info, warn or error")
	f.StringVar(&o.host, "host", "", "host name to advertise to other nimbuses and supervisors (default storm.local.hostname, else the OS's)")
	f.BoolVar(&o.insecure, "insecure", false, "listen beyond loopback without authentication (or with tokens but no TLS): anyone who reaches nimbus may submit code that runs on every supervisor")
	return cmd
}

func runNimbus(ctx context.Context, o nimbusOptions, deps *Options, stderr io.Writer) error {
	conf, err := o.config.load()
	if err != nil {
		return err
	}
	log, closeLog, err := o.logs.open(conf)
	if err != nil {
		return err
	}
	defer closeLog()
	host := o.host
	if host == "" {
		host = hostname(conf)
	}
	grpcPort := conf.Int(topology.KeyNimbusGRPCPort, 6627)
	if grpcPort < 0 || grpcPort > 65535 {
		return fmt.Errorf("config: %s %d is not a port", topology.KeyNimbusGRPCPort, grpcPort)
	}
	uiPort := conf.Int(topology.KeyUIPort, 8080)
	if uiPort < -1 || uiPort > 65535 {
		return fmt.Errorf("config: %s %d is not a port (-1 serves no REST)", topology.KeyUIPort, uiPort)
	}
	localDir, err := filepath.Abs(conf.String(topology.KeyLocalDir, "squall-local"))
	if err != nil {
		return fmt.Errorf("config: %s: %w", topology.KeyLocalDir, err)
	}

	cfg := nimbus.DefaultConfig()
	cfg.Cluster = conf
	cfg.Host = host
	cfg.GRPCAddr = net.JoinHostPort(conf.String(nimbus.KeyBindHost, nimbus.DefaultBindHost), strconv.Itoa(grpcPort))
	cfg.HTTPAddr = ""
	if uiPort >= 0 {
		cfg.HTTPAddr = net.JoinHostPort(conf.String(keyUIHost, nimbus.DefaultBindHost), strconv.Itoa(uiPort))
	}
	if cfg.Security, err = auth.ServerSettingsFromConfig(conf); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if cfg.Client, err = auth.ClientSettingsFromConfig(conf); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	cfg.Insecure = o.insecure
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	cfg.Hup = hup
	cfg.LocalDir = localDir
	cfg.Registry = deps.Registry
	cfg.Logger = log
	if err := cfg.ReadLimits(conf); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}

	state, err := zooKeeperState(conf, log)
	if err != nil {
		return err
	}
	defer state.Close()
	n, err := nimbus.New(cfg, state)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	select {
	case <-n.Ready():
		httpAddr := n.HTTPAddr()
		if httpAddr == "" {
			httpAddr = "none"
		}
		fmt.Fprintf(stderr, "nimbus grpc=%s http=%s\n", n.GRPCAddr(), httpAddr)
	case err := <-done:
		return err
	}
	return <-done
}
