package window

import (
	"errors"
	"fmt"
	"math"
)

// ErrBadTimestamp: a tuple's timestamp field is missing or not an integral
// number of milliseconds.
var ErrBadTimestamp = errors.New("bad tuple timestamp")

// Timestamp returns the event time held in a tuple's timestamp field:
// milliseconds since the epoch, as an integer (Storm reads a long). Any
// integer type and integral floats are accepted, as JSON and msgpack
// decoding give them; nothing else is.
func Timestamp(v any) (int64, error) {
	switch n := v.(type) {
	case int64:
		return n, nil
	case int:
		return int64(n), nil
	case int32:
		return int64(n), nil
	case int16:
		return int64(n), nil
	case int8:
		return int64(n), nil
	case uint64:
		if n > math.MaxInt64 {
			return 0, fmt.Errorf("%w: %d is out of range", ErrBadTimestamp, n)
		}
		return int64(n), nil
	case uint:
		if uint64(n) > math.MaxInt64 {
			return 0, fmt.Errorf("%w: %d is out of range", ErrBadTimestamp, n)
		}
		return int64(n), nil
	case uint32:
		return int64(n), nil
	case uint16:
		return int64(n), nil
	case uint8:
		return int64(n), nil
	case float64:
		if n != math.Trunc(n) || math.Abs(n) > 1<<53 {
			return 0, fmt.Errorf("%w: %v is not an integral number of milliseconds", ErrBadTimestamp, n)
		}
		return int64(n), nil
	case float32:
		return Timestamp(float64(n))
	case interface{ Int64() (int64, error) }: // json.Number
		i, err := n.Int64()
		if err != nil {
			return 0, fmt.Errorf("%w: %v", ErrBadTimestamp, err)
		}
		return i, nil
	case nil:
		return 0, fmt.Errorf("%w: the field is null", ErrBadTimestamp)
	}
	return 0, fmt.Errorf("%w: %v (%T) is not a number of milliseconds", ErrBadTimestamp, v, v)
}
