package cli

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/spf13/cobra"

	"github.com/squallstream/squall/auth"
	"github.com/squallstream/squall/auth/runas"
	"github.com/squallstream/squall/auth/zkacl"
	"github.com/squallstream/squall/internal/depenv"
	"github.com/squallstream/squall/internal/logfile"
	"github.com/squallstream/squall/logviewer"
	"github.com/squallstream/squall/supervisor"
	"github.com/squallstream/squall/topology"
)

// keyWorkerShutdownSleepSecs is Storm's name for how long a worker has
// between SIGTERM and SIGKILL.
const keyWorkerShutdownSleepSecs = "supervisor.worker.shutdown.sleep.secs"

// keyLogViewerPort is Storm's port of a node's logviewer; keyLogViewerHost
// (squall's) the address it binds.
const (
	keyLogViewerPort = "logviewer.port"
	keyLogViewerHost = "logviewer.host"
)

// keyLogMaxPerWorkerMB is Storm's bound on one worker's log directory.
const keyLogMaxPerWorkerMB = "logviewer.max.per.worker.logs.size.mb"

type supervisorOptions struct {
	config      configFlags
	logs        logFlags
	host        string
	killWorkers bool
}

func newSupervisorCmd() *cobra.Command {
	var o supervisorOptions
	cmd := &cobra.Command{
		Use: "supervisor",
		// A supervisor serves its node's logs, as `storm logviewer` does.
		SuggestFor: []string{"logviewer"},
		Short:      "Run a supervisor, the agent that runs workers on this node",
		Long: `Run a supervisor: it registers this node and its worker ports
(supervisor.slots.ports) in ZooKeeper (storm.zookeeper.servers), downloads
the packages of the topologies assigned here from the leading nimbus, and
runs one worker process per assigned port under storm.local.dir/workers.
Workers that exit or stop heartbeating (supervisor.worker.timeout.secs,
supervisor.worker.start.timeout.secs) are restarted; workers no longer
assigned are stopped, with the shell processes they leave behind. Each
worker gets GOMAXPROCS, its slot's share of the CPUs (rounded, at least
1), unless GOMAXPROCS is set in the supervisor's environment.

As in Storm, stopping the supervisor leaves its workers running: a
supervisor started again on the same storm.local.dir adopts them
(--kill-workers stops them instead). Once registered, the supervisor prints
one line on stderr:

  supervisor node=NODE-ID host=HOST ports=6700,6701 local-dir=DIR logviewer=ADDR

The logviewer (logviewer.port, default 8000, on logviewer.host, default
127.0.0.1) serves the node's logs on Storm's logviewer paths and, at
/metrics, the node's and its workers' metrics for Prometheus.`,
		Example: `  squall supervisor
  squall supervisor --config /etc/squall/squall.yaml --host worker1.example.com
  squall supervisor -c 'supervisor.slots.ports=[6700,6701]' -c storm.local.dir=/var/lib/squall`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSupervisor(cmd.Context(), o, cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	o.config.register(f)
	o.logs.register(f, "log level of the supervisor and its workers: debug, info, warn or error")
	f.StringVar(&o.host, "host", "", "host name other nodes reach this one's workers by (default storm.local.hostname, else the OS's)")
	f.BoolVar(&o.killWorkers, "kill-workers", false, "stop the workers when the supervisor stops, instead of leaving them for the next supervisor to adopt")
	return cmd
}

func runSupervisor(ctx context.Context, o supervisorOptions, stderr io.Writer) error {
	conf, err := o.config.load()
	if err != nil {
		return err
	}
	log, closeLog, err := o.logs.open(conf)
	if err != nil {
		return err
	}
	defer closeLog()
	cfg, err := supervisorConfig(conf, o)
	if err != nil {
		return err
	}
	cfg.Logger = log
	state, err := zooKeeperState(conf, log)
	if err != nil {
		return err
	}
	defer state.Close()
	s, err := supervisor.New(cfg, state)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	select {
	case <-s.Ready():
		ports := make([]string, len(cfg.Ports))
		for i, p := range cfg.Ports {
			ports[i] = strconv.Itoa(p)
		}
		fmt.Fprintf(stderr, "supervisor node=%s host=%s ports=%s local-dir=%s logviewer=%s\n",
			s.NodeID(), cfg.Host, strings.Join(ports, ","), s.LocalDir(), s.LogViewerAddr())
		return <-done
	case err := <-done:
		return err
	}
}

// supervisorConfig maps the configuration's Storm keys onto a
// supervisor.Config.
func supervisorConfig(conf topology.Config, o supervisorOptions) (supervisor.Config, error) {
	cfg := supervisor.DefaultConfig()
	cfg.Host = o.host
	if cfg.Host == "" {
		cfg.Host = hostname(conf)
	}
	ports, err := intList(conf, topology.KeySupervisorSlotsPorts)
	if err != nil {
		return cfg, err
	}
	cfg.Ports = ports
	if cfg.LocalDir, err = filepath.Abs(conf.String(topology.KeyLocalDir, "squall-local")); err != nil {
		return cfg, fmt.Errorf("config: %s: %w", topology.KeyLocalDir, err)
	}
	if cfg.WorkerBinary, err = os.Executable(); err != nil {
		return cfg, fmt.Errorf("find the squall executable for workers: %w", err)
	}
	if cfg.RunAsUser, err = runas.ConfigFromConf(conf); err != nil {
		return cfg, err
	}
	if cfg.WorkerConf, cfg.ZooKeeperSuperACL, err = workerConf(conf); err != nil {
		return cfg, err
	}
	// Workers get the configuration (in their directory), log level and
	// host name.
	cfg.WorkerArgs = []string{"--log-level", o.logs.level}
	if o.host != "" {
		cfg.WorkerArgs = append(cfg.WorkerArgs, "-c", topology.KeyLocalHostname+"="+strconv.Quote(o.host))
	}
	cfg.WorkerEnv = os.Environ()
	// Unless GOMAXPROCS is in the environment, each worker's runtime gets
	// its slot's share of the CPUs this process may use (which follows
	// the cgroup's limit).
	cfg.WorkerMaxProcs = supervisor.WorkerMaxProcs(runtime.GOMAXPROCS(0), len(cfg.Ports))
	cfg.WorkerTimeout = conf.Seconds(topology.KeyWorkerTimeoutSecs, cfg.WorkerTimeout)
	cfg.WorkerStartTimeout = conf.Seconds(topology.KeySupervisorWorkerStartSecs, cfg.WorkerStartTimeout)
	cfg.MonitorInterval = conf.Seconds(topology.KeySupervisorMonitorFreqSecs, cfg.MonitorInterval)
	cfg.LogMaxAge = time.Duration(conf.Int(topology.KeyLogCleanupAgeMins, int(cfg.LogMaxAge/time.Minute))) * time.Minute
	cfg.LogCleanupInterval = conf.Seconds(topology.KeyLogCleanupIntervalSecs, cfg.LogCleanupInterval)
	cfg.LogMaxBytes = int64(conf.Int(topology.KeyLogMaxSumSizeMB, int(cfg.LogMaxBytes>>20))) << 20
	cfg.EnvMaxAge = time.Duration(conf.Int(depenv.KeyCleanupAgeMins, int(cfg.EnvMaxAge/time.Minute))) * time.Minute
	if cfg.LogRotation, err = logfile.RotationOf(conf); err != nil {
		return cfg, err
	}
	// Not a key topology.CheckConfig knows: check its type here.
	switch v := conf[keyLogMaxPerWorkerMB].(type) {
	case nil, int, int64, float64:
		cfg.LogMaxPerWorkerBytes = int64(conf.Int(keyLogMaxPerWorkerMB, int(cfg.LogMaxPerWorkerBytes>>20))) << 20
	default:
		return cfg, fmt.Errorf("config: %s: want a number of MB, got %v", keyLogMaxPerWorkerMB, v)
	}
	// Not a key topology.CheckConfig knows: check its type here.
	switch v := conf[keyWorkerShutdownSleepSecs].(type) {
	case nil, int, int64, float64:
		cfg.StopGrace = conf.Seconds(keyWorkerShutdownSleepSecs, cfg.StopGrace)
	default:
		return cfg, fmt.Errorf("config: %s: want a number of seconds, got %v", keyWorkerShutdownSleepSecs, v)
	}
	cfg.KillWorkersOnStop = o.killWorkers
	if cfg.Credentials, err = auth.ClientSettingsFromConfig(conf); err != nil {
		return cfg, fmt.Errorf("config: %w", err)
	}
	// The node's logviewer: Storm's logviewer.port (0 picks a free port)
	// on squall's logviewer.host, loopback unless configured otherwise.
	lv := logviewer.DefaultConfig()
	lv.Addr = net.JoinHostPort(conf.String(keyLogViewerHost, "127.0.0.1"), strconv.Itoa(conf.Int(keyLogViewerPort, 8000)))
	if cfg.LogViewerAuth, lv.TLS, err = logViewerSecurity(conf, &lv); err != nil {
		return cfg, err
	}
	authenticated := cfg.LogViewerAuth != nil && cfg.LogViewerAuth.Authenticator.Enabled()
	if err := auth.CheckExposure("logviewer", lv.Addr, authenticated, lv.TLS != nil, false); err != nil {
		return cfg, err
	}
	cfg.LogViewer = &lv
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("config: %w", err)
	}
	return cfg, nil
}

// intList returns a list of integers under key (type-checked by
// topology.CheckConfig).
func intList(conf topology.Config, key string) ([]int, error) {
	var items []any
	switch v := conf[key].(type) {
	case []int:
		return append([]int(nil), v...), nil
	case []any:
		items = v
	case nil:
	default:
		return nil, fmt.Errorf("config: %s: want a list of integers, got %T", key, v)
	}
	out := make([]int, 0, len(items))
	for _, item := range items {
		out = append(out, topology.Config{key: item}.Int(key, 0))
	}
	return out, nil
}

// workerConf is the configuration the supervisor gives its workers: its
// own without the daemons' credentials (auth.WorkerConfig), the daemons'
// ZooKeeper credential included. With ZooKeeper authentication, the
// supervisor adds each worker's topology's own credential at launch
// (supervisor.Config.ZooKeeperSuperACL).
//
// A topology's ZooKeeper credential (storm.zookeeper.topology.auth.*) in
// the supervisor's own configuration is refused: the cluster derives one
// per topology from its secret, and one set here would reach every
// worker of every topology, or, without the daemons' credential, make
// their nodes unreadable to nimbus.
func workerConf(conf topology.Config) (map[string]any, zk.ACL, error) {
	for _, k := range []string{zkacl.KeyTopologyAuthScheme, zkacl.KeyTopologyAuthPayload} {
		if _, ok := conf[k]; ok {
			return nil, zk.ACL{}, fmt.Errorf("config: %s is set in the supervisor's configuration; remove it: each topology's ZooKeeper credential is derived from its secret by the cluster (docs/security.md)", k)
		}
	}
	pol, err := zkacl.DaemonPolicy(conf)
	if err != nil {
		return nil, zk.ACL{}, fmt.Errorf("config: %w", err)
	}
	return auth.WorkerConfig(conf), pol.Super, nil
}

// Keys of the logviewer's HTTPS (squall's PEM forms of Storm's
// logviewer.https.keystore.*): with a certificate it serves HTTPS on
// Storm's logviewer.https.port; with a CA, client certificates
// authenticate, and nimbus's log proxy verifies the logviewers with it.
const (
	keyLogViewerHTTPSPort = "logviewer.https.port"
	keyLogViewerHTTPSCert = "logviewer.https.cert.path"
	keyLogViewerHTTPSKey  = "logviewer.https.key.path"
	keyLogViewerHTTPSCA   = "logviewer.https.ca.path"
	// Storm's key: a client certificate is mandatory (nimbus's log proxy
	// presents nimbus.client.tls.cert.path).
	keyLogViewerHTTPSNeedClientAuth = "logviewer.https.need.client.auth"
)

// logViewerSecurity reads how the node's logviewer authenticates callers:
// the cluster's tokens (nimbus.auth.tokens.file, a copy of nimbus's file
// on this node) and client certificates, with nimbus's authorization keys;
// and its HTTPS, which moves it to logviewer.https.port.
func logViewerSecurity(conf topology.Config, lv *logviewer.Config) (*supervisor.LogViewerAuth, *tls.Config, error) {
	str := func(key string) string { s, _ := conf[key].(string); return s }
	st := auth.ServerTLS{CertFile: str(keyLogViewerHTTPSCert), KeyFile: str(keyLogViewerHTTPSKey), ClientCAFile: str(keyLogViewerHTTPSCA)}
	switch v := conf[keyLogViewerHTTPSNeedClientAuth].(type) {
	case nil:
	case bool:
		st.RequireClientCert = v
	default:
		return nil, nil, fmt.Errorf("config %s: want true or false, got %v", keyLogViewerHTTPSNeedClientAuth, v)
	}
	if st.RequireClientCert && st.ClientCAFile == "" {
		return nil, nil, fmt.Errorf("config %s: set %s to the CA of the client certificates", keyLogViewerHTTPSNeedClientAuth, keyLogViewerHTTPSCA)
	}
	var tlsConf *tls.Config
	if st.CertFile != "" || st.KeyFile != "" {
		var err error
		if tlsConf, err = st.Config(); err != nil {
			return nil, nil, fmt.Errorf("config logviewer.https.*: %w", err)
		}
		port, ok := conf[keyLogViewerHTTPSPort].(int)
		if !ok || port < 0 {
			return nil, nil, fmt.Errorf("config %s: set it to the port of the logviewer's HTTPS (%s is set)", keyLogViewerHTTPSPort, keyLogViewerHTTPSCert)
		}
		host, _, _ := net.SplitHostPort(lv.Addr)
		lv.Addr = net.JoinHostPort(host, strconv.Itoa(port))
	}
	var tokens *auth.TokenStore
	if f := str(auth.KeyTokensFile); f != "" {
		var err error
		if tokens, err = auth.LoadTokens(f); err != nil {
			return nil, nil, fmt.Errorf("logviewer: %w", err)
		}
	}
	if tokens == nil && !st.MutualTLS() {
		return nil, tlsConf, nil
	}
	pol, err := auth.PolicyFromConfig(conf, true)
	if err != nil {
		return nil, nil, err
	}
	return &supervisor.LogViewerAuth{Authenticator: auth.NewAuthenticator(tokens, st.MutualTLS(), pol), Policy: pol, Tokens: tokens}, tlsConf, nil
}
