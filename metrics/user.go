package metrics

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNameBytes bounds the length of a user metric's name.
const MaxNameBytes = 200

// MaxHistogramBatch bounds the values one histogram update may carry.
const MaxHistogramBatch = 1000

// Record updates the user metric name as the multilang "metrics" command
// gives it, {"command": "metrics", "name": name, "params": params}, and as
// Go components' TaskContext.RecordMetric passes it on. params says what
// the metric is and how it changes:
//
//   - null or absent: a counter, incremented by one;
//   - an integer n >= 0: a counter, incremented by n (Storm's
//     CountShellMetric, what storm.py's rpcMetrics(name, 1) sends);
//   - {"type": "counter", "value": n}: the same, "value" defaulting to 1;
//   - {"type": "gauge", "value": x}: a gauge, set to the number x;
//   - {"type": "histogram", "value": x} or {"type": "histogram",
//     "values": [x, ...]}: a histogram, observing x >= 0 (up to
//     MaxHistogramBatch values at once).
//
// A name is registered as the kind of its first update; an update as
// another kind is refused with ErrKindMismatch. Numbers may be of any Go
// integer or float type, or json.Number. The task takes at most
// Config.MaxUserMetrics names: updates of a further name are dropped with
// ErrTooManyMetrics. Refused and dropped updates are counted
// (user-metrics-rejected, user-metrics-dropped) and the first of each
// logged as a warning, so callers need not log them.
func (t *Task) Record(name string, params any) error {
	u, err := parseUpdate(params)
	if err == nil {
		err = t.apply(name, u)
	}
	if err != nil {
		return t.refused(name, err)
	}
	return nil
}

// update is a parsed metrics command.
type update struct {
	kind   Kind
	n      int64     // counter increment
	x      float64   // gauge value, or a histogram's one value
	values []float64 // a histogram's values, if several
}

func parseUpdate(params any) (update, error) {
	switch p := params.(type) {
	case nil:
		return update{kind: KindCounter, n: 1}, nil
	case map[string]any:
		return parseUpdateObject(p)
	}
	x, ok := number(params)
	if !ok {
		return update{}, fmt.Errorf("%w: params %s: want null, a count, or an object with \"type\"", ErrBadParams, describe(params))
	}
	n, err := increment(x)
	return update{kind: KindCounter, n: n}, err
}

func parseUpdateObject(p map[string]any) (update, error) {
	var u update
	typ, _ := p["type"].(string)
	value, hasValue := p["value"]
	values, hasValues := p["values"]
	for k := range p {
		if k != "type" && k != "value" && k != "values" {
			return u, fmt.Errorf("%w: unknown key %q: want \"type\", \"value\" or \"values\"", ErrBadParams, k)
		}
	}
	switch typ {
	case "counter":
		u = update{kind: KindCounter, n: 1}
		if hasValue {
			x, ok := number(value)
			if !ok {
				return u, fmt.Errorf("%w: counter value %s: want a number", ErrBadParams, describe(value))
			}
			n, err := increment(x)
			u.n = n
			return u, err
		}
	case "gauge":
		u = update{kind: KindGauge}
		x, ok := number(value)
		if !hasValue || !ok || math.IsNaN(x) || math.IsInf(x, 0) {
			return u, fmt.Errorf("%w: gauge value %s: want a finite number", ErrBadParams, describe(value))
		}
		u.x = x
	case "histogram":
		u = update{kind: KindHistogram}
		switch {
		case hasValue == hasValues:
			return u, fmt.Errorf("%w: a histogram update needs \"value\" or \"values\", not both", ErrBadParams)
		case hasValue:
			x, err := observation(value)
			u.x = x
			return u, err
		}
		list, ok := values.([]any)
		if !ok {
			return u, fmt.Errorf("%w: histogram values %s: want a list of numbers", ErrBadParams, describe(values))
		}
		if len(list) > MaxHistogramBatch {
			return u, fmt.Errorf("%w: %d histogram values in one update, more than %d", ErrBadParams, len(list), MaxHistogramBatch)
		}
		u.values = make([]float64, len(list))
		for i, v := range list {
			x, err := observation(v)
			if err != nil {
				return u, fmt.Errorf("values[%d]: %w", i, err)
			}
			u.values[i] = x
		}
	default:
		return u, fmt.Errorf("%w: type %s: want \"counter\", \"gauge\" or \"histogram\"", ErrBadParams, describe(p["type"]))
	}
	return u, nil
}

// increment checks a counter increment: a whole number, not negative.
func increment(x float64) (int64, error) {
	if x < 0 || x != math.Trunc(x) || x >= math.MaxInt64 {
		return 0, fmt.Errorf("%w: counter increment %v: want a whole number >= 0 (a gauge goes down)", ErrBadParams, x)
	}
	return int64(x), nil
}

