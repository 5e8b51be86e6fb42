package topology

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// stormKind is the type Storm's ConfigValidation demands of a key.
type stormKind uint8

const (
	stormAny             stormKind = iota // checked by a Storm validator squall does not mirror
	stormString                           // @IsString, a class name
	stormBool                             // @IsBoolean: true or false, not "true"
	stormInt                              // @IsInteger: a whole number within 32 bits
	stormLong                             // @IsLong: a whole number
	stormNumber                           // @IsNumber
	stormUnitInterval                     // a number strictly between 0 and 1
	stormStrings                          // @IsStringList
	stormStringOrStrings                  // @IsStringOrStringList
	stormIntList                          // a list of positive integers (supervisor.slots.ports)
	stormList                             // a list whose entries Storm checks itself
	stormMap                              // a map
	stormStringMap                        // a map of strings to strings
	stormNumberMap                        // a map of strings to numbers
)

// stormSign is @IsPositiveNumber's bound.
type stormSign uint8

const (
	anySign     stormSign = iota
	positive              // > 0
	nonNegative           // >= 0 (includeZero)
)

// stormKey is Storm's rule for one configuration key.
type stormKey struct {
	kind    stormKind
	sign    stormSign
	notNull bool
	// oneOf lists the accepted strings, when Storm restricts them.
	oneOf []string
	// daemon: a key of Storm's DaemonConfig (storm.yaml of the daemons)
	// rather than of Config.
	daemon bool
}

// want describes what the rule accepts, for messages: "an integer > 0".
func (k stormKey) want() string {
	var s string
	switch k.kind {
	case stormString:
		s = "a string"
		if len(k.oneOf) > 0 {
			s = "one of " + strings.Join(k.oneOf, ", ")
		}
	case stormBool:
		s = "a boolean (true or false, unquoted)"
	case stormInt:
		s = "an integer"
	case stormLong:
		s = "a whole number"
	case stormNumber:
		s = "a number"
	case stormUnitInterval:
		s = "a number between 0 and 1 (exclusive)"
	case stormStrings:
		s = "a list of strings"
	case stormStringOrStrings:
		s = "a string or a list of strings"
	case stormIntList:
		s = "a list of positive integers"
	case stormList:
		s = "a list"
	case stormMap:
		s = "a map"
	case stormStringMap:
		s = "a map of strings to strings"
	case stormNumberMap:
		s = "a map of strings to numbers"
	default:
		s = "a value"
	}
	switch k.sign {
	case positive:
		s += " > 0"
	case nonNegative:
		s += " >= 0"
	}
	if k.notNull {
		s += ", not null"
	}
	return s
}

// accepts reports whether Storm's ConfigValidation accepts v, a value as
// YAML or JSON decoding produces it. Like Storm, it does not convert: the
// string "30" is not an integer, nor "true" a boolean.
func (k stormKey) accepts(v any) bool {
	if v == nil {
		return !k.notNull
	}
	ok := false
	switch k.kind {
	case stormAny:
		ok = true
	case stormString:
		s, isString := v.(string)
		ok = isString && (len(k.oneOf) == 0 || slices.Contains(k.oneOf, s))
	case stormBool:
		_, ok = v.(bool)
	case stormInt:
		n, isNum := stormNumberOf(v)
		ok = isNum && n == math.Trunc(n) && n >= math.MinInt32 && n <= math.MaxInt32
	case stormLong:
		n, isNum := stormNumberOf(v)
		ok = isNum && n == math.Trunc(n) && !math.IsInf(n, 0)
	case stormNumber:
		_, ok = stormNumberOf(v)
	case stormUnitInterval:
		n, isNum := stormNumberOf(v)
		ok = isNum && n > 0 && n < 1
	case stormStrings:
		ok = allOf(v, func(e any) bool { _, s := e.(string); return s })
	case stormStringOrStrings:
		_, isString := v.(string)
		ok = isString || allOf(v, func(e any) bool { _, s := e.(string); return s })
	case stormIntList:
		ok = allOf(v, func(e any) bool {
			n, isNum := stormNumberOf(e)
			return isNum && n == math.Trunc(n) && n > 0 && n <= math.MaxInt32
		})
	case stormList:
		ok = allOf(v, func(any) bool { return true })
	case stormMap:
		ok = allValues(v, func(any) bool { return true })
	case stormStringMap:
		ok = allValues(v, func(e any) bool { _, s := e.(string); return s })
	case stormNumberMap:
		ok = allValues(v, func(e any) bool { _, n := stormNumberOf(e); return n })
	}
	if !ok {
		return false
	}
	if k.sign != anySign && k.kind != stormIntList {
		n, isNum := stormNumberOf(v)
		if !isNum || k.sign == positive && n <= 0 || k.sign == nonNegative && n < 0 {
			return false
		}
	}
	return true
}

// stormNumberOf returns v as a float64 if it is a number (Java's Number).
func stormNumberOf(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case int32:
		return float64(n), true
	case uint64:
		return float64(n), true
	case float64:
		return n, true
	case float32:
		return float64(n), true
	}
	return 0, false
}

func allOf(v any, f func(any) bool) bool {
	switch l := v.(type) {
	case []any:
		for _, e := range l {
			if !f(e) {
				return false
			}
		}
		return true
	case []string:
		for _, e := range l {
			if !f(e) {
				return false
			}
		}
		return true
	}
	return false
}

func allValues(v any, f func(any) bool) bool {
	switch m := v.(type) {
	case map[string]any:
		for _, e := range m {
			if !f(e) {
				return false
			}
		}
		return true
	case Config:
		return allValues(map[string]any(m), f)
	case map[string]string:
		for _, e := range m {
			if !f(e) {
				return false
			}
		}
		return true
	}
	return false
}

// StormConfigError is a configuration value Storm's ConfigValidation
// would refuse at submit. It wraps ErrBadConfig when squall would run with
// a value that makes no sense, ErrStormRefuses when squall accepts it.
type StormConfigError struct {
	Key   string
	Value any
	// Want says what Storm accepts, e.g. "an integer > 0".
	Want string
	// Accepted is set when squall itself accepts the value.
	Accepted bool
}

func (e *StormConfigError) Error() string {
	if e.Accepted {
		return fmt.Sprintf("%v: %s = %s: Storm wants %s; squall accepts it, but the topology would not run on Storm", ErrStormRefuses, e.Key, quoteValue(e.Value), e.Want)
	}
	return fmt.Sprintf("%v: %s = %s is not %s (Storm refuses it at submit)", ErrBadConfig, e.Key, quoteValue(e.Value), e.Want)
}

func (e *StormConfigError) Unwrap() error {
	if e.Accepted {
		return ErrStormRefuses
	}
	return ErrBadConfig
}
