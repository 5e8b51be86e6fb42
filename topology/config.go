package topology

import (
	"fmt"
	"maps"
	"math"
	"strconv"
	"time"
)

// Config holds configuration under Storm's key names ("topology.workers",
// "topology.message.timeout.secs", ...). Values are what YAML or JSON
// decoding produces: numbers, strings, bools, lists and maps. Unknown keys
// are kept, as Storm keeps them.
type Config map[string]any

// Merge returns a new Config with over's keys laid over c's.
func (c Config) Merge(over Config) Config {
	out := make(Config, len(c)+len(over))
	maps.Copy(out, c)
	maps.Copy(out, over)
	return out
}

// Int returns the integer value of key, def if the key is unset or null.
// It panics if the value is not an integer; validation (CheckConfig) makes
// sure known keys have the right type before anything runs.
func (c Config) Int(key string, def int) int {
	v, ok := c[key]
	if !ok || v == nil {
		return def
	}
	n, err := toInt(v)
	if err != nil {
		panic(fmt.Sprintf("config %s: %v", key, err))
	}
	return n
}

// IntOK returns the integer value of key and whether it is set (non-null).
func (c Config) IntOK(key string) (int, bool) {
	v, ok := c[key]
	if !ok || v == nil {
		return 0, false
	}
	return c.Int(key, 0), true
}

// Bool returns the boolean value of key, def if unset or null.
func (c Config) Bool(key string, def bool) bool {
	v, ok := c[key]
	if !ok || v == nil {
		return def
	}
	switch b := v.(type) {
	case bool:
		return b
	case string:
		if p, err := strconv.ParseBool(b); err == nil {
			return p
		}
	}
	panic(fmt.Sprintf("config %s: %v is not a boolean", key, v))
}

// String returns the string value of key, def if unset or null.
func (c Config) String(key, def string) string {
	v, ok := c[key]
	if !ok || v == nil {
		return def
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// Float returns the numeric value of key, def if unset or null.
func (c Config) Float(key string, def float64) float64 {
	v, ok := c[key]
	if !ok || v == nil {
		return def
	}
	f, err := toFloat(v)
	if err != nil {
		panic(fmt.Sprintf("config %s: %v", key, err))
	}
	return f
}

// Seconds returns a duration given in seconds under key, def if unset.
func (c Config) Seconds(key string, def time.Duration) time.Duration {
	v, ok := c[key]
	if !ok || v == nil {
		return def
	}
	f, err := toFloat(v)
	if err != nil {
		panic(fmt.Sprintf("config %s: %v", key, err))
	}
	return time.Duration(f * float64(time.Second))
}

func toInt(v any) (int, error) {
	switch n := v.(type) {
	case int:
		return n, nil
	case int64:
		return int(n), nil
	case int32:
		return int(n), nil
	case uint64:
		if n > math.MaxInt64 {
			return 0, fmt.Errorf("%d is out of range", n)
		}
		return int(n), nil
	case float64:
		if n != math.Trunc(n) || math.IsInf(n, 0) {
			return 0, fmt.Errorf("%v is not an integer", n)
		}
		return int(n), nil
	case string:
		i, err := strconv.Atoi(n)
		if err != nil {
			return 0, fmt.Errorf("%q is not an integer", n)
		}
		return i, nil
	case interface{ Int64() (int64, error) }: // json.Number
		i, err := n.Int64()
		return int(i), err
	}
	return 0, fmt.Errorf("%v (%T) is not an integer", v, v)
}

func toFloat(v any) (float64, error) {
	switch n := v.(type) {
	case float64:
		return n, nil
	case string:
		f, err := strconv.ParseFloat(n, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number", n)
		}
		return f, nil
	}
	i, err := toInt(v)
	return float64(i), err
}
