package window

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// Storm's configuration keys of windowed bolts (set per component; Storm's
// BaseWindowedBolt sets them from withWindow, withLag, ...), and squall's
// own: the timestamp field (Storm takes it in code, withTimestampField) and
// the cap on the tuples a window holds.
const (
	KeyLengthCount       = "topology.bolts.window.length.count"
	KeyLengthDurationMs  = "topology.bolts.window.length.duration.ms"
	KeySlideCount        = "topology.bolts.window.sliding.interval.count"
	KeySlideDurationMs   = "topology.bolts.window.sliding.interval.duration.ms"
	KeyTimestampField    = "topology.bolts.tuple.timestamp.field.name" // squall
	KeyMaxLagMs          = "topology.bolts.tuple.timestamp.max.lag.ms"
	KeyWatermarkInterval = "topology.bolts.watermark.event.interval.ms"
	KeyLateTupleStream   = "topology.bolts.late.tuple.stream"
	KeyMessageIDField    = "topology.bolts.message.id.field.name"
	KeyMaxTuples         = "topology.bolts.window.max.tuples" // squall
)

// Storm's topology keys a window is checked against.
const (
	keyMessageTimeoutSecs    = "topology.message.timeout.secs"
	keyEnableMessageTimeouts = "topology.enable.message.timeouts"
	keyMaxSpoutPending       = "topology.max.spout.pending"
)

// LateTupleField is the one field of the late-tuple stream, as in Storm.
const LateTupleField = "late_tuple"

// Defaults, Storm's where Storm has them.
const (
	DefaultWatermarkInterval = time.Second
	DefaultMaxTuples         = 100_000
)

// ErrBadSpec: a window's configuration is incomplete, inconsistent or out
// of range. ErrTooLong: a window would hold tuples longer than the message
// timeout, or more than topology.max.spout.pending, so they would be
// replayed while still in it (Storm refuses these too).
var (
	ErrBadSpec = errors.New("bad window")
	ErrTooLong = errors.New("window longer than the topology allows")
)

// Spec is a windowed bolt's window: a length and a sliding interval, each a
// count of tuples or a duration, in processing time or, with a timestamp
// field, in event time. Exactly one of LengthCount and LengthDuration is
// set, and one of SlideCount and SlideDuration.
type Spec struct {
	LengthCount    int
	LengthDuration time.Duration
	SlideCount     int
	SlideDuration  time.Duration
	// TimestampField names the field holding a tuple's event time, in
	// milliseconds since the epoch; empty means processing time.
	TimestampField string
	// Lag is how far out of order event times may arrive; a tuple older
	// than the watermark (the minimum over the input streams of the newest
	// timestamp seen, minus Lag) is late.
	Lag time.Duration
	// WatermarkInterval is how often the watermark advances.
	WatermarkInterval time.Duration
	// Streams are the input streams ("component:stream") whose progress
	// the watermark waits for; empty means the streams seen so far.
	Streams []string
	// LateStream is the stream late tuples are emitted on; empty means
	// they are logged and acked.
	LateStream string
	// MessageIDField names a field identifying a tuple across replays.
	MessageIDField string
	// MaxTuples caps the tuples the window holds (a duration window's
	// contents, and in event time those waiting for the watermark); the
	// oldest beyond it are failed.
	MaxTuples int
}

// Tumbling reports whether windows do not overlap.
func (s Spec) Tumbling() bool {
	return (s.LengthCount > 0 && s.LengthCount == s.SlideCount) ||
		(s.LengthDuration > 0 && s.LengthDuration == s.SlideDuration)
}

// EventTime reports whether the window follows tuple timestamps.
func (s Spec) EventTime() bool { return s.TimestampField != "" }

func (s Spec) String() string {
	part := func(n int, d time.Duration) string {
		if n > 0 {
			return fmt.Sprintf("%d tuples", n)
		}
		return d.String()
	}
	clock := "processing time"
	if s.EventTime() {
		clock = "event time (" + s.TimestampField + ")"
	}
	return fmt.Sprintf("length %s, sliding %s, %s", part(s.LengthCount, s.LengthDuration), part(s.SlideCount, s.SlideDuration), clock)
}

// Windowed reports whether c (a component's merged configuration, a
// topology.Config) makes the component windowed: it sets a window length.
func Windowed(c map[string]any) bool {
	return c[KeyLengthCount] != nil || c[KeyLengthDurationMs] != nil
}

