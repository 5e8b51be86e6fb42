package worker

import (
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
)

// FNV-1a, 64 bit.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// valueHash hashes a canonical encoding of tuple values, so that equal
// values hash equally in every process and whatever Go integer type (or
// language) produced them: fields grouping sends a key to the same task
// from every worker.
type valueHash uint64

func newValueHash(seed uint64) valueHash { return valueHash(fnvOffset ^ seed) }

func (h *valueHash) byte(b byte) { *h = (*h ^ valueHash(b)) * fnvPrime }

func (h *valueHash) uint64(v uint64) {
	for i := 0; i < 8; i++ {
		h.byte(byte(v >> (8 * i)))
	}
}

func (h *valueHash) string(s string) {
	h.uint64(uint64(len(s)))
	for i := 0; i < len(s); i++ {
		h.byte(s[i])
	}
}

// Type tags of the canonical encoding.
const (
	tagNil = iota
	tagBool
	tagInt
	tagUint
	tagFloat
	tagString
	tagBytes
	tagList
	tagMap
	tagOther
)

func (h *valueHash) value(v any) {
	switch x := v.(type) {
	case nil:
		h.byte(tagNil)
	case string:
		h.byte(tagString)
		h.string(x)
	case int64:
		h.int(x)
	case int:
		h.int(int64(x))
	case int32:
		h.int(int64(x))
	case int16:
		h.int(int64(x))
	case int8:
		h.int(int64(x))
	case uint64:
		if x <= math.MaxInt64 {
			h.int(int64(x))
		} else {
			h.byte(tagUint)
			h.uint64(x)
		}
	case uint:
		h.value(uint64(x))
	case uint32:
		h.int(int64(x))
	case uint16:
		h.int(int64(x))
	case uint8:
		h.int(int64(x))
	case bool:
		h.byte(tagBool)
		if x {
			h.byte(1)
		} else {
			h.byte(0)
		}
	case float64:
		h.float(x)
	case float32:
		h.float(float64(x))
	case []byte:
		h.byte(tagBytes)
		h.string(string(x))
	case []any:
		h.byte(tagList)
		h.uint64(uint64(len(x)))
		for _, e := range x {
			h.value(e)
		}
	case []string:
		h.byte(tagList)
		h.uint64(uint64(len(x)))
		for _, e := range x {
			h.value(e)
		}
	case map[string]any:
		h.byte(tagMap)
		h.uint64(uint64(len(x)))
		for _, k := range slices.Sorted(maps.Keys(x)) {
			h.string(k)
			h.value(x[k])
		}
	default:
		// Rare: a Go type of the user's. Its printed form with its type
		// name is stable across processes of the same binary.
		h.byte(tagOther)
		h.string(reflect.TypeOf(v).String() + ":" + fmt.Sprint(v))
	}
}

func (h *valueHash) int(i int64) {
	h.byte(tagInt)
	h.uint64(uint64(i))
}

func (h *valueHash) float(f float64) {
	if f == 0 {
		f = 0 // -0 and +0 are one key
	}
	h.byte(tagFloat)
	h.uint64(math.Float64bits(f))
}

// hashFields hashes the values at the given indexes.
func hashFields(values []any, idx []int, seed uint64) uint64 {
	h := newValueHash(seed)
	for _, i := range idx {
		h.value(values[i])
	}
	// FNV's low bits mix poorly; fold the high half in before the modulo.
	return uint64(h) ^ uint64(h)>>32
}
