package topology

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/squallstream/squall/window"
)

// WindowStream is the system stream a shell bolt declared `window:`
// receives its windows on (docs/windowing-and-state.md); the tuple's one
// value describes the window.
const WindowStream = "__window"

// Storm's keys of stateful bolts that the topology format sets.
const (
	KeyStateProvider       = "topology.state.provider"
	KeyStateProviderConfig = "topology.state.provider.config"
)

// ErrBadWindow: a component's window is incomplete, inconsistent, or
// longer than the topology's message timeout or max spout pending allow
// (the error also wraps window.ErrBadSpec or window.ErrTooLong).
var ErrBadWindow = errors.New("bad window")

// TupleWindow is one window of a windowed bolt (Storm's TupleWindow):
// Tuples, oldest first, are the window's contents; New are those not in
// the previous window, Expired those of the previous window not in this
// one. End is the last millisecond the window covers; Start is End minus
// the length for duration windows, and equals End for count windows.
type TupleWindow struct {
	Tuples, New, Expired []Tuple
	Start, End           int64
}

// WindowedBolt is a Go bolt of a component declared `window:` (Storm's
// IWindowedBolt). The runtime does the windowing: it calls ExecuteWindow,
// on the task's executor goroutine, every time a window fires, and never
// Execute. What the bolt emits during ExecuteWindow without anchors is
// anchored to every tuple of the window, as Storm's windowed collector
// does; the runtime acks the window's tuples when they leave every window,
// so the bolt does not ack them (acks and fails of window tuples are
// ignored).
type WindowedBolt interface {
	Bolt
	ExecuteWindow(w TupleWindow)
}

// Windowed reports whether the component is a windowed bolt: its own
// configuration sets a window length (`window:` in YAML, or Storm's keys
// in its config, as Flux sets them).
func (c *Component) Windowed() bool {
	return c.Kind == KindBolt && window.Windowed(c.Config)
}

// WindowSpec returns the window of component id, read from its merged
// configuration; ok is false for a component that is not windowed.
func (t *Topology) WindowSpec(id string) (spec window.Spec, ok bool, err error) {
	c := t.Component(id)
	if c == nil || !c.Windowed() {
		return window.Spec{}, false, nil
	}
	spec, err = window.ParseSpec(t.ComponentConfig(id))
	return spec, err == nil, err
}

var windowKeys = []string{"length", "sliding", "tumbling", "timestampField", "lag", "watermarkInterval", "lateTupleStream", "messageIdField", "maxTuples"}

// maxWindowMs bounds a window duration written in YAML (about 24 days, a
// 32-bit count of milliseconds, as window.ParseSpec accepts).
const maxWindowMs = 1<<31 - 1

