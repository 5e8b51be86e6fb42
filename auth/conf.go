package auth

import (
	"fmt"
	"strconv"
)

// Getters for the security keys. They return errors naming the key rather
// than panicking, since these keys are not in topology.KnownKeys.

func confString(conf map[string]any, key string) (string, error) {
	v, ok := conf[key]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("config %s: %v (%T) is not a string", key, v, v)
	}
	return s, nil
}

func confBool(conf map[string]any, key string, def bool) (bool, error) {
	v, ok := conf[key]
	if !ok || v == nil {
		return def, nil
	}
	switch b := v.(type) {
	case bool:
		return b, nil
	case string:
		if p, err := strconv.ParseBool(b); err == nil {
			return p, nil
		}
	}
	return false, fmt.Errorf("config %s: %v (%T) is not a boolean", key, v, v)
}

// confStrings reads a list of strings; a single string is a list of one,
// as Storm's ObjectReader.getStrings reads it.
func confStrings(conf map[string]any, key string) ([]string, error) {
	v, ok := conf[key]
	if !ok || v == nil {
		return nil, nil
	}
	switch l := v.(type) {
	case string:
		return []string{l}, nil
	case []string:
		return append([]string(nil), l...), nil
	case []any:
		out := make([]string, 0, len(l))
		for _, e := range l {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("config %s: element %v (%T) is not a string", key, e, e)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("config %s: %v (%T) is not a list of strings", key, v, v)
}
