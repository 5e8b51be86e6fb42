package nimbus

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/auth"
	"github.com/squallstream/squall/internal/tarball"
	"github.com/squallstream/squall/topology"
)

// KeyBindHost (squall) is the address nimbus's gRPC API listens on;
// ui.host is the REST API's. Both default to DefaultBindHost.
const KeyBindHost = "nimbus.bind.host"

// DefaultBindHost is where nimbus listens unless configured: loopback, so
// that a nimbus without authentication is reachable from its own host
// only.
const DefaultBindHost = "127.0.0.1"

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

	// MaxSubmitBytes bounds a submission's package and Go binary together
	// (api.KeySubmitMaxBytes). Larger ones are refused with 413 before
	// they are read.
	MaxSubmitBytes int64

	// MaxConcurrentSubmits bounds the submissions nimbus receives and
	// validates at once, dry runs included (api.KeySubmitMaxConcurrent);
	// more are refused with 429 before their package is read.
	MaxConcurrentSubmits int

	// SubmitIdleTimeout cuts a submission whose upload sends nothing for
	// this long (api.KeySubmitIdleTimeoutSecs); SubmitTimeout bounds an
	// upload from start to end (api.KeySubmitTimeoutSecs).
	SubmitIdleTimeout, SubmitTimeout time.Duration

	// PackageLimits bound the unpacked resources archive of a submission
	// (api.KeyPackageMaxUnpackedBytes, KeyPackageMaxFiles,
	// KeyPackageMaxRatio); zero fields take tarball.DefaultLimits'.
	PackageLimits tarball.Limits

	// HTTP holds the REST server's timeouts (KeyHTTPReadTimeoutSecs,
	// KeyHTTPIdleTimeoutSecs).
	HTTP api.HTTPConfig

	// ShutdownTimeout bounds the graceful stop of the gRPC and HTTP
	// servers when Run's context ends; connections still open then are
	// closed.
	ShutdownTimeout time.Duration

	// Security is the APIs' authentication, TLS, authorization and audit
	// log (auth.ServerSettingsFromConfig); the zero value authenticates
	// nobody, which CheckExposure allows on loopback only.
	Security auth.ServerSettings

	// Client is how this nimbus authenticates to the others (forwarded
	// writes, package copies): nimbus.client.*, a nimbus.daemon.users
	// principal.
	Client auth.ClientSettings

	// Insecure lets the APIs listen beyond loopback without authentication
	// or, with bearer tokens, without TLS (--insecure); nimbus logs what
	// it exposes.
	Insecure bool

	// Hup makes nimbus re-read its token file when it delivers (SIGHUP);
	// nil: only when the file changes.
	Hup <-chan os.Signal

	// Clock is the time source; nil means the system clock.
	Clock Clock
}

// DefaultConfig returns a Config with Storm's defaults: the default
// cluster configuration, gRPC on nimbus.grpc.port (6627) and REST on
// ui.port (8080) on loopback, packages up to 256 MiB, four submissions at
// once, no authentication. Host and Registry must still be set.
func DefaultConfig() Config {
	conf := topology.Defaults()
	return Config{
		Cluster:              conf,
		GRPCAddr:             net.JoinHostPort(DefaultBindHost, strconv.Itoa(conf.Int(topology.KeyNimbusGRPCPort, 6627))),
		HTTPAddr:             net.JoinHostPort(DefaultBindHost, strconv.Itoa(conf.Int(topology.KeyUIPort, 8080))),
		Security:             auth.ServerSettings{Policy: auth.Policy{UIActionsEnabled: true}},
		LocalDir:             conf.String(topology.KeyLocalDir, "squall-local"),
		MaxSubmitBytes:       api.DefaultMaxSubmitBytes,
		MaxConcurrentSubmits: api.DefaultMaxConcurrentSubmits,
		SubmitIdleTimeout:    api.DefaultSubmitIdleTimeout,
		SubmitTimeout:        api.DefaultSubmitTimeout,
		PackageLimits:        tarball.DefaultLimits,
		HTTP:                 api.DefaultHTTPConfig(),
		ShutdownTimeout:      5 * time.Second,
	}
}