// observation checks a histogram value: a finite number, not negative.
func observation(v any) (float64, error) {
	x, ok := number(v)
	if !ok || !(x >= 0) || math.IsInf(x, 0) {
		return 0, fmt.Errorf("%w: histogram value %s: want a finite number >= 0", ErrBadParams, describe(v))
	}
	return x, nil
}

// number converts the numbers decoders produce to float64.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	case float32:
		return float64(n), true
	case int8:
		return float64(n), true
	case int16:
		return float64(n), true
	case int32:
		return float64(n), true
	case uint:
		return float64(n), true
	case uint8:
		return float64(n), true
	case uint16:
		return float64(n), true
	case uint32:
		return float64(n), true
	case uint64:
		return float64(n), true
	case json.Number:
		x, err := n.Float64()
		return x, err == nil
	}
	return 0, false
}

// describe quotes a value for an error message, shortly.
func describe(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%T", v)
	}
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

// checkName checks a user metric's name.
func checkName(name string) error {
	if name == "" || len(name) > MaxNameBytes || !utf8.ValidString(name) {
		return fmt.Errorf("%w: want 1 to %d bytes of UTF-8", ErrBadName, MaxNameBytes)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: control character %q", ErrBadName, r)
		}
	}
	return nil
}

// apply applies u to the user metric name.
func (t *Task) apply(name string, u update) error {
	s, err := t.user(name, u.kind)
	if err != nil {
		return err
	}
	switch u.kind {
	case KindCounter:
		s.counter.Add(u.n)
	case KindGauge:
		s.gauge.Set(u.x)
	case KindHistogram:
		if u.values == nil {
			s.hist.Observe(u.x)
		}
		for _, x := range u.values {
			s.hist.Observe(x)
		}
	}
	return nil
}

// user returns the user metric name of kind k, registering it if it is
// new and there is room.
func (t *Task) user(name string, k Kind) (*series, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	key := seriesKey{name: name, user: true}
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.series[key]
	if s == nil {
		if t.users >= t.reg.maxUser {
			return nil, fmt.Errorf("%w: the task has %d, the most it may have", ErrTooManyMetrics, t.users)
		}
		s = &series{key: key, kind: k}
		switch k {
		case KindCounter:
			s.counter = new(Counter)
		case KindGauge:
			s.gauge = new(Gauge)
		case KindHistogram:
			s.hist = new(Histogram)
		}
		t.series[key] = s
		t.order = append(t.order, s)
		t.users++
	}
	if s.kind != k {
		return nil, fmt.Errorf("%w: it is a %v, updated as a %v", ErrKindMismatch, s.kind, k)
	}
	return s, nil
}

// UserCounter returns the user counter name, registering it on first use,
// for Go components that keep it.
func (t *Task) UserCounter(name string) (*Counter, error) {
	s, err := t.user(name, KindCounter)
	if err != nil {
		return nil, t.refused(name, err)
	}
	return s.counter, nil
}

// UserGauge returns the user gauge name, registering it on first use.
func (t *Task) UserGauge(name string) (*Gauge, error) {
	s, err := t.user(name, KindGauge)
	if err != nil {
		return nil, t.refused(name, err)
	}
	return s.gauge, nil
}

// UserHistogram returns the user histogram name, registering it on first
// use.
func (t *Task) UserHistogram(name string) (*Histogram, error) {
	s, err := t.user(name, KindHistogram)
	if err != nil {
		return nil, t.refused(name, err)
	}
	return s.hist, nil
}

// refused counts a dropped or refused update, logs the first of each
// sort, and returns err with the metric and task named.
func (t *Task) refused(name string, err error) error {
	dropped := errors.Is(err, ErrTooManyMetrics)
	metric := UserMetricsRejected
	if dropped {
		metric = UserMetricsDropped
	}
	t.Counter(metric, "").Inc()
	t.mu.Lock()
	warned := &t.warnedRejected
	if dropped {
		warned = &t.warnedDropped
	}
	first := !*warned
	*warned = true
	t.mu.Unlock()
	if len(name) > MaxNameBytes {
		name = strings.ToValidUTF8(name[:MaxNameBytes], "") + "..."
	}
	err = fmt.Errorf("user metric %q of %s task %d: %w", name, t.component, t.id, err)
	if first {
		msg := "user metric update refused; further refusals are only counted"
		if dropped {
			msg = "too many user metrics; updates of further names are dropped and counted"
		}
		t.reg.log.Warn(msg, "topology", t.reg.topology, "component", t.component, "task", t.id,
			"metric", name, "limit", t.reg.maxUser, "counter", metric, "err", err)
	}
	return err
}
