package checkpoint

import (
	"errors"
	"fmt"
	"time"

	"github.com/squallstream/squall/topology"
)

// Configuration keys: Storm's interval, and squall's exactly-once mode.
const (
	// KeyInterval is Storm's checkpoint interval in milliseconds.
	KeyInterval = "topology.state.checkpoint.interval.ms"
	// KeyExactlyOnce turns exactly-once state on for the whole topology
	// (squall; default false: Storm's at-least-once).
	KeyExactlyOnce = "topology.state.exactly.once"
	// KeyDedupRetainSecs is how long an exactly-once bolt remembers the
	// tuples a committed transaction included (squall; default twice
	// topology.message.timeout.secs).
	KeyDedupRetainSecs = "topology.state.exactly.once.retain.secs"
	// KeyDedupMaxIDs caps the tuple IDs one task remembers (squall).
	KeyDedupMaxIDs = "topology.state.exactly.once.max.ids"
	// KeyMaxBuffered caps the tuples a task holds back waiting for its
	// state or for a barrier (squall).
	KeyMaxBuffered = "topology.state.max.buffered.tuples"
)

// Defaults.
const (
	DefaultInterval    = time.Second
	DefaultDedupMaxIDs = 1_000_000
	DefaultMaxBuffered = 50_000
)

// ErrBadConfig: a checkpoint setting is out of range.
var ErrBadConfig = errors.New("bad checkpoint configuration")

// Config is the checkpointing configuration of a topology.
type Config struct {
	// Interval is how often the checkpoint spout starts a transaction.
	Interval time.Duration
	// ExactlyOnce, DedupRetain, DedupMaxIDs: see the keys.
	ExactlyOnce bool
	DedupRetain time.Duration
	DedupMaxIDs int
	// MaxBuffered caps the tuples a task holds back.
	MaxBuffered int
}

// RetainTxids is how many committed transactions span DedupRetain: the
// BoltConfig.RetainTxids to use.
func (c Config) RetainTxids() int64 {
	return int64((c.DedupRetain+c.Interval-1)/c.Interval) + 1
}

// ParseConfig reads and checks the checkpointing keys of c. The interval
// must be shorter than topology.message.timeout.secs (when timeouts are
// on): a stateful bolt acks its tuples only when a checkpoint commits them,
// so a longer interval would time every tuple out.
func ParseConfig(c topology.Config) (Config, error) {
	bad := func(key string, format string, args ...any) (Config, error) {
		return Config{}, fmt.Errorf("%s: %w: %s", key, ErrBadConfig, fmt.Sprintf(format, args...))
	}
	timeout := c.Seconds(topology.KeyMessageTimeoutSecs, 30*time.Second)
	timeouts := c.Bool(topology.KeyEnableMessageTimeouts, true)
	cfg := Config{
		Interval:    DefaultInterval,
		ExactlyOnce: c.Bool(KeyExactlyOnce, false),
		DedupRetain: 2 * timeout,
		DedupMaxIDs: c.Int(KeyDedupMaxIDs, DefaultDedupMaxIDs),
		MaxBuffered: c.Int(KeyMaxBuffered, DefaultMaxBuffered),
	}
	if ms, ok := c.IntOK(KeyInterval); ok {
		if ms <= 0 {
			return bad(KeyInterval, "%d ms: must be positive", ms)
		}
		cfg.Interval = max(time.Duration(ms)*time.Millisecond, MinInterval)
	}
	if timeouts && timeout > 0 && cfg.Interval >= timeout {
		return bad(KeyInterval, "%v is not shorter than %s (%v): stateful bolts ack tuples only when a checkpoint commits them, so every tuple would time out",
			cfg.Interval, topology.KeyMessageTimeoutSecs, timeout)
	}
	if secs, ok := c.IntOK(KeyDedupRetainSecs); ok {
		if secs <= 0 {
			return bad(KeyDedupRetainSecs, "%d: must be positive", secs)
		}
		cfg.DedupRetain = time.Duration(secs) * time.Second
	}
	if cfg.DedupRetain <= 0 {
		cfg.DedupRetain = 2 * 30 * time.Second
	}
	if cfg.DedupMaxIDs < 0 {
		return bad(KeyDedupMaxIDs, "%d: must not be negative", cfg.DedupMaxIDs)
	}
	if cfg.MaxBuffered < 1 {
		return bad(KeyMaxBuffered, "%d: must be at least 1", cfg.MaxBuffered)
	}
	return cfg, nil
}