// Keys of the REST server's timeouts (squall's; Storm's UI has its own
// server).
const (
	// KeyHTTPReadTimeoutSecs bounds reading a request other than a
	// submission, headers and body.
	KeyHTTPReadTimeoutSecs = "nimbus.http.read.timeout.secs"
	// KeyHTTPIdleTimeoutSecs closes a kept-alive connection idle this long.
	KeyHTTPIdleTimeoutSecs = "nimbus.http.idle.timeout.secs"
)

// ReadLimits sets c's limits from the keys conf holds (api.KeySubmit*,
// api.KeyPackage*, KeyHTTP*), leaving the others as they are; an error
// names the key whose value is not a positive integer.
func (c *Config) ReadLimits(conf topology.Config) error {
	get := func(key string) (int64, bool, error) {
		v, ok := conf[key]
		if !ok || v == nil {
			return 0, false, nil
		}
		// Type-checked as a key topology knows to be an integer.
		asInt := topology.Config{topology.KeyWorkers: v}
		if topology.CheckConfig(asInt) != nil || asInt.Int(topology.KeyWorkers, 0) < 1 {
			return 0, false, fmt.Errorf("nimbus config: %s: %v is not a positive integer", key, v)
		}
		return int64(asInt.Int(topology.KeyWorkers, 0)), true, nil
	}
	for _, k := range []struct {
		key string
		set func(int64)
	}{
		{api.KeySubmitMaxBytes, func(n int64) { c.MaxSubmitBytes = n }},
		{api.KeySubmitMaxConcurrent, func(n int64) { c.MaxConcurrentSubmits = int(n) }},
		{api.KeySubmitIdleTimeoutSecs, func(n int64) { c.SubmitIdleTimeout = time.Duration(n) * time.Second }},
		{api.KeySubmitTimeoutSecs, func(n int64) { c.SubmitTimeout = time.Duration(n) * time.Second }},
		{api.KeyPackageMaxUnpackedBytes, func(n int64) { c.PackageLimits.MaxBytes = n }},
		{api.KeyPackageMaxFiles, func(n int64) { c.PackageLimits.MaxFiles = int(n) }},
		{api.KeyPackageMaxRatio, func(n int64) { c.PackageLimits.MaxRatio = n }},
		{KeyHTTPReadTimeoutSecs, func(n int64) { c.HTTP.ReadTimeout = time.Duration(n) * time.Second }},
		{KeyHTTPIdleTimeoutSecs, func(n int64) { c.HTTP.IdleTimeout = time.Duration(n) * time.Second }},
	} {
		n, ok, err := get(k.key)
		if err != nil {
			return err
		}
		if ok {
			k.set(n)
		}
	}
	return nil
}

// limitKey names the configuration key of a package limit.
func limitKey(limit string) string {
	switch limit {
	case "MaxFiles":
		return api.KeyPackageMaxFiles
	case "MaxRatio":
		return api.KeyPackageMaxRatio
	}
	return api.KeyPackageMaxUnpackedBytes
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
	if c.MaxConcurrentSubmits <= 0 {
		return fmt.Errorf("nimbus config: MaxConcurrentSubmits %d: must be positive", c.MaxConcurrentSubmits)
	}
	if c.SubmitIdleTimeout <= 0 || c.SubmitTimeout <= 0 {
		return fmt.Errorf("nimbus config: SubmitIdleTimeout %v, SubmitTimeout %v: must be positive", c.SubmitIdleTimeout, c.SubmitTimeout)
	}
	if err := c.PackageLimits.Validate(); err != nil {
		return fmt.Errorf("nimbus config: PackageLimits: %w", err)
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
