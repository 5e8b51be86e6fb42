package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/squallstream/squall/nimbus"
	"github.com/squallstream/squall/topology"
)

type nimbusOptions struct {
	config configFlags
	logs   logFlags
	host   string
}

func newNimbusCmd(deps *Options) *cobra.Command {
	var o nimbusOptions
	cmd := &cobra.Command{
		Use:   "nimbus",
		Short: "Run a nimbus, the cluster's master",
		Long: `Run a nimbus: it serves the API (gRPC on nimbus.grpc.port, REST on ui.port),
accepts and validates topologies, stores their packages under
storm.local.dir, assigns their executors to the supervisors' slots, and
moves executors whose workers or supervisors stop heartbeating.

Several nimbuses may run on one ZooKeeper (storm.zookeeper.servers): one
leads, the others answer reads, forward writes to the leader and copy its
packages, ready to take over.

Port 0 picks a free port; ui.port -1 serves no REST. Once listening,
nimbus prints one line on stderr with the addresses it serves:

  nimbus grpc=HOST:PORT http=HOST:PORT`,
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
	cfg.GRPCAddr = net.JoinHostPort("", strconv.Itoa(grpcPort))
	cfg.HTTPAddr = ""
	if uiPort >= 0 {
		cfg.HTTPAddr = net.JoinHostPort("", strconv.Itoa(uiPort))
	}
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
