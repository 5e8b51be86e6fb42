package supervisor

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/go-zookeeper/zk"
	"google.golang.org/grpc"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/auth"
	"github.com/squallstream/squall/auth/runas"
	"github.com/squallstream/squall/internal/depenv"
	"github.com/squallstream/squall/internal/logfile"
	"github.com/squallstream/squall/internal/tarball"
	"github.com/squallstream/squall/logviewer"
)

// Config configures a Supervisor. Only the command line reads flags, files
// and the environment; it maps Storm's keys onto these fields (see each
// field).
type Config struct {
	// NodeID is the supervisor's id in the cluster, the node of its slots.
	// Empty (the usual case): read from layout.NodeIDFile under LocalDir, or
	// generated there at random on the first start, so it is stable across
	// restarts and workers can be adopted.
	NodeID string

	// Host is the host name other nodes reach this one's workers by
	// (storm.local.hostname, else the OS's host name).
	Host string

	// Ports are the worker ports this node offers (supervisor.slots.ports).
	// A slot assigned on another port is not run.
	Ports []int

	// LocalDir is the directory holding the node id, the topology packages
	// and the worker directories (storm.local.dir), as internal/layout lays
	// them out. Made absolute by New, since workers run elsewhere.
	LocalDir string

	// WorkerBinary is the executable run as `WorkerBinary worker …` for
	// topologies whose package has no Go binary: the squall executable.
	WorkerBinary string

	// WorkerArgs are appended to every worker's command line after the
	// contract's arguments: the supervisor's own configuration flags
	// (--config FILE -c key=value …), so the worker reaches the same
	// ZooKeeper.
	WorkerArgs []string

	// WorkerEnv is the environment of worker processes; nil inherits the
	// supervisor's.
	WorkerEnv []string

	// WorkerMaxProcs, if positive, is the GOMAXPROCS each worker gets in
	// its environment, unless the environment sets GOMAXPROCS already: the
	// node's CPUs shared among its slots (WorkerMaxProcs). A worker's Go
	// runtime otherwise runs a thread per CPU of the node, and several
	// workers on a small node wake each other's threads for little work.
	WorkerMaxProcs int

	// WorkerConf, if set, is the configuration each worker gets, written
	// into its directory (layout.WorkerConfFile, 0600, the worker's own) and
	// passed with --config before WorkerArgs: the supervisor's own,
	// without the daemons' secrets (auth.WorkerConfig). A worker running
	// as its topology's owner could not read the supervisor's file.
	WorkerConf map[string]any

	// ZooKeeperSuperACL is set when the daemons authenticate to
	// ZooKeeper: their identity (storm.zookeeper.superACL, zkacl.SuperACL).
	// Each worker's configuration then also holds its topology's own
	// credential (zkacl.DerivedTopologyCredential) and this; a worker never
	// gets the daemons' credential.
	ZooKeeperSuperACL zk.ACL

	// RunAsUser runs each worker, with its children and dependency
	// builds, as the local user of its topology's owner
	// (supervisor.run.worker.as.user); the supervisor must run as root.
	RunAsUser runas.Config

	// WorkerTimeout is how old a worker's heartbeat may get before the
	// worker is killed and restarted (supervisor.worker.timeout.secs).
	WorkerTimeout time.Duration

	// WorkerStartTimeout is how long a new worker has to write its first
	// heartbeat (supervisor.worker.start.timeout.secs).
	WorkerStartTimeout time.Duration

	// MonitorInterval is how often heartbeats and processes are checked,
	// the assignments read again, and the registration refreshed
	// (supervisor.monitor.frequency.secs).
	MonitorInterval time.Duration

	// StopGrace is how long a worker has to exit after SIGTERM before its
	// process group gets SIGKILL (supervisor.worker.shutdown.sleep.secs). A
	// worker drains within about 10 s.
	StopGrace time.Duration

	// RestartBackoff is the delay before restarting a worker that failed
	// (exited, or was killed for its heartbeat); it doubles with each
	// consecutive failure up to MaxRestartBackoff. A worker that ran for
	// MaxRestartBackoff or longer starts the count again.
	RestartBackoff    time.Duration
	MaxRestartBackoff time.Duration

	// DialOptions are used to dial nimbus's gRPC API; nil dials with
	// Credentials. Message size limits are added.
	DialOptions []grpc.DialOption

	// Credentials are how the supervisor authenticates to nimbus
	// (nimbus.client.*, a nimbus.supervisor.users principal); the zero
	// value dials without TLS or token.
	Credentials auth.ClientSettings

	// MaxPackageBytes bounds a downloaded package: the resources archive
	// and the Go binary together.
	MaxPackageBytes int64

	// PackageLimits bound the unpacked resources (tarball.Extract); the
	// zero value means tarball.DefaultLimits.
	PackageLimits tarball.Limits

	// LogMaxAge is how long the log of a slot no worker runs any more is
	// kept after it was last written (logviewer.cleanup.age.mins).
	// LogMaxBytes bounds all worker logs together: beyond it, such logs go
	// least recently written first (logviewer.max.sum.worker.logs.size.mb).
	// The logs of workers this node runs or is assigned are never removed.
	// LogCleanupInterval is how often this is checked
	// (logviewer.cleanup.interval.secs).
	LogMaxAge          time.Duration
	LogMaxBytes        int64
	LogCleanupInterval time.Duration
	// LogMaxPerWorkerBytes bounds one slot's log directory: beyond it, its
	// oldest rotated files go (logviewer.max.per.worker.logs.size.mb).
	LogMaxPerWorkerBytes int64
	// LogRotation says when a worker rotates its log, worker.log, and how
	// many backups it keeps (logfile.KeyMaxSizeMB, KeyMaxBackups).
	LogRotation logfile.Rotation

	// KillWorkersOnStop makes Run stop every worker before returning. By
	// default, as in Storm, workers keep running when the supervisor stops,
	// and the next supervisor on LocalDir adopts them.
	KillWorkersOnStop bool

	// Version is the squall version registered; empty means this binary's.
	Version string

	// Logger receives the supervisor's logs; nil discards them.
	Logger *slog.Logger

	// EnvMaxAge is how long a dependency environment (storm.local.dir/envs,
	// built by workers) that no worker uses is kept after its last use
	// (supervisor.envs.cleanup.age.mins); 0 keeps them all. It is checked
	// every LogCleanupInterval.
	EnvMaxAge time.Duration

	// LogViewer, if set, runs the node's logviewer: Storm's logviewer
	// paths over the workers' logs (LogRoot defaults to LocalDir's logs)
	// and /metrics for the node and its workers. Its address is published
	// in the node's registration (SupervisorInfo.Address).
	LogViewer *logviewer.Config
	// LogViewerAuth, if set, makes the logviewer authenticate and
	// authorize every request (see LogViewerAuth).
	LogViewerAuth *LogViewerAuth
}