// window reads `window: {...}` into the Storm keys it stands for, with the
// line of each for validation errors.
func (p *parser) window(n *yaml.Node) (keys Config, at map[string]pos) {
	entries, ok := p.mapping(n, "window")
	if !ok {
		return nil, nil
	}
	if isNull(n) {
		p.failf(n, ErrBadValue, "window needs a length, like window: {length: 10s, sliding: 1s}")
		return nil, nil
	}
	keys, at = Config{}, map[string]pos{}
	set := func(e kv, key string, v any) {
		keys[key] = v
		at[key] = pos{p.file, e.k.Line}
	}
	// lengthOrCount reads a bare integer as a count and a string with a
	// unit as a duration.
	lengthOrCount := func(e kv, countKey, msKey string) {
		v := deref(e.v)
		if v != nil && v.Kind == yaml.ScalarNode && v.ShortTag() == "!!int" {
			if n, err := strconv.Atoi(v.Value); err == nil && n >= 1 {
				set(e, countKey, n)
				return
			}
			p.failf(e.v, ErrBadValue, "window %s %s: a count must be at least 1", e.key, v.Value)
			return
		}
		if ms, ok := p.windowDuration(e, 1); ok {
			set(e, msKey, ms)
		}
	}
	for _, e := range entries {
		switch e.key {
		case "length":
			lengthOrCount(e, window.KeyLengthCount, window.KeyLengthDurationMs)
		case "sliding":
			lengthOrCount(e, window.KeySlideCount, window.KeySlideDurationMs)
		case "tumbling":
			lengthOrCount(e, window.KeyLengthCount, window.KeyLengthDurationMs)
			lengthOrCount(e, window.KeySlideCount, window.KeySlideDurationMs)
		case "lag":
			if ms, ok := p.windowDuration(e, 0); ok {
				set(e, window.KeyMaxLagMs, ms)
			}
		case "watermarkInterval":
			if ms, ok := p.windowDuration(e, 1); ok {
				set(e, window.KeyWatermarkInterval, ms)
			}
		case "timestampField":
			if s, ok := p.str(e.v, "window timestampField"); ok {
				set(e, window.KeyTimestampField, s)
			}
		case "lateTupleStream":
			if s, ok := p.str(e.v, "window lateTupleStream"); ok {
				set(e, window.KeyLateTupleStream, s)
			}
		case "messageIdField":
			if s, ok := p.str(e.v, "window messageIdField"); ok {
				set(e, window.KeyMessageIDField, s)
			}
		case "maxTuples":
			if n, ok := p.integer(e.v, "window maxTuples"); ok {
				if n < 1 {
					p.failf(e.v, ErrBadValue, "window maxTuples is %d, it must be at least 1", n)
					continue
				}
				set(e, window.KeyMaxTuples, n)
			}
		default:
			p.failf(e.k, ErrUnknownKey, "%q in window (known: %s)%s", e.key, strings.Join(windowKeys, ", "), suggest(e.key, windowKeys))
		}
	}
	var tumbling, length, sliding bool
	for _, e := range entries {
		tumbling = tumbling || e.key == "tumbling"
		length = length || e.key == "length"
		sliding = sliding || e.key == "sliding"
	}
	switch {
	case tumbling && (length || sliding):
		p.failf(n, ErrBadValue, "window: tumbling sets both the length and the sliding interval; give it alone, or length and sliding")
	case !tumbling && !length:
		p.failf(n, ErrMissingKey, "window needs a length (or tumbling), like window: {length: 10s, sliding: 1s}")
	}
	return keys, at
}

// windowDuration reads a duration with a unit (Go syntax: 500ms, 10s, 1m)
// as milliseconds, at least min.
func (p *parser) windowDuration(e kv, min int64) (int64, bool) {
	s, ok := p.str(e.v, "window "+e.key)
	if !ok {
		return 0, false
	}
	d, err := time.ParseDuration(s)
	ms := d.Milliseconds()
	switch {
	case err != nil:
		p.failf(e.v, ErrBadValue, "window %s %q: want a count of tuples or a duration with a unit, like 500ms, 10s or 1m", e.key, s)
		return 0, false
	case d%time.Millisecond != 0 || ms < min || ms > maxWindowMs:
		p.failf(e.v, ErrBadValue, "window %s %q: want whole milliseconds, at least %dms and at most %dms", e.key, s, min, maxWindowMs)
		return 0, false
	}
	return ms, true
}

var stateKeys = []string{"provider", "providerConfig"}

// state reads `state: {}` (or `true`, or {provider, providerConfig}) into
// the Storm keys it stands for.
func (p *parser) state(n *yaml.Node) (stateful bool, keys Config, at map[string]pos) {
	if v := deref(n); v != nil && v.Kind == yaml.ScalarNode && !isNull(v) {
		b, ok := p.boolean(v, "state (true, or a mapping of provider and providerConfig)")
		return ok && b, nil, nil
	}
	entries, ok := p.mapping(n, "state")
	if !ok {
		return false, nil, nil
	}
	keys, at = Config{}, map[string]pos{}
	for _, e := range entries {
		switch e.key {
		case "provider":
			if s, ok := p.str(e.v, "state provider"); ok {
				keys[KeyStateProvider], at[KeyStateProvider] = s, pos{p.file, e.k.Line}
			}
		case "providerConfig":
			v, ok := p.value(e.v, "state providerConfig")
			if !ok {
				continue
			}
			// Storm's value is a JSON string; a mapping is written as one.
			if m, isMap := v.(map[string]any); isMap {
				b, err := jsonText(m)
				if err != nil {
					p.failf(e.v, ErrBadValue, "state providerConfig: %v", err)
					continue
				}
				v = b
			}
			if _, isStr := v.(string); !isStr {
				p.failf(e.v, ErrBadValue, "state providerConfig must be a mapping or a JSON string, not %s", describe(deref(e.v)))
				continue
			}
			keys[KeyStateProviderConfig], at[KeyStateProviderConfig] = v, pos{p.file, e.k.Line}
		default:
			p.failf(e.k, ErrUnknownKey, "%q in state (known: provider, providerConfig)%s", e.key, suggest(e.key, stateKeys))
		}
	}
	return true, keys, at
}

