package topology

import (
	"errors"
	"maps"
	"slices"
	"strconv"
)

func (k ValueKind) String() string {
	switch k {
	case KindInt:
		return "an integer"
	case KindNumber:
		return "a number"
	case KindBool:
		return "a boolean"
	case KindString:
		return "a string"
	case KindStringList:
		return "a list of strings"
	case KindIntList:
		return "a list of integers"
	case KindMap:
		return "a map"
	}
	return "unknown kind " + strconv.Itoa(int(k))
}

// CheckConfig type-checks the keys of c that squall knows (KnownKeys), so
// that Config's getters never panic on them later. Unknown keys and null
// values pass, as in Storm. A value is accepted when the getter for its
// kind accepts it: an integer may be given as an integral float or a
// numeric string, a boolean as "true"/"false". The error joins one
// *ConfigError per bad key, in key order.
func CheckConfig(c Config) error {
	errs := configErrors(c)
	joined := make([]error, len(errs))
	for i, e := range errs {
		joined[i] = e
	}
	return errors.Join(joined...)
}

func configErrors(c Config) []*ConfigError {
	var errs []*ConfigError
	for _, key := range slices.Sorted(maps.Keys(c)) {
		spec, ok := KnownKeys[key]
		v := c[key]
		if !ok || v == nil || checkKind(v, spec.Kind) {
			continue
		}
		errs = append(errs, &ConfigError{Key: key, Value: v, Want: spec.Kind})
	}
	return errs
}

func checkKind(v any, kind ValueKind) bool {
	switch kind {
	case KindInt:
		_, err := toInt(v)
		return err == nil
	case KindNumber:
		_, err := toFloat(v)
		return err == nil
	case KindBool:
		switch b := v.(type) {
		case bool:
			return true
		case string:
			_, err := strconv.ParseBool(b)
			return err == nil
		}
		return false
	case KindString:
		_, ok := v.(string)
		return ok
	case KindStringList:
		switch l := v.(type) {
		case []string:
			return true
		case []any:
			for _, e := range l {
				if _, ok := e.(string); !ok {
					return false
				}
			}
			return true
		}
		return false
	case KindIntList:
		switch l := v.(type) {
		case []int:
			return true
		case []any:
			for _, e := range l {
				if _, err := toInt(e); err != nil {
					return false
				}
			}
			return true
		}
		return false
	case KindMap:
		switch v.(type) {
		case map[string]any, map[string]string, Config:
			return true
		}
		return false
	}
	return false
}
