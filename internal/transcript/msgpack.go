package transcript

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
)

// This file is a small MessagePack codec for JSON-like values, written
// apart from package multilang's so that replaying a transcript in
// MessagePack checks a child against an independent implementation.

// maxMsgpackLen bounds one string, binary or container read by
// ReadMsgpack and SkipMsgpack.
const maxMsgpackLen = 64 << 20

// maxMsgpackDepth bounds the nesting ReadMsgpack and SkipMsgpack accept.
const maxMsgpackDepth = 1000

// JSONToMsgpack converts one JSON value to MessagePack: integers become
// MessagePack integers, other numbers float64, strings str, objects maps
// with their keys sorted.
func JSONToMsgpack(text []byte) ([]byte, error) {
	v, err := Decode(text)
	if err != nil {
		return nil, err
	}
	return AppendMsgpack(nil, v)
}

// AppendMsgpack appends v, a JSON-like value (as Decode or encoding/json
// return them, or with Go integers and floats), to b as MessagePack.
func AppendMsgpack(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, 0xc0), nil
	case bool:
		if x {
			return append(b, 0xc3), nil
		}
		return append(b, 0xc2), nil
	case string:
		return appendMsgpackStr(b, x), nil
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return appendMsgpackInt(b, i), nil
		}
		if u, err := strconv.ParseUint(string(x), 10, 64); err == nil {
			return binary.BigEndian.AppendUint64(append(b, 0xcf), u), nil
		}
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return nil, fmt.Errorf("number %s: %w", x, err)
		}
		return binary.BigEndian.AppendUint64(append(b, 0xcb), math.Float64bits(f)), nil
	case int:
		return appendMsgpackInt(b, int64(x)), nil
	case int64:
		return appendMsgpackInt(b, x), nil
	case float64:
		return binary.BigEndian.AppendUint64(append(b, 0xcb), math.Float64bits(x)), nil
	case []any:
		b = appendMsgpackHeader(b, 0x90, 0xdc, len(x))
		for _, e := range x {
			var err error
			if b, err = AppendMsgpack(b, e); err != nil {
				return nil, err
			}
		}
		return b, nil
	case map[string]any:
		b = appendMsgpackHeader(b, 0x80, 0xde, len(x))
		for _, k := range slices.Sorted(maps.Keys(x)) {
			b = appendMsgpackStr(b, k)
			var err error
			if b, err = AppendMsgpack(b, x[k]); err != nil {
				return nil, err
			}
		}
		return b, nil
	}
	return nil, fmt.Errorf("cannot convert %T to MessagePack", v)
}

// appendMsgpackHeader appends a map or array header: fix (the fixmap or
// fixarray base) for up to 15 elements, else the 16- or 32-bit form.
func appendMsgpackHeader(b []byte, fix, x16 byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, fix|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, x16), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, x16+1), uint32(n))
}

func appendMsgpackStr(b []byte, s string) []byte {
	switch n := len(s); {
	case n < 32:
		b = append(b, 0xa0|byte(n))
	case n <= math.MaxUint8:
		b = append(b, 0xd9, byte(n))
	case n <= math.MaxUint16:
		b = binary.BigEndian.AppendUint16(append(b, 0xda), uint16(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xdb), uint32(n))
	}
	return append(b, s...)
}

func appendMsgpackInt(b []byte, i int64) []byte {
	switch {
	case i >= 0 && i <= 0x7f, i < 0 && i >= -32:
		return append(b, byte(i))
	case i >= 0 && i <= math.MaxUint8:
		return append(b, 0xcc, byte(i))
	case i >= 0 && i <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xcd), uint16(i))
	case i >= 0 && i <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(i))
	case i >= 0:
		return binary.BigEndian.AppendUint64(append(b, 0xcf), uint64(i))
	case i >= math.MinInt8:
		return append(b, 0xd0, byte(i))
	case i >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(b, 0xd1), uint16(i))
	case i >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(b, 0xd2), uint32(i))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xd3), uint64(i))
}