// ParseSpec reads a windowed component's window from its merged
// configuration c, with Storm's defaults (a slide of one tuple, no lag,
// watermarks every second). It checks the spec on its own; Validate checks
// it against the topology.
func ParseSpec(c map[string]any) (Spec, error) {
	var errs []error
	bad := func(key string, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %w: %s", key, ErrBadSpec, fmt.Sprintf(format, args...)))
	}
	count := func(key string) int {
		v, ok := c[key]
		if !ok || v == nil {
			return 0
		}
		n, err := toInt(v)
		if err != nil || n < 1 {
			bad(key, "%v: want a count of at least 1", v)
			return 0
		}
		return n
	}
	millis := func(key string, min int) time.Duration {
		v, ok := c[key]
		if !ok || v == nil {
			return 0
		}
		n, err := toInt(v)
		if err != nil || n < min || n > math.MaxInt32 {
			bad(key, "%v: want milliseconds, at least %d", v, min)
			return 0
		}
		return time.Duration(n) * time.Millisecond
	}
	str := func(key string) string {
		v, ok := c[key]
		if !ok || v == nil {
			return ""
		}
		s, isStr := v.(string)
		if !isStr || s == "" {
			bad(key, "%v: want a non-empty string", v)
		}
		return s
	}
	s := Spec{
		LengthCount:       count(KeyLengthCount),
		LengthDuration:    millis(KeyLengthDurationMs, 1),
		SlideCount:        count(KeySlideCount),
		SlideDuration:     millis(KeySlideDurationMs, 1),
		TimestampField:    str(KeyTimestampField),
		Lag:               millis(KeyMaxLagMs, 0),
		WatermarkInterval: millis(KeyWatermarkInterval, 1),
		LateStream:        str(KeyLateTupleStream),
		MessageIDField:    str(KeyMessageIDField),
		MaxTuples:         DefaultMaxTuples,
	}
	if _, ok := c[KeyMaxTuples]; ok {
		s.MaxTuples = count(KeyMaxTuples)
	}
	if s.WatermarkInterval == 0 {
		s.WatermarkInterval = DefaultWatermarkInterval
	}
	switch {
	case s.LengthCount > 0 && s.LengthDuration > 0:
		bad(KeyLengthCount, "and %s are both set; a window has one length", KeyLengthDurationMs)
	case s.LengthCount == 0 && s.LengthDuration == 0 && len(errs) == 0:
		bad(KeyLengthCount, "no window length: set it or %s", KeyLengthDurationMs)
	}
	switch {
	case s.SlideCount > 0 && s.SlideDuration > 0:
		bad(KeySlideCount, "and %s are both set; a window slides one way", KeySlideDurationMs)
	case s.SlideCount == 0 && s.SlideDuration == 0:
		s.SlideCount = 1 // Storm's default: slide with every tuple
	}
	if s.LateStream != "" && s.TimestampField == "" {
		bad(KeyLateTupleStream, "late tuples need event time: set %s", KeyTimestampField)
	}
	if s.LengthCount > s.MaxTuples && s.MaxTuples > 0 {
		bad(KeyMaxTuples, "%d is below the window length of %d tuples", s.MaxTuples, s.LengthCount)
	}
	if err := errors.Join(errs...); err != nil {
		return Spec{}, err
	}
	return s, nil
}

// Validate refuses, as Storm's WindowedBoltExecutor does, a window that
// would hold tuples longer than topology.message.timeout.secs (length plus
// sliding interval, when both are durations) or more of them than
// topology.max.spout.pending (when both are counts): those tuples would
// time out and be replayed while still in the window. It also checks that
// the component declares the late-tuple stream. c is the component's
// merged configuration; outputs its declared streams.
func (s Spec) Validate(c map[string]any, outputs []string) error {
	var errs []error
	timeouts := true
	if v, ok := c[keyEnableMessageTimeouts]; ok && v != nil {
		b, isBool := v.(bool)
		timeouts = !isBool || b
	}
	if timeouts {
		timeout := time.Duration(intOr(c[keyMessageTimeoutSecs], 30)) * time.Second
		var held time.Duration
		switch {
		case s.LengthDuration > 0 && s.SlideDuration > 0:
			held = s.LengthDuration + s.SlideDuration
		case s.LengthDuration > 0:
			held = s.LengthDuration
		case s.SlideDuration > 0:
			held = s.SlideDuration
		}
		if held > timeout {
			errs = append(errs, fmt.Errorf("%w: window duration (length + sliding interval) %v is more than %s (%v)",
				ErrTooLong, held, keyMessageTimeoutSecs, timeout))
		}
	}
	if v, ok := c[keyMaxSpoutPending]; ok && v != nil {
		pending := intOr(v, math.MaxInt)
		var held int
		switch {
		case s.LengthCount > 0 && s.SlideCount > 0:
			held = s.LengthCount + s.SlideCount
		case s.LengthCount > 0:
			held = s.LengthCount
		case s.SlideCount > 0:
			held = s.SlideCount
		}
		if held > pending {
			errs = append(errs, fmt.Errorf("%w: window count (length + sliding interval) %d is more than %s (%d)",
				ErrTooLong, held, keyMaxSpoutPending, pending))
		}
	}
	if s.LateStream != "" && !slices.Contains(outputs, s.LateStream) {
		errs = append(errs, fmt.Errorf("%s: %w: the component does not declare stream %q",
			KeyLateTupleStream, ErrBadSpec, s.LateStream))
	}
	return errors.Join(errs...)
}

func intOr(v any, def int) int {
	if v == nil {
		return def
	}
	n, err := toInt(v)
	if err != nil {
		return def
	}
	return n
}

// toInt accepts what YAML and JSON decoding give for an integer.
func toInt(v any) (int, error) {
	switch n := v.(type) {
	case int:
		return n, nil
	case int64:
		return int(n), nil
	case float64:
		if n != math.Trunc(n) || math.Abs(n) > 1<<53 {
			return 0, fmt.Errorf("%v is not an integer", n)
		}
		return int(n), nil
	case string:
		return strconv.Atoi(n)
	}
	ms, err := Timestamp(v)
	return int(ms), err
}