// mergeDeclared lays the keys `window:` or `state:` stand for over a
// component's config, refusing a key also set under `config:`: one source
// of truth.
func (p *parser) mergeDeclared(c *compDef, what string, keys Config, at map[string]pos) {
	for k, v := range keys {
		if prev, dup := c.configPos[k]; dup {
			p.fail(&yaml.Node{Line: at[k].line}, fmt.Errorf("%w: %s sets %s, which config also sets at line %d; set it in one place",
				ErrBadValue, what, k, prev.line))
			continue
		}
		if c.config == nil {
			c.config, c.configPos = Config{}, map[string]pos{}
		}
		c.config[k], c.configPos[k] = v, at[k]
	}
}

// checkWindowAndState checks a component's `window:` and `state:`
// against its configuration and the topology.
func (v *validator) checkWindowAndState(c *Component) {
	src := v.src.comp(c).config
	line := func(key string) int { return src[key].line }
	if c.Stateful && c.Kind != KindBolt {
		v.add(c, line(KeyStateProvider), fmt.Errorf("%w: a spout cannot be stateful; only bolts take state", ErrBadComponent))
	}
	if !window.Windowed(c.Config) {
		return
	}
	if c.Kind == KindSpout {
		v.add(c, line(window.KeyLengthCount)+line(window.KeyLengthDurationMs), fmt.Errorf("%w: a spout cannot be windowed; only bolts take a window: section", ErrBadComponent))
		return
	}
	cfg := v.t.ComponentConfig(c.ID)
	if cfg[KeyTickTupleFreqSecs] != nil {
		v.add(c, line(KeyTickTupleFreqSecs), fmt.Errorf("%w: a windowed bolt takes no tick tuples (%s): its windows are its ticks", ErrBadComponent, KeyTickTupleFreqSecs))
	}
	spec, err := window.ParseSpec(cfg)
	if err != nil {
		v.add(c, windowLine(err, line), fmt.Errorf("%w: %w", ErrBadWindow, err))
		return
	}
	outs := make([]string, len(c.Outputs))
	for i, s := range c.Outputs {
		outs[i] = s.ID
	}
	if err := spec.Validate(cfg, outs); err != nil {
		v.add(c, windowLine(err, line), fmt.Errorf("%w: %w", ErrBadWindow, err))
	}
}

// windowLine returns the line of the first window key an error names, or
// 0 (the component's line).
func windowLine(err error, line func(string) int) int {
	for _, k := range []string{window.KeyLengthCount, window.KeyLengthDurationMs, window.KeySlideCount, window.KeySlideDurationMs,
		window.KeyLateTupleStream, window.KeyTimestampField, window.KeyMaxTuples, window.KeyMaxLagMs, window.KeyWatermarkInterval} {
		if strings.Contains(err.Error(), k) && line(k) > 0 {
			return line(k)
		}
	}
	for _, k := range []string{window.KeyLengthDurationMs, window.KeyLengthCount} {
		if line(k) > 0 {
			return line(k)
		}
	}
	return 0
}

// jsonText writes a YAML mapping as the JSON string Storm's key holds.
func jsonText(m map[string]any) (string, error) {
	b, err := json.Marshal(m)
	return string(b), err
}
