package topology

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
)

// Args are the arguments YAML hands a Go component's or grouping's factory
// (`args:` in native YAML, `constructorArgs` named by a class alias in
// Flux). The accessors return the default for an absent or null key and
// record an error, naming the key, for a value of the wrong type; the
// factory checks Err once at the end:
//
//	path := args.String("path", "")
//	limit := args.Int("limit", 0)
//	args.Require("path")
//	if err := args.Err(); err != nil {
//		return nil, err
//	}
//
// The loader also rejects keys that no accessor read, so a misspelt
// argument is an error rather than silently ignored. Args is not safe for
// concurrent use; each factory call gets its own.
type Args struct {
	m map[string]any
	// st is shared by copies of the Args value.
	st *argState
}

type argState struct {
	used map[string]bool
	errs []error
}

// NewArgs returns Args over m, which it does not modify.
func NewArgs(m map[string]any) Args {
	return Args{m: m, st: &argState{used: make(map[string]bool)}}
}

func (a Args) state() *argState {
	if a.st == nil {
		// The zero Args behaves as empty; its errors are not recorded.
		return &argState{used: make(map[string]bool)}
	}
	return a.st
}

func (a Args) get(key string) (any, bool) {
	a.state().used[key] = true
	v, ok := a.m[key]
	return v, ok && v != nil
}

func (a Args) fail(key string, v any, want string) {
	st := a.state()
	st.errs = append(st.errs, fmt.Errorf("%w: %s = %s is not %s", ErrBadArgs, key, quoteValue(v), want))
}

// Has reports whether key is set to a non-null value. It counts as reading
// the key.
func (a Args) Has(key string) bool {
	_, ok := a.get(key)
	return ok
}

// Require records an error for each key that is absent or null.
func (a Args) Require(keys ...string) {
	for _, k := range keys {
		if !a.Has(k) {
			st := a.state()
			st.errs = append(st.errs, fmt.Errorf("%w: %s is required", ErrBadArgs, k))
		}
	}
}

// String returns the string value of key. Numbers and booleans are
// accepted and formatted, since YAML reads `name: 123` as a number.
func (a Args) String(key, def string) string {
	v, ok := a.get(key)
	if !ok {
		return def
	}
	switch s := v.(type) {
	case string:
		return s
	case int, int64, uint64, float64, bool:
		return fmt.Sprint(s)
	}
	a.fail(key, v, "a string")
	return def
}

// Int returns the integer value of key.
func (a Args) Int(key string, def int) int {
	v, ok := a.get(key)
	if !ok {
		return def
	}
	n, err := toInt(v)
	if err != nil {
		a.fail(key, v, "an integer")
		return def
	}
	return n
}

// Int64 returns the 64-bit integer value of key.
func (a Args) Int64(key string, def int64) int64 {
	v, ok := a.get(key)
	if !ok {
		return def
	}
	switch n := v.(type) {
	case int64:
		return n
	case uint64:
		return int64(n)
	}
	n, err := toInt(v)
	if err != nil {
		a.fail(key, v, "an integer")
		return def
	}
	return int64(n)
}

// Float returns the numeric value of key.
func (a Args) Float(key string, def float64) float64 {
	v, ok := a.get(key)
	if !ok {
		return def
	}
	f, err := toFloat(v)
	if err != nil {
		a.fail(key, v, "a number")
		return def
	}
	return f
}

// Bool returns the boolean value of key; "true" and "false" strings are
// accepted.
func (a Args) Bool(key string, def bool) bool {
	v, ok := a.get(key)
	if !ok {
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
	a.fail(key, v, "a boolean")
	return def
}

// Strings returns the list-of-strings value of key. A single string is
// accepted as a list of one.
func (a Args) Strings(key string, def []string) []string {
	v, ok := a.get(key)
	if !ok {
		return def
	}
	switch l := v.(type) {
	case string:
		return []string{l}
	case []string:
		return slices.Clone(l)
	case []any:
		out := make([]string, len(l))
		for i, e := range l {
			s, ok := e.(string)
			if !ok {
				a.fail(key, v, "a list of strings")
				return def
			}
			out[i] = s
		}
		return out
	}
	a.fail(key, v, "a list of strings")
	return def
}

// Any returns the raw value of key, nil if absent.
func (a Args) Any(key string) any {
	v, _ := a.get(key)
	return v
}

// Map returns a copy of all arguments. It counts as reading every key.
func (a Args) Map() map[string]any {
	for k := range a.m {
		a.state().used[k] = true
	}
	return maps.Clone(a.m)
}

// Err returns the errors recorded by the accessors, joined, or nil.
func (a Args) Err() error {
	if a.st == nil {
		return nil
	}
	return errors.Join(a.st.errs...)
}

// Unused returns, sorted, the keys that no accessor has read.
func (a Args) Unused() []string {
	var out []string
	for k := range a.m {
		if !a.state().used[k] {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// read returns the keys the accessors asked for, present or not.
func (a Args) read() []string {
	keys := slices.Collect(maps.Keys(a.state().used))
	slices.Sort(keys)
	return keys
}
