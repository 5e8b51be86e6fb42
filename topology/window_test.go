package topology_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/window"
)

// windowed returns a topology whose bolt "top" has the given extra lines
// (indented under the bolt), and topology-level config lines.
func windowedYAML(bolt, config string) string {
	return fmt.Sprintf(`name: t
config:
  topology.message.timeout.secs: 30
%s
spouts:
  - id: src
    shell: {command: [python3, src.py], fields: [word, ts]}
bolts:
  - id: top
    shell: {command: [python3, top.py], fields: [word, count], streams: {late: [late_tuple]}}
%s
streams:
  - from: src
    to: top
    grouping: {type: SHUFFLE}
`, config, bolt)
}

func TestLoadWindow(t *testing.T) {
	tests := []struct {
		name string
		bolt string
		want window.Spec
	}{
		{"sliding durations", `    window: {length: 10s, sliding: 1s}`,
			window.Spec{LengthDuration: 10 * time.Second, SlideDuration: time.Second}},
		{"count length, default slide", `    window: {length: 100}`,
			window.Spec{LengthCount: 100, SlideCount: 1}},
		{"tumbling count", `    window: {tumbling: 50}`,
			window.Spec{LengthCount: 50, SlideCount: 50}},
		{"count length, duration slide", `    window: {length: 1000, sliding: 500ms}`,
			window.Spec{LengthCount: 1000, SlideDuration: 500 * time.Millisecond}},
		{"event time", `    window:
      tumbling: 5s
      timestampField: ts
      lag: 2s
      watermarkInterval: 250ms
      lateTupleStream: late
      messageIdField: word
      maxTuples: 5000`,
			window.Spec{LengthDuration: 5 * time.Second, SlideDuration: 5 * time.Second, TimestampField: "ts",
				Lag: 2 * time.Second, WatermarkInterval: 250 * time.Millisecond, LateStream: "late", MessageIDField: "word", MaxTuples: 5000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			top, err := topology.Load([]byte(windowedYAML(tt.bolt, "")), topology.LoadOptions{})
			if err != nil {
				t.Fatalf("Load = %v", err)
			}
			if !top.Component("top").Windowed() || top.Component("src").Windowed() {
				t.Errorf("Windowed() = %v (top), %v (src), want true, false", top.Component("top").Windowed(), top.Component("src").Windowed())
			}
			got, ok, err := top.WindowSpec("top")
			if err != nil || !ok {
				t.Fatalf("WindowSpec(top) = %v, %v, %v", got, ok, err)
			}
			want := tt.want
			if want.WatermarkInterval == 0 {
				want.WatermarkInterval = window.DefaultWatermarkInterval
			}
			if want.MaxTuples == 0 {
				want.MaxTuples = window.DefaultMaxTuples
			}
			if got.String() != want.String() || got.Lag != want.Lag || got.WatermarkInterval != want.WatermarkInterval ||
				got.LateStream != want.LateStream || got.MessageIDField != want.MessageIDField || got.MaxTuples != want.MaxTuples ||
				got.LengthCount != want.LengthCount || got.SlideCount != want.SlideCount {
				t.Errorf("WindowSpec(top) = %+v, want %+v", got, want)
			}
		})
	}
}

// A Flux file (or a Go builder) sets Storm's keys in the component's
// config: the same window.
func TestWindowFromStormKeys(t *testing.T) {
	b := topology.NewBuilder("t")
	b.SetSpout("src", topology.Shell("python3", "src.py").Fields("word"), 1)
	b.SetBolt("top", topology.Shell("python3", "top.py").Fields("word"), 1).ShuffleGrouping("src").
		AddConfig(window.KeyLengthDurationMs, 10000).AddConfig(window.KeySlideDurationMs, 1000)
	top, err := b.Build()
	if err != nil {
		t.Fatalf("Build = %v", err)
	}
	spec, ok, err := top.WindowSpec("top")
	if err != nil || !ok || spec.LengthDuration != 10*time.Second || spec.SlideDuration != time.Second {
		t.Errorf("WindowSpec(top) = %v, %v, %v, want 10s sliding 1s", spec, ok, err)
	}
}

