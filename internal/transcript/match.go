package transcript

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/big"
	"regexp"
	"slices"
	"strconv"
)

// Wildcard is the expected string that matches any value.
const Wildcard = "*"

// Normalize rewrites a child-to-host message in place into its canonical
// spelling, so that equivalent spellings the spec allows compare equal:
//
//   - emit: missing or null "stream" becomes "default"; missing or null
//     "anchors" becomes []; a single anchor string becomes a one-element
//     list; missing or null "need_task_ids" becomes true; null "task" and
//     null "id" are removed.
//   - log: missing "level" becomes 2.
//
// Other messages are left as they are.
func Normalize(msg map[string]any) {
	switch msg["command"] {
	case "emit":
		if msg["stream"] == nil {
			msg["stream"] = "default"
		}
		switch a := msg["anchors"].(type) {
		case nil:
			msg["anchors"] = []any{}
		case string:
			msg["anchors"] = []any{a}
		}
		if msg["need_task_ids"] == nil {
			msg["need_task_ids"] = true
		}
		for _, k := range []string{"task", "id"} {
			if v, ok := msg[k]; ok && v == nil {
				delete(msg, k)
			}
		}
	case "log":
		if _, ok := msg["level"]; !ok {
			msg["level"] = json.Number("2")
		}
	}
}

// MatchMessage decodes an expected and an actual child-to-host message,
// normalizes both and matches them (see Match).
func MatchMessage(expected, actual []byte) error {
	want, err := Decode(expected)
	if err != nil {
		return fmt.Errorf("expected message: %w", err)
	}
	got, err := Decode(actual)
	if err != nil {
		return fmt.Errorf("actual message: %w", err)
	}
	if m, ok := want.(map[string]any); ok {
		Normalize(m)
	}
	if m, ok := got.(map[string]any); ok {
		Normalize(m)
	}
	return Match(want, got)
}

// Match reports the first difference between expected and actual, JSON-like
// values as Decode or encoding/json return them, or nil if they match.
//
// Objects match when they have the same keys and matching values, arrays
// when they have the same length and matching elements. The expected string
// "*" matches any value, but an object key it stands for must be present.
// Numbers match by value whatever their Go type or spelling. The error names
// the path of the difference, e.g. `$.anchors[0]: got "8", want "7"`.
func Match(expected, actual any) error {
	return match("$", expected, actual)
}

func match(path string, want, got any) error {
	if s, ok := want.(string); ok && s == Wildcard {
		return nil
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return mismatch(path, got, want)
		}
		for _, k := range sortedKeys(w) {
			gv, ok := g[k]
			if !ok {
				return fmt.Errorf("%s: missing, want %s", keyPath(path, k), show(w[k]))
			}
			if err := match(keyPath(path, k), w[k], gv); err != nil {
				return err
			}
		}
		for _, k := range sortedKeys(g) {
			if _, ok := w[k]; !ok {
				return fmt.Errorf("%s: unexpected key, got %s", keyPath(path, k), show(g[k]))
			}
		}
		return nil
	case []any:
		g, ok := got.([]any)
		if !ok {
			return mismatch(path, got, want)
		}
		for i := 0; i < len(w) && i < len(g); i++ {
			if err := match(path+"["+strconv.Itoa(i)+"]", w[i], g[i]); err != nil {
				return err
			}
		}
		if len(w) != len(g) {
			return fmt.Errorf("%s: got %d elements %s, want %d elements %s", path, len(g), show(got), len(w), show(want))
		}
		return nil
	}
	if wn, ok := number(want); ok {
		if gn, ok := number(got); ok && wn.Cmp(gn) == 0 {
			return nil
		}
		return mismatch(path, got, want)
	}
	switch w := want.(type) {
	case string, bool, nil:
		if got == w {
			return nil
		}
		return mismatch(path, got, want)
	}
	return fmt.Errorf("%s: unsupported expected value of type %T", path, want)
}

// number returns v as an exact rational if it is a number.
func number(v any) (*big.Rat, bool) {
	var s string
	switch n := v.(type) {
	case json.Number:
		s = n.String()
	case float64:
		return new(big.Rat).SetFloat64(n), true
	case float32:
		return new(big.Rat).SetFloat64(float64(n)), true
	case int:
		return new(big.Rat).SetInt64(int64(n)), true
	case int64:
		return new(big.Rat).SetInt64(n), true
	case int32:
		return new(big.Rat).SetInt64(int64(n)), true
	case uint64:
		return new(big.Rat).SetFrac(new(big.Int).SetUint64(n), big.NewInt(1)), true
	default:
		return nil, false
	}
	r, ok := new(big.Rat).SetString(s)
	return r, ok
}

func mismatch(path string, got, want any) error {
	return fmt.Errorf("%s: got %s, want %s", path, show(got), show(want))
}

// show renders v as compact JSON for error messages.
func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	const max = 200
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func keyPath(path, key string) string {
	if identifier.MatchString(key) {
		return path + "." + key
	}
	return path + "[" + strconv.Quote(key) + "]"
}

func sortedKeys(m map[string]any) []string {
	return slices.Sorted(maps.Keys(m))
}
