package window_test

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/window"
)

func TestParseSpec(t *testing.T) {
	base := func(s window.Spec) window.Spec {
		if s.WatermarkInterval == 0 {
			s.WatermarkInterval = time.Second
		}
		if s.MaxTuples == 0 {
			s.MaxTuples = window.DefaultMaxTuples
		}
		return s
	}
	tests := []struct {
		name string
		conf topology.Config
		want window.Spec
		err  error
	}{
		{"count, Storm's default slide", topology.Config{window.KeyLengthCount: 30},
			base(window.Spec{LengthCount: 30, SlideCount: 1}), nil},
		{"sliding by time, YAML floats", topology.Config{window.KeyLengthDurationMs: 10000.0, window.KeySlideDurationMs: 1000.0},
			base(window.Spec{LengthDuration: 10 * time.Second, SlideDuration: time.Second}), nil},
		{"event time", topology.Config{
			window.KeyLengthDurationMs: 20000, window.KeySlideDurationMs: 10000,
			window.KeyTimestampField: "ts", window.KeyMaxLagMs: 5000, window.KeyWatermarkInterval: 500,
			window.KeyLateTupleStream: "late", window.KeyMessageIDField: "msgid", window.KeyMaxTuples: "5000",
		}, window.Spec{LengthDuration: 20 * time.Second, SlideDuration: 10 * time.Second, TimestampField: "ts",
			Lag: 5 * time.Second, WatermarkInterval: 500 * time.Millisecond, LateStream: "late", MessageIDField: "msgid", MaxTuples: 5000}, nil},
		{"no length", topology.Config{window.KeySlideCount: 3}, window.Spec{}, window.ErrBadSpec},
		{"two lengths", topology.Config{window.KeyLengthCount: 3, window.KeyLengthDurationMs: 100}, window.Spec{}, window.ErrBadSpec},
		{"two slides", topology.Config{window.KeyLengthCount: 3, window.KeySlideCount: 1, window.KeySlideDurationMs: 100}, window.Spec{}, window.ErrBadSpec},
		{"a zero count", topology.Config{window.KeyLengthCount: 0}, window.Spec{}, window.ErrBadSpec},
		{"a fractional duration", topology.Config{window.KeyLengthDurationMs: 1.5}, window.Spec{}, window.ErrBadSpec},
		{"a negative lag", topology.Config{window.KeyLengthCount: 3, window.KeyMaxLagMs: -1}, window.Spec{}, window.ErrBadSpec},
		{"a word for a count", topology.Config{window.KeyLengthCount: "ten"}, window.Spec{}, window.ErrBadSpec},
		{"late tuples without event time", topology.Config{window.KeyLengthCount: 3, window.KeyLateTupleStream: "late"}, window.Spec{}, window.ErrBadSpec},
		{"a cap below the length", topology.Config{window.KeyLengthCount: 30, window.KeyMaxTuples: 10}, window.Spec{}, window.ErrBadSpec},
		{"an empty field name", topology.Config{window.KeyLengthCount: 3, window.KeyTimestampField: ""}, window.Spec{}, window.ErrBadSpec},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := window.ParseSpec(tt.conf)
			if !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
				t.Fatalf("ParseSpec() err = %v, want %v", err, tt.err)
			}
			if tt.err == nil && got.String() != tt.want.String() {
				t.Errorf("ParseSpec() = %v, want %v", got, tt.want)
			}
			if tt.err == nil && (got.Lag != tt.want.Lag || got.WatermarkInterval != tt.want.WatermarkInterval ||
				got.LateStream != tt.want.LateStream || got.MessageIDField != tt.want.MessageIDField || got.MaxTuples != tt.want.MaxTuples) {
				t.Errorf("ParseSpec() = %+v, want %+v", got, tt.want)
			}
		})
	}
	if window.Windowed(topology.Config{window.KeySlideCount: 2}) || !window.Windowed(topology.Config{window.KeyLengthDurationMs: 1}) {
		t.Error("Windowed() is wrong")
	}
}

// Storm refuses a window that holds tuples longer than the message timeout
// (durations) or more than max spout pending (counts).
func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		spec window.Spec
		conf topology.Config
		want error
	}{
		{"10 s sliding 1 s under the default 30 s", window.Spec{LengthDuration: 10 * time.Second, SlideDuration: time.Second}, topology.Config{}, nil},
		{"25 s sliding 6 s", window.Spec{LengthDuration: 25 * time.Second, SlideDuration: 6 * time.Second}, topology.Config{}, window.ErrTooLong},
		{"exactly the timeout", window.Spec{LengthDuration: 25 * time.Second, SlideDuration: 5 * time.Second}, topology.Config{}, nil},
		{"a longer timeout", window.Spec{LengthDuration: 25 * time.Second, SlideDuration: 6 * time.Second},
			topology.Config{topology.KeyMessageTimeoutSecs: 60}, nil},
		{"timeouts off", window.Spec{LengthDuration: time.Hour, SlideDuration: time.Hour},
			topology.Config{topology.KeyEnableMessageTimeouts: false}, nil},
		{"a duration length alone", window.Spec{LengthDuration: 31 * time.Second, SlideCount: 1}, topology.Config{}, window.ErrTooLong},
		{"a duration slide alone", window.Spec{LengthCount: 5, SlideDuration: 31 * time.Second}, topology.Config{}, window.ErrTooLong},
		{"counts over max spout pending", window.Spec{LengthCount: 900, SlideCount: 200},
			topology.Config{topology.KeyMaxSpoutPending: 1000}, window.ErrTooLong},
		{"counts within it", window.Spec{LengthCount: 800, SlideCount: 200},
			topology.Config{topology.KeyMaxSpoutPending: 1000}, nil},
		{"counts, no max spout pending", window.Spec{LengthCount: 1 << 20, SlideCount: 1}, topology.Config{}, nil},
		{"an undeclared late stream", window.Spec{LengthCount: 3, SlideCount: 1, TimestampField: "ts", LateStream: "late"}, topology.Config{}, window.ErrBadSpec},
		{"a declared late stream", window.Spec{LengthCount: 3, SlideCount: 1, TimestampField: "ts", LateStream: "default"}, topology.Config{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.spec.Validate(tt.conf, []string{"default"})
			if !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Errorf("Validate() = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestTimestamp(t *testing.T) {
	good := []struct {
		v    any
		want int64
	}{
		{int64(1733476800000), 1733476800000}, {1733476800000.0, 1733476800000}, {json.Number("42"), 42},
		{uint32(7), 7}, {int8(-3), -3}, {float32(1024), 1024},
	}
	for _, g := range good {
		if got, err := window.Timestamp(g.v); err != nil || got != g.want {
			t.Errorf("Timestamp(%#v) = %d, %v; want %d", g.v, got, err, g.want)
		}
	}
	for _, b := range []any{nil, "1733476800000", 1.5, math.Inf(1), uint64(math.MaxUint64), json.Number("4.2"), []any{1}} {
		if _, err := window.Timestamp(b); !errors.Is(err, window.ErrBadTimestamp) {
			t.Errorf("Timestamp(%#v) err = %v, want ErrBadTimestamp", b, err)
		}
	}
}