// MsgpackToJSON reads one MessagePack value from r and returns it as JSON
// text, for matching with MatchMessage and for failure reports.
func MsgpackToJSON(r *bufio.Reader) ([]byte, error) {
	v, err := ReadMsgpack(r)
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// ReadMsgpack reads one MessagePack value from r as a JSON-like value:
// maps (string keys) as map[string]any, arrays as []any, integers as int64
// (uint64 beyond), floats as float64, strings and binaries as string.
func ReadMsgpack(r *bufio.Reader) (any, error) {
	return readMsgpack(r, 0, false)
}

// SkipMsgpack reads one MessagePack value from r and drops it, allocating
// nothing.
func SkipMsgpack(r *bufio.Reader) error {
	_, err := readMsgpack(r, 0, true)
	return err
}

var errMsgpackNever = errors.New("byte 0xc1 is not MessagePack")

func readMsgpack(r *bufio.Reader, depth int, skip bool) (any, error) {
	if depth > maxMsgpackDepth {
		return nil, fmt.Errorf("MessagePack nested deeper than %d", maxMsgpackDepth)
	}
	c, err := r.ReadByte()
	if err != nil {
		if depth > 0 && err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	switch {
	case c <= 0x7f:
		return int64(c), nil
	case c >= 0xe0:
		return int64(int8(c)), nil
	case c <= 0x8f:
		return readMsgpackMap(r, int(c&0x0f), depth, skip)
	case c <= 0x9f:
		return readMsgpackArray(r, int(c&0x0f), depth, skip)
	case c <= 0xbf:
		return readMsgpackBytes(r, int(c&0x1f), skip)
	}
	switch c {
	case 0xc0:
		return nil, nil
	case 0xc1:
		return nil, errMsgpackNever
	case 0xc2:
		return false, nil
	case 0xc3:
		return true, nil
	case 0xc4, 0xd9:
		n, err := readMsgpackUint(r, 1)
		if err != nil {
			return nil, err
		}
		return readMsgpackBytes(r, int(n), skip)
	case 0xc5, 0xda:
		n, err := readMsgpackUint(r, 2)
		if err != nil {
			return nil, err
		}
		return readMsgpackBytes(r, int(n), skip)
	case 0xc6, 0xdb:
		n, err := readMsgpackUint(r, 4)
		if err != nil {
			return nil, err
		}
		return readMsgpackBytes(r, int(n), skip)
	case 0xca:
		u, err := readMsgpackUint(r, 4)
		return float64(math.Float32frombits(uint32(u))), err
	case 0xcb:
		u, err := readMsgpackUint(r, 8)
		return math.Float64frombits(u), err
	case 0xcc, 0xcd, 0xce:
		u, err := readMsgpackUint(r, 1<<(c-0xcc))
		return int64(u), err
	case 0xcf:
		u, err := readMsgpackUint(r, 8)
		if u > math.MaxInt64 {
			return u, err
		}
		return int64(u), err
	case 0xd0:
		u, err := readMsgpackUint(r, 1)
		return int64(int8(u)), err
	case 0xd1:
		u, err := readMsgpackUint(r, 2)
		return int64(int16(u)), err
	case 0xd2:
		u, err := readMsgpackUint(r, 4)
		return int64(int32(u)), err
	case 0xd3:
		u, err := readMsgpackUint(r, 8)
		return int64(u), err
	case 0xdc, 0xdd:
		n, err := readMsgpackUint(r, 2<<(c-0xdc))
		if err != nil {
			return nil, err
		}
		return readMsgpackArray(r, int(n), depth, skip)
	case 0xde, 0xdf:
		n, err := readMsgpackUint(r, 2<<(c-0xde))
		if err != nil {
			return nil, err
		}
		return readMsgpackMap(r, int(n), depth, skip)
	}
	return nil, fmt.Errorf("MessagePack extension 0x%02x is not supported here", c)
}

func readMsgpackUint(r *bufio.Reader, size int) (uint64, error) {
	var buf [8]byte
	if _, err := io.ReadFull(r, buf[8-size:]); err != nil {
		return 0, noEOF(err)
	}
	return binary.BigEndian.Uint64(buf[:]), nil
}

func readMsgpackBytes(r *bufio.Reader, n int, skip bool) (any, error) {
	if n > maxMsgpackLen {
		return nil, fmt.Errorf("MessagePack string of %d bytes", n)
	}
	if skip {
		_, err := r.Discard(n)
		return nil, noEOF(err)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, noEOF(err)
	}
	return string(b), nil
}

func readMsgpackArray(r *bufio.Reader, n, depth int, skip bool) (any, error) {
	if n > maxMsgpackLen {
		return nil, fmt.Errorf("MessagePack array of %d elements", n)
	}
	var arr []any
	if !skip {
		arr = make([]any, 0, min(n, 1024))
	}
	for range n {
		v, err := readMsgpack(r, depth+1, skip)
		if err != nil {
			return nil, noEOF(err)
		}
		if !skip {
			arr = append(arr, v)
		}
	}
	if skip {
		return nil, nil
	}
	return arr, nil
}

func readMsgpackMap(r *bufio.Reader, n, depth int, skip bool) (any, error) {
	if n > maxMsgpackLen {
		return nil, fmt.Errorf("MessagePack map of %d entries", n)
	}
	var m map[string]any
	if !skip {
		m = make(map[string]any, min(n, 1024))
	}
	for range n {
		k, err := readMsgpack(r, depth+1, skip)
		if err != nil {
			return nil, noEOF(err)
		}
		v, err := readMsgpack(r, depth+1, skip)
		if err != nil {
			return nil, noEOF(err)
		}
		if skip {
			continue
		}
		key, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("MessagePack map key %v is not a string", k)
		}
		m[key] = v
	}
	if skip {
		return nil, nil
	}
	return m, nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
