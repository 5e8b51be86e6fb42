package nimbus

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/internal/tarball"
	"github.com/squallstream/squall/topology"
)

// KeyTaskLaunchSecs is Storm's nimbus.task.launch.secs: how long a newly
// assigned executor may go without heartbeating before nimbus judges it
// dead. It covers a worker's start (downloading the package, starting
// shell children), which nimbus.task.timeout.secs alone would not.
const KeyTaskLaunchSecs = "nimbus.task.launch.secs"

// DefaultTaskLaunchSecs is Storm's default for KeyTaskLaunchSecs.
const DefaultTaskLaunchSecs = 120

// Config configures a Nimbus. Start from DefaultConfig.
type Config struct {
	// Cluster is the merged cluster configuration under Storm's key names
	// (defaults, squall.yaml, -c overrides). nimbus reads its timeouts
	// from it (nimbus.task.timeout.secs, nimbus.task.launch.secs,
	// nimbus.supervisor.timeout.secs, nimbus.monitor.freq.secs), lays every
	// topology's configuration over it, and serves it as the cluster
	// configuration.
	Cluster topology.Config

	// Host is the host name or address this nimbus advertises in
	// nimbuses/ and in the leader election: other nimbuses forward writes
	// to Host and the gRPC port, and supervisors download packages there.
	Host string

	// GRPCAddr is where the gRPC API listens, "host:port"; an empty host
	// listens on every interface, port 0 picks a free port
	// (Nimbus.GRPCAddr tells which).
	GRPCAddr string

	// HTTPAddr is where the REST gateway listens, as GRPCAddr; "" serves
	// no REST.
	HTTPAddr string

	// LocalDir is storm.local.dir. Packages are stored under
	// layout.NimbusPackages(LocalDir).
	LocalDir string

	// Registry resolves the Go components of submissions that bring no Go
	// binary: the components built into this nimbus's binary.
	Registry *topology.Registry

	// Logger receives nimbus's logs; nil discards them.
	Logger *slog.Logger

	// MaxSubmitBytes bounds a submission: its definition, package and Go
	// binary together. It also sizes the gRPC message limit and the REST
	// gateway's body limit.
	MaxSubmitBytes int64

	// PackageLimits bound the unpacked resources archive of a submission;
	// the zero value means tarball.DefaultLimits.
	PackageLimits tarball.Limits

	// ValidateTimeout bounds how long a submission's Go binary may take to
	// validate it (`<binary> validate`).
	ValidateTimeout time.Duration

	// ShutdownTimeout bounds the graceful stop of the gRPC and HTTP
	// servers when Run's context ends; connections still open then are
	// closed.
	ShutdownTimeout time.Duration

	// Clock is the time source; nil means the system clock.
	Clock Clock
}

// DefaultConfig returns a Config with Storm's defaults: the default
// cluster configuration, gRPC on nimbus.grpc.port (6627) and REST on
// ui.port (8080) on every interface, 256 MiB submissions. Host and
// Registry must still be set.
func DefaultConfig() Config {
	conf := topology.Defaults()
	return Config{
		Cluster:         conf,
		GRPCAddr:        fmt.Sprintf(":%d", conf.Int(topology.KeyNimbusGRPCPort, 6627)),
		HTTPAddr:        fmt.Sprintf(":%d", conf.Int(topology.KeyUIPort, 8080)),
		LocalDir:        conf.String(topology.KeyLocalDir, "squall-local"),
		MaxSubmitBytes:  api.DefaultMaxSubmitBytes,
		ValidateTimeout: 30 * time.Second,
		ShutdownTimeout: 5 * time.Second,
	}
}

// Validate reports the first field of c that is missing or out of range.
func (c Config) Validate() error {
	if err := topology.CheckConfig(c.Cluster); err != nil {
		return fmt.Errorf("nimbus config: Cluster: %w", err)
	}
	for _, key := range []string{
		topology.KeyNimbusTaskTimeoutSecs,
		topology.KeyNimbusSupervisorTimeoutSecs,
		topology.KeyNimbusMonitorFreqSecs,
	} {
		if n, ok := c.Cluster.IntOK(key); ok && n < 1 {
			return fmt.Errorf("nimbus config: Cluster: %s is %d, want at least 1", key, n)
		}
	}
	// nimbus.task.launch.secs is not among topology's known keys: check
	// its type as that of an integer key.
	if v, ok := c.Cluster[KeyTaskLaunchSecs]; ok && v != nil {
		asInt := topology.Config{topology.KeyNimbusTaskTimeoutSecs: v}
		if err := topology.CheckConfig(asInt); err != nil {
			return fmt.Errorf("nimbus config: Cluster: %s: %v is not an integer", KeyTaskLaunchSecs, v)
		}
		if n := asInt.Int(topology.KeyNimbusTaskTimeoutSecs, 0); n < 0 {
			return fmt.Errorf("nimbus config: Cluster: %s is %d, want at least 0", KeyTaskLaunchSecs, n)
		}
	}
	if c.Host == "" {
		return errors.New("nimbus config: Host is empty")
	}
	if _, _, err := net.SplitHostPort(c.GRPCAddr); err != nil {
		return fmt.Errorf("nimbus config: GRPCAddr %q: %w", c.GRPCAddr, err)
	}
	if c.HTTPAddr != "" {
		if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
			return fmt.Errorf("nimbus config: HTTPAddr %q: %w", c.HTTPAddr, err)
		}
	}
	if c.LocalDir == "" {
		return errors.New("nimbus config: LocalDir is empty")
	}
	if c.Registry == nil {
		return errors.New("nimbus config: Registry is nil")
	}
	if c.MaxSubmitBytes <= 0 {
		return fmt.Errorf("nimbus config: MaxSubmitBytes %d: must be positive", c.MaxSubmitBytes)
	}
	if c.PackageLimits.MaxBytes < 0 || c.PackageLimits.MaxFiles < 0 {
		return fmt.Errorf("nimbus config: PackageLimits %+v: must not be negative", c.PackageLimits)
	}
	if c.ValidateTimeout <= 0 {
		return fmt.Errorf("nimbus config: ValidateTimeout %v: must be positive", c.ValidateTimeout)
	}
	if c.ShutdownTimeout <= 0 {
		return fmt.Errorf("nimbus config: ShutdownTimeout %v: must be positive", c.ShutdownTimeout)
	}
	return nil
}

// timing holds the durations nimbus reads from the cluster configuration.
type timing struct {
	// taskTimeout: an executor that has not heartbeaten for this long is
	// moved (nimbus.task.timeout.secs).
	taskTimeout time.Duration
	// launchGrace: a newly assigned executor is not judged by its
	// heartbeats for this long (nimbus.task.launch.secs).
	launchGrace time.Duration
	// supervisorTimeout: a supervisor whose record has not been rewritten
	// for this long is dead (nimbus.supervisor.timeout.secs).
	supervisorTimeout time.Duration
	// monitorFreq: how often the leader checks heartbeats
	// (nimbus.monitor.freq.secs).
	monitorFreq time.Duration
}

func timingOf(conf topology.Config) timing {
	secs := func(key string, def int) time.Duration {
		return time.Duration(conf.Int(key, def)) * time.Second
	}
	return timing{
		taskTimeout:       secs(topology.KeyNimbusTaskTimeoutSecs, 30),
		launchGrace:       secs(KeyTaskLaunchSecs, DefaultTaskLaunchSecs),
		supervisorTimeout: secs(topology.KeyNimbusSupervisorTimeoutSecs, 60),
		monitorFreq:       secs(topology.KeyNimbusMonitorFreqSecs, 10),
	}
}
