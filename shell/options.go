package shell

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/squallstream/squall/multilang"
	"github.com/squallstream/squall/topology"
)

// Options tune how children are run. The zero value is usable: every zero
// field takes its default.
type Options struct {
	// Env holds KEY=VALUE pairs added to every child's environment after
	// the inherited one and before the component's own, e.g. the PYTHONPATH
	// that makes squall's adapters importable.
	Env []string
	// StopGrace is how long a child has to exit after SIGTERM before its
	// process group is killed. Default 2s.
	StopGrace time.Duration
	// HeartbeatInterval is how often a bolt child gets a heartbeat and how
	// often liveness is checked. Default 1s.
	HeartbeatInterval time.Duration
	// MinBackoff and MaxBackoff bound the delay before restarting a child
	// that failed; it doubles with each consecutive failure. Defaults 100ms
	// and 30s.
	MinBackoff, MaxBackoff time.Duration
	// StableAfter is how long a child must run for its failure count to
	// reset. Default 60s.
	StableAfter time.Duration
	// CrashLoopRestarts failures within CrashLoopWindow mark a task as
	// crash-looping. Defaults 3 and 60s.
	CrashLoopRestarts int
	CrashLoopWindow   time.Duration
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.StopGrace, 2*time.Second)
	def(&o.HeartbeatInterval, time.Second)
	def(&o.MinBackoff, 100*time.Millisecond)
	def(&o.MaxBackoff, 30*time.Second)
	def(&o.StableAfter, 60*time.Second)
	def(&o.CrashLoopWindow, 60*time.Second)
	if o.CrashLoopRestarts <= 0 {
		o.CrashLoopRestarts = 3
	}
	return o
}

// KeyStartupTimeoutSecs bounds the time from launching a child to its pid
// reply (squall; Storm waits forever).
const KeyStartupTimeoutSecs = "topology.multilang.startup.timeout.secs"

// settings are what a task reads from its configuration once, at start.
type settings struct {
	timeout        time.Duration // liveness: topology.subprocess.timeout.secs
	startupTimeout time.Duration
	maxPending     int
	maxMessage     int
	log            *slog.Logger
}

func readSettings(ctx *topology.TaskContext) (settings, error) {
	c := ctx.Config
	s := settings{
		timeout:        c.Seconds(topology.KeySubprocessTimeoutSecs, c.Seconds(topology.KeyWorkerTimeoutSecs, 30*time.Second)),
		startupTimeout: c.Seconds(KeyStartupTimeoutSecs, 30*time.Second),
		maxPending:     c.Int(topology.KeyShellBoltMaxPending, 100),
		maxMessage:     c.Int(topology.KeyMultilangMaxMessageBytes, multilang.DefaultMaxMessageBytes),
		log:            ctx.Logger,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxPending < 1 {
		return s, fmt.Errorf("%s must be at least 1, got %d", topology.KeyShellBoltMaxPending, s.maxPending)
	}
	if s.timeout <= 0 || s.startupTimeout <= 0 {
		return s, fmt.Errorf("shell timeouts must be positive")
	}
	switch ser := c.String(topology.KeyMultilangSerializer, "json"); ser {
	case "json", "org.apache.storm.multilang.JsonSerializer":
	default:
		return s, fmt.Errorf("%s %q is not supported (use json)", topology.KeyMultilangSerializer, ser)
	}
	return s, nil
}
