package transcript

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/vmihailenco/msgpack/v5"
)

// MessagePack in transcripts goes through vmihailenco/msgpack, a library
// written apart from package multilang's codec, so that replaying a
// transcript in MessagePack checks squall's codec and every adapter
// against an independent implementation of the format.

// maxMsgpackValue bounds the bytes of one value ReadMsgpack or SkipMsgpack
// reads, so that a broken child costs bounded memory.
const maxMsgpackValue = 64 << 20

// JSONToMsgpack converts one JSON value to MessagePack: integers become
// MessagePack integers in their smallest form, other numbers float64,
// strings str, objects maps with their keys sorted.
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
	v, err := fromJSONNumbers(v)
	if err != nil {
		return nil, err
	}
	buf := bytes.NewBuffer(b)
	e := msgpack.GetEncoder()
	defer msgpack.PutEncoder(e)
	e.Reset(buf)
	e.UseCompactInts(true)
	e.SetSortMapKeys(true)
	if err := e.Encode(v); err != nil {
		return nil, fmt.Errorf("encode MessagePack: %w", err)
	}
	return buf.Bytes(), nil
}

// fromJSONNumbers returns v with its json.Numbers as int64, uint64 beyond,
// or float64 if not integers. Containers are copied, never changed.
func fromJSONNumbers(v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i, nil
		}
		if u, err := strconv.ParseUint(string(x), 10, 64); err == nil {
			return u, nil
		}
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return nil, fmt.Errorf("number %s: %w", x, err)
		}
		return f, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			var err error
			if out[i], err = fromJSONNumbers(e); err != nil {
				return nil, err
			}
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			var err error
			if out[k], err = fromJSONNumbers(e); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return v, nil
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
// (uint64 beyond), floats as float64, strings and binaries as string. At a
// clean end of r it returns io.EOF, inside a value io.ErrUnexpectedEOF.
func ReadMsgpack(r *bufio.Reader) (any, error) {
	d, err := msgpackDecoder(r)
	if err != nil {
		return nil, err
	}
	defer msgpack.PutDecoder(d)
	// The library's generic decoding allocates as many elements as an
	// array or map header claims (v5.4.1): pass over the value first,
	// keeping its bytes, so that a header claiming more elements than
	// follow meets the end of the data instead.
	raw, err := d.DecodeRaw()
	if err != nil {
		return nil, msgpackError(err)
	}
	d.Reset(bytes.NewReader(raw))
	d.UseLooseInterfaceDecoding(true)
	v, err := d.DecodeInterfaceLoose()
	if err != nil {
		return nil, fmt.Errorf("decode MessagePack: %w", err)
	}
	return smallIntegers(v), nil
}

// SkipMsgpack reads one MessagePack value from r and drops it.
func SkipMsgpack(r *bufio.Reader) error {
	d, err := msgpackDecoder(r)
	if err != nil {
		return err
	}
	defer msgpack.PutDecoder(d)
	return msgpackError(d.Skip())
}

// msgpackDecoder returns a pooled decoder reading at most one value's
// worth of r, or io.EOF if r is at its end.
func msgpackDecoder(r *bufio.Reader) (*msgpack.Decoder, error) {
	if _, err := r.Peek(1); err != nil {
		return nil, err
	}
	d := msgpack.GetDecoder()
	d.Reset(&limitedScanner{r: r, n: maxMsgpackValue})
	return d, nil
}

var errMsgpackTooLarge = fmt.Errorf("MessagePack value larger than %d bytes", maxMsgpackValue)

// msgpackError reports the end of the data inside a value as
// io.ErrUnexpectedEOF: a value had begun.
func msgpackError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, io.EOF):
		return io.ErrUnexpectedEOF
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, errMsgpackTooLarge):
		return err
	}
	return fmt.Errorf("decode MessagePack: %w", err)
}

// smallIntegers turns the uint64s the library decodes non-negative
// integers to into int64 where they fit, as JSON decoding would.
func smallIntegers(v any) any {
	switch x := v.(type) {
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x)
		}
	case []any:
		for i, e := range x {
			x[i] = smallIntegers(e)
		}
	case map[string]any:
		for k, e := range x {
			x[k] = smallIntegers(e)
		}
	}
	return v
}

// limitedScanner reads at most n more bytes of r. It is an io.ByteScanner,
// so the library reads r directly, never beyond the value.
type limitedScanner struct {
	r *bufio.Reader
	n int
}

func (l *limitedScanner) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errMsgpackTooLarge
	}
	k, err := l.r.Read(p[:min(len(p), l.n)])
	l.n -= k
	return k, err
}

func (l *limitedScanner) ReadByte() (byte, error) {
	if l.n <= 0 {
		return 0, errMsgpackTooLarge
	}
	b, err := l.r.ReadByte()
	if err == nil {
		l.n--
	}
	return b, err
}

func (l *limitedScanner) UnreadByte() error {
	err := l.r.UnreadByte()
	if err == nil {
		l.n++
	}
	return err
}