// WorkerMaxProcs returns a worker's share of a node's cpus among its
// slots, rounded to the nearest whole CPU and at least one: the default
// GOMAXPROCS of its workers (Config.WorkerMaxProcs).
func WorkerMaxProcs(cpus, slots int) int {
	if slots <= 0 {
		return max(1, cpus)
	}
	return max(1, (cpus+slots/2)/slots)
}

// DefaultConfig returns Storm's defaults. Host, LocalDir and WorkerBinary
// have none and must be set.
func DefaultConfig() Config {
	return Config{
		Ports:              []int{6700, 6701, 6702, 6703},
		WorkerTimeout:      30 * time.Second,
		WorkerStartTimeout: 120 * time.Second,
		MonitorInterval:    3 * time.Second,
		StopGrace:          10 * time.Second,
		RestartBackoff:     time.Second,
		MaxRestartBackoff:  30 * time.Second,
		MaxPackageBytes:    api.DefaultMaxSubmitBytes,
		LogMaxAge:          7 * 24 * time.Hour,
		LogMaxBytes:        4096 << 20,
		LogCleanupInterval: 10 * time.Minute,
		// Storm's defaults.
		LogMaxPerWorkerBytes: 2048 << 20,
		LogRotation:          logfile.DefaultRotation,
		EnvMaxAge:            depenv.DefaultCleanupAge,
	}
}

// Validate reports the first invalid field, wrapping ErrInvalidConfig.
func (c Config) Validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...))
	}
	switch {
	case c.Host == "":
		return bad("Host", "is empty")
	case len(c.Ports) == 0:
		return bad("Ports", "is empty")
	case c.LocalDir == "":
		return bad("LocalDir", "is empty")
	case c.WorkerBinary == "":
		return bad("WorkerBinary", "is empty")
	case c.WorkerMaxProcs < 0:
		return bad("WorkerMaxProcs", "%d: must be 0 or more", c.WorkerMaxProcs)
	}
	seen := map[int]bool{}
	for _, p := range c.Ports {
		if p <= 0 || p > 65535 {
			return bad("Ports", "holds %d, not a port", p)
		}
		if seen[p] {
			return bad("Ports", "holds %d twice", p)
		}
		seen[p] = true
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"WorkerTimeout", c.WorkerTimeout},
		{"WorkerStartTimeout", c.WorkerStartTimeout},
		{"MonitorInterval", c.MonitorInterval},
		{"StopGrace", c.StopGrace},
		{"RestartBackoff", c.RestartBackoff},
		{"MaxRestartBackoff", c.MaxRestartBackoff},
		{"LogMaxAge", c.LogMaxAge},
		{"LogCleanupInterval", c.LogCleanupInterval},
	} {
		if d.v <= 0 {
			return bad(d.name, "%v: must be positive", d.v)
		}
	}
	if c.MaxRestartBackoff < c.RestartBackoff {
		return bad("MaxRestartBackoff", "%v is below RestartBackoff %v", c.MaxRestartBackoff, c.RestartBackoff)
	}
	if c.MaxPackageBytes <= 0 {
		return bad("MaxPackageBytes", "%d: must be positive", c.MaxPackageBytes)
	}
	if c.LogMaxBytes <= 0 {
		return bad("LogMaxBytes", "%d: must be positive", c.LogMaxBytes)
	}
	if c.LogMaxPerWorkerBytes <= 0 {
		return bad("LogMaxPerWorkerBytes", "%d: must be positive", c.LogMaxPerWorkerBytes)
	}
	if c.LogRotation.MaxSizeMB <= 0 || c.LogRotation.MaxBackups < 0 {
		return bad("LogRotation", "%+v: a positive size and backups of 0 or more", c.LogRotation)
	}
	return nil
}
