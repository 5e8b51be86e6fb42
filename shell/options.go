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
	// BackoffJitter is the random fraction of each restart delay (see
	// backoff.Policy); zero means the default, negative none.
	BackoffJitter float64
	// StableAfter is how long a child must run for its failure count to
	// reset. Default 60s.
	StableAfter time.Duration
	// CrashLoopRestarts failures within CrashLoopWindow mark a task as
	// crash-looping. Defaults 3 and 60s.
	CrashLoopRestarts int
	CrashLoopWindow   time.Duration
	// Attach, if set, is asked once per task for a terminal its
	// children get beside the protocol pipes (see Terminal); nil means
	// none.
	Attach func(component string, task int) *Terminal
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

// KeyStderrLinesPerSec bounds how many lines of a child's stderr a second
// reach the task log, in bursts of ten times as many (squall). The lines
// beyond are counted and the count logged. Default 100.
const KeyStderrLinesPerSec = "topology.multilang.stderr.lines.per.sec"

// KeyShellBoltMaxHeld bounds the tuples a bolt child holds, written to it
// and not yet acked or failed (squall; Storm holds them all). Default
// max(10000, 100 x topology.shellbolt.max.pending).
const KeyShellBoltMaxHeld = "topology.shellbolt.max.held"

// settings are what a task reads from its configuration once, at start.
type settings struct {
	timeout        time.Duration // liveness: topology.subprocess.timeout.secs
	startupTimeout time.Duration
	maxPending     int
	maxHeld        int
	maxMessage     int
	stderrRate     int
	// messageTimeout is topology.message.timeout.secs, 0 when tuples do
	// not time out.
	messageTimeout time.Duration
	// serializer is the wire format, topology.multilang.serializer,
	// checked when the task starts. A child's handshake carries the same
	// configuration; child.handshake takes the format from there.
	serializer multilang.Serializer
	log        *slog.Logger
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
	s.maxHeld = c.Int(KeyShellBoltMaxHeld, max(10_000, 100*s.maxPending))
	if s.maxHeld < 1 {
		return s, fmt.Errorf("%s must be at least 1, got %d", KeyShellBoltMaxHeld, s.maxHeld)
	}
	s.stderrRate = c.Int(KeyStderrLinesPerSec, 100)
	if s.stderrRate < 1 {
		return s, fmt.Errorf("%s must be at least 1, got %d", KeyStderrLinesPerSec, s.stderrRate)
	}
	if c.Bool(topology.KeyEnableMessageTimeouts, true) {
		s.messageTimeout = c.Seconds(topology.KeyMessageTimeoutSecs, 30*time.Second)
	}
	if s.timeout <= 0 || s.startupTimeout <= 0 {
		return s, fmt.Errorf("shell timeouts must be positive")
	}
	if n := c.Int(KeyStateCacheMaxKeys, stateCacheMaxKeys); n < 1 {
		return s, fmt.Errorf("%s must be at least 1, got %d", KeyStateCacheMaxKeys, n)
	}
	ser, err := serializerOf(c)
	if err != nil {
		return s, err
	}
	s.serializer = ser
	return s, nil
}

// serializerOf returns the wire format a task's configuration selects:
// topology.multilang.serializer, json by default. A child's handshake
// carries the same configuration, so the child's side uses it too.
func serializerOf(conf map[string]any) (multilang.Serializer, error) {
	name := topology.Config(conf).String(topology.KeyMultilangSerializer, string(multilang.JSON))
	ser, err := multilang.ParseSerializer(name)
	if err != nil {
		return "", fmt.Errorf("%s: %w", topology.KeyMultilangSerializer, err)
	}
	return ser, nil
}