func TestLoadWindowInvalid(t *testing.T) {
	tests := []struct {
		name   string
		bolt   string
		config string
		want   error
		line   int // the bolt starts at line 9
	}{
		{"longer than the message timeout", `    window: {length: 25s, sliding: 10s}`, "", window.ErrTooLong, 11},
		{"count above max spout pending", `    window: {length: 900, sliding: 200}`, "  topology.max.spout.pending: 1000", window.ErrTooLong, 11},
		{"timeouts disabled allow it", `    window: {length: 25s, sliding: 10s}`, "  topology.enable.message.timeouts: false", nil, 0},
		{"unknown key", `    window: {length: 10s, slide: 1s}`, "", topology.ErrUnknownKey, 11},
		{"tumbling with length", `    window: {length: 10s, tumbling: 1s}`, "", topology.ErrBadValue, 11},
		{"no length", `    window: {sliding: 1s}`, "", topology.ErrMissingKey, 11},
		{"empty", `    window:`, "", topology.ErrBadValue, 11},
		{"no unit", `    window: {length: "10"}`, "", topology.ErrBadValue, 11},
		{"zero count", `    window: {length: 0}`, "", topology.ErrBadValue, 11},
		{"sub-millisecond", `    window: {length: 1500us}`, "", topology.ErrBadValue, 11},
		{"late stream without event time", `    window: {length: 10s, lateTupleStream: late}`, "", window.ErrBadSpec, 11},
		{"undeclared late stream", `    window: {length: 10s, timestampField: ts, lateTupleStream: nope}`, "", window.ErrBadSpec, 11},
		{"max tuples below the count", `    window: {length: 100, maxTuples: 10}`, "", window.ErrBadSpec, 11},
		{"set twice", "    window: {length: 10s}\n    config: {topology.bolts.window.length.duration.ms: 5000}", "", topology.ErrBadValue, 11},
		{"with tick tuples", "    window: {length: 10s}\n    config: {topology.tick.tuple.freq.secs: 1}", "", topology.ErrBadComponent, 12},
		{"state runs", `    state: {}`, "", nil, 0},
		{"state provider runs", "    state: {provider: redis, providerConfig: {jedisPoolConfig: {host: r}}}", "", nil, 0},
		{"state unknown key", `    state: {provder: redis}`, "", topology.ErrUnknownKey, 11},
		{"state not a mapping", `    state: [redis]`, "", topology.ErrBadValue, 11},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := topology.Load([]byte(windowedYAML(tt.bolt, tt.config)), topology.LoadOptions{})
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Load = %v, want no error", err)
				}
				return
			}
			errs := problems(t, err)
			if len(errs) != 1 || !errors.Is(errs[0], tt.want) || errs[0].Component != "top" || errs[0].Line != tt.line {
				t.Errorf("Load = %v, want one %v for top at line %d", err, tt.want, tt.line)
			}
		})
	}
}

func TestLoadWindowOnSpout(t *testing.T) {
	data := `name: t
spouts:
  - id: src
    shell: {command: [python3, src.py], fields: [word]}
    window: {length: 10s}
bolts:
  - id: b
    shell: {command: [python3, b.py]}
streams:
  - {from: src, to: b, grouping: {type: SHUFFLE}}
`
	errs := problems(t, func() error { _, err := topology.Load([]byte(data), topology.LoadOptions{}); return err }())
	if len(errs) != 1 || !errors.Is(errs[0], topology.ErrBadComponent) || errs[0].Component != "src" || errs[0].Line != 5 {
		t.Errorf("Load = %v, want one ErrBadComponent for src at line 5", errs)
	}
}
