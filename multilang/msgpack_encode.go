package multilang

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// MsgpackEncoder writes pystorm's MessagePack framing of the multilang
// protocol: each message is one MessagePack map (a task-id reply an array),
// strings as str, []byte as bin, floats as float64 (float32 as float32),
// integers in their smallest form, map keys sorted. Messages accumulate in a
// buffer until Flush. It is not safe for concurrent use.
type MsgpackEncoder struct {
	w   io.Writer
	buf []byte
}

// NewMsgpackEncoder returns an encoder writing to w.
func NewMsgpackEncoder(w io.Writer) *MsgpackEncoder {
	return &MsgpackEncoder{w: w, buf: make([]byte, 0, 4096)}
}

// Buffered returns the number of bytes written and not yet flushed.
func (e *MsgpackEncoder) Buffered() int { return len(e.buf) }

// Flush writes the buffered messages to the underlying writer.
func (e *MsgpackEncoder) Flush() error {
	if len(e.buf) == 0 {
		return nil
	}
	_, err := e.w.Write(e.buf)
	if cap(e.buf) > 1<<20 {
		e.buf = make([]byte, 0, 4096) // do not keep a huge buffer after a huge message
	} else {
		e.buf = e.buf[:0]
	}
	return err
}

// message runs write to append one message; if write fails, whatever it
// appended is taken back.
func (e *MsgpackEncoder) message(write func(b []byte) ([]byte, error)) error {
	start := len(e.buf)
	b, err := write(e.buf)
	if err != nil {
		e.buf = e.buf[:start]
		return err
	}
	e.buf = b
	return nil
}

// WriteHandshake writes the host's first message.
func (e *MsgpackEncoder) WriteHandshake(h *Handshake) error {
	return e.message(func(b []byte) ([]byte, error) {
		b = mpAppendMapHeader(b, 3)
		b = mpAppendString(b, "pidDir")
		b = mpAppendString(b, h.PidDir)
		b = mpAppendString(b, "conf")
		var err error
		if b, err = mpAppendValue(b, h.Conf, 0); err != nil {
			return nil, fmt.Errorf("conf: %w", err)
		}
		b = mpAppendString(b, "context")
		return mpAppendContext(b, &h.Context)
	})
}

// mpAppendContext writes the context as the JSON codec does: task ids as
// string keys, a grouping's fields only when not nil.
func mpAppendContext(b []byte, c *Context) ([]byte, error) {
	b = mpAppendMapHeader(b, 8)
	b = mpAppendString(b, "task->component")
	tasks := slices.Sorted(maps.Keys(c.TaskToComponent))
	b = mpAppendMapHeader(b, len(tasks))
	for _, t := range tasks {
		b = mpAppendString(b, strconv.Itoa(t))
		b = mpAppendString(b, c.TaskToComponent[t])
	}
	b = mpAppendString(b, "taskid")
	b = mpAppendInt(b, int64(c.TaskID))
	b = mpAppendString(b, "componentid")
	b = mpAppendString(b, c.ComponentID)
	b = mpAppendString(b, "streams")
	b = mpAppendStrings(b, c.Streams)
	b = mpAppendString(b, "stream->outputfields")
	b = mpAppendFieldsMap(b, c.StreamToOutputFields)
	b = mpAppendString(b, "stream->target->grouping")
	b = mpAppendGroupings(b, c.StreamToTargetToGrouping)
	b = mpAppendString(b, "source->stream->grouping")
	b = mpAppendGroupings(b, c.SourceToStreamToGrouping)
	b = mpAppendString(b, "source->stream->fields")
	if c.SourceToStreamToFields == nil {
		b = append(b, mpNil)
	} else {
		sources := slices.Sorted(maps.Keys(c.SourceToStreamToFields))
		b = mpAppendMapHeader(b, len(sources))
		for _, s := range sources {
			b = mpAppendString(b, s)
			b = mpAppendFieldsMap(b, c.SourceToStreamToFields[s])
		}
	}
	return b, nil
}

func mpAppendStrings(b []byte, s []string) []byte {
	if s == nil {
		return append(b, mpNil)
	}
	b = mpAppendArrayHeader(b, len(s))
	for _, x := range s {
		b = mpAppendString(b, x)
	}
	return b
}

func mpAppendFieldsMap(b []byte, m map[string][]string) []byte {
	if m == nil {
		return append(b, mpNil)
	}
	keys := slices.Sorted(maps.Keys(m))
	b = mpAppendMapHeader(b, len(keys))
	for _, k := range keys {
		b = mpAppendString(b, k)
		b = mpAppendStrings(b, m[k])
	}
	return b
}

func mpAppendGroupings(b []byte, m map[string]map[string]Grouping) []byte {
	if m == nil {
		return append(b, mpNil)
	}
	outer := slices.Sorted(maps.Keys(m))
	b = mpAppendMapHeader(b, len(outer))
	for _, k := range outer {
		b = mpAppendString(b, k)
		inner := m[k]
		if inner == nil {
			b = append(b, mpNil)
			continue
		}
		keys := slices.Sorted(maps.Keys(inner))
		b = mpAppendMapHeader(b, len(keys))
		for _, k2 := range keys {
			g := inner[k2]
			b = mpAppendString(b, k2)
			if g.Fields == nil {
				b = mpAppendMapHeader(b, 1)
				b = mpAppendString(b, "type")
				b = mpAppendString(b, g.Type)
				continue
			}
			b = mpAppendMapHeader(b, 2)
			b = mpAppendString(b, "type")
			b = mpAppendString(b, g.Type)
			b = mpAppendString(b, "fields")
			b = mpAppendStrings(b, g.Fields)
		}
	}
	return b
}

// WriteTuple writes an input tuple for a bolt.
func (e *MsgpackEncoder) WriteTuple(t *TupleMessage) error {
	return e.message(func(b []byte) ([]byte, error) {
		b = append(b, 0x85, 0xa2, 'i', 'd')
		b = mpAppendString(b, t.ID)
		b = append(b, 0xa4, 'c', 'o', 'm', 'p')
		b = mpAppendString(b, t.Comp)
		b = append(b, 0xa6, 's', 't', 'r', 'e', 'a', 'm')
		b = mpAppendString(b, t.Stream)
		b = append(b, 0xa4, 't', 'a', 's', 'k')
		b = mpAppendInt(b, int64(t.Task))
		b = append(b, 0xa5, 't', 'u', 'p', 'l', 'e')
		return mpAppendValues(b, t.Tuple)
	})
}

// WriteHeartbeat writes a heartbeat tuple for a bolt.
func (e *MsgpackEncoder) WriteHeartbeat(id string) error {
	return e.message(func(b []byte) ([]byte, error) {
		b = append(b, 0x85, 0xa2, 'i', 'd')
		b = mpAppendString(b, id)
		b = append(b, 0xa4, 'c', 'o', 'm', 'p', mpNil)
		b = append(b, 0xa6, 's', 't', 'r', 'e', 'a', 'm')
		b = mpAppendString(b, HeartbeatStream)
		b = append(b, 0xa4, 't', 'a', 's', 'k', 0xff) // -1
		b = append(b, 0xa5, 't', 'u', 'p', 'l', 'e', 0x90)
		return b, nil
	})
}

// WriteCommand writes a spout command (next, ack, fail, activate,
// deactivate) with its message id: "" for next, activate and deactivate,
// the emitted id for ack and fail.
func (e *MsgpackEncoder) WriteCommand(command string, id any) error {
	return e.message(func(b []byte) ([]byte, error) {
		b = append(b, 0x82)
		b = mpAppendString(b, "command")
		b = mpAppendString(b, command)
		b = mpAppendString(b, "id")
		b, err := mpAppendValue(b, id, 0)
		if err != nil {
			return nil, fmt.Errorf("id: %w", err)
		}
		return b, nil
	})
}

// WriteTaskIDs writes the reply to an emit: the ids of its target tasks.
func (e *MsgpackEncoder) WriteTaskIDs(ids []int) error {
	return e.message(func(b []byte) ([]byte, error) {
		b = mpAppendArrayHeader(b, len(ids))
		for _, id := range ids {
			b = mpAppendInt(b, int64(id))
		}
		return b, nil
	})
}

// WriteMessage writes a child's message; children written in Go (and tests)
// use it. Only the fields the command uses are written, as by Encoder.
func (e *MsgpackEncoder) WriteMessage(m *Message) error {
	return e.message(func(b []byte) ([]byte, error) {
		if m.Command == "" {
			b = append(b, 0x81, 0xa3, 'p', 'i', 'd')
			return mpAppendInt(b, int64(m.Pid)), nil
		}
		var err error
		switch m.Command {
		case CmdEmit:
			n := 2 // command, tuple
			if m.ID != nil {
				n++
			}
			if m.Stream != "" {
				n++
			}
			if m.Direct {
				n++
			}
			if len(m.Anchors) > 0 {
				n++
			}
			if !m.NeedTaskIDs && !m.Direct {
				n++
			}
			b = mpAppendMapHeader(b, n)
			b = append(b, 0xa7, 'c', 'o', 'm', 'm', 'a', 'n', 'd', 0xa4, 'e', 'm', 'i', 't')
			if m.ID != nil {
				b = append(b, 0xa2, 'i', 'd')
				if b, err = mpAppendValue(b, m.ID, 0); err != nil {
					return nil, fmt.Errorf("id: %w", err)
				}
			}
			if m.Stream != "" {
				b = append(b, 0xa6, 's', 't', 'r', 'e', 'a', 'm')
				b = mpAppendString(b, m.Stream)
			}
			if m.Direct {
				b = append(b, 0xa4, 't', 'a', 's', 'k')
				b = mpAppendInt(b, int64(m.Task))
			}
			if len(m.Anchors) > 0 {
				b = append(b, 0xa7, 'a', 'n', 'c', 'h', 'o', 'r', 's')
				b = mpAppendStrings(b, m.Anchors)
			}
			b = append(b, 0xa5, 't', 'u', 'p', 'l', 'e')
			if b, err = mpAppendValues(b, m.Tuple); err != nil {
				return nil, err
			}
			if !m.NeedTaskIDs && !m.Direct {
				b = append(b, 0xad, 'n', 'e', 'e', 'd', '_', 't', 'a', 's', 'k', '_', 'i', 'd', 's', mpFalse)
			}
			return b, nil
		case CmdAck, CmdFail:
			b = append(b, 0x82)
			b = mpAppendString(b, "command")
			b = mpAppendString(b, m.Command)
			b = append(b, 0xa2, 'i', 'd')
			if b, err = mpAppendValue(b, m.ID, 0); err != nil {
				return nil, fmt.Errorf("id: %w", err)
			}
		case CmdLog:
			b = append(b, 0x83)
			b = mpAppendString(b, "command")
			b = mpAppendString(b, m.Command)
			b = mpAppendString(b, "msg")
			if b, err = mpAppendValue(b, m.Msg, 0); err != nil {
				return nil, fmt.Errorf("msg: %w", err)
			}
			b = mpAppendString(b, "level")
			b = mpAppendInt(b, int64(m.Level))
		case CmdError:
			b = append(b, 0x82)
			b = mpAppendString(b, "command")
			b = mpAppendString(b, m.Command)
			b = mpAppendString(b, "msg")
			if b, err = mpAppendValue(b, m.Msg, 0); err != nil {
				return nil, fmt.Errorf("msg: %w", err)
			}
		case CmdMetrics:
			b = append(b, 0x83)
			b = mpAppendString(b, "command")
			b = mpAppendString(b, m.Command)
			b = mpAppendString(b, "name")
			b = mpAppendString(b, m.Name)
			b = mpAppendString(b, "params")
			if b, err = mpAppendValue(b, m.Params, 0); err != nil {
				return nil, fmt.Errorf("params: %w", err)
			}
		default:
			b = append(b, 0x81)
			b = mpAppendString(b, "command")
			if b, err = mpAppendValue(b, m.Command, 0); err != nil {
				return nil, fmt.Errorf("command: %w", err)
			}
		}
		return b, nil
	})
}

func mpAppendMapHeader(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x80|byte(n))
	case n <= math.MaxUint16:
		return append(b, mpMap16, byte(n>>8), byte(n))
	}
	return binary.BigEndian.AppendUint32(append(b, mpMap32), uint32(n))
}

func mpAppendArrayHeader(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x90|byte(n))
	case n <= math.MaxUint16:
		return append(b, mpArray16, byte(n>>8), byte(n))
	}
	return binary.BigEndian.AppendUint32(append(b, mpArray32), uint32(n))
}

// mpAppendString appends s as a str, whatever its bytes; callers check
// UTF-8 where a string comes from outside.
func mpAppendString(b []byte, s string) []byte {
	n := len(s)
	switch {
	case n < 32:
		b = append(b, 0xa0|byte(n))
	case n <= math.MaxUint8:
		b = append(b, mpStr8, byte(n))
	case n <= math.MaxUint16:
		b = append(b, mpStr16, byte(n>>8), byte(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, mpStr32), uint32(n))
	}
	return append(b, s...)
}

func mpAppendBinary(b []byte, s []byte) []byte {
	n := len(s)
	switch {
	case n <= math.MaxUint8:
		b = append(b, mpBin8, byte(n))
	case n <= math.MaxUint16:
		b = append(b, mpBin16, byte(n>>8), byte(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, mpBin32), uint32(n))
	}
	return append(b, s...)
}

func mpAppendInt(b []byte, i int64) []byte {
	switch {
	case i >= 0:
		return mpAppendUint(b, uint64(i))
	case i >= -32:
		return append(b, byte(int8(i)))
	case i >= math.MinInt8:
		return append(b, mpInt8, byte(int8(i)))
	case i >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(b, mpInt16), uint16(int16(i)))
	case i >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(b, mpInt32), uint32(int32(i)))
	}
	return binary.BigEndian.AppendUint64(append(b, mpInt64), uint64(i))
}

func mpAppendUint(b []byte, u uint64) []byte {
	switch {
	case u <= 0x7f:
		return append(b, byte(u))
	case u <= math.MaxUint8:
		return append(b, mpUint8, byte(u))
	case u <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, mpUint16), uint16(u))
	case u <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, mpUint32), uint32(u))
	}
	return binary.BigEndian.AppendUint64(append(b, mpUint64), u)
}

func mpAppendValues(b []byte, values []any) ([]byte, error) {
	b = mpAppendArrayHeader(b, len(values))
	for i, v := range values {
		var err error
		if b, err = mpAppendValue(b, v, 1); err != nil {
			return nil, fmt.Errorf("tuple value %d: %w", i, err)
		}
	}
	return b, nil
}

// mpAppendValue appends the values tuples usually hold without reflection;
// anything else goes through its JSON form, so that it is sent as the JSON
// codec would send it (structs by their json tags, json.Marshaler...).
func mpAppendValue(b []byte, v any, depth int) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, mpNil), nil
	case string:
		if !utf8.ValidString(x) {
			return nil, fmt.Errorf("%w: string %s is not valid UTF-8", ErrUnencodable, Snippet([]byte(x)))
		}
		return mpAppendString(b, x), nil
	case bool:
		if x {
			return append(b, mpTrue), nil
		}
		return append(b, mpFalse), nil
	case int:
		return mpAppendInt(b, int64(x)), nil
	case int64:
		return mpAppendInt(b, x), nil
	case int32:
		return mpAppendInt(b, int64(x)), nil
	case int16:
		return mpAppendInt(b, int64(x)), nil
	case int8:
		return mpAppendInt(b, int64(x)), nil
	case uint:
		return mpAppendUint(b, uint64(x)), nil
	case uint64:
		return mpAppendUint(b, x), nil
	case uint32:
		return mpAppendUint(b, uint64(x)), nil
	case uint16:
		return mpAppendUint(b, uint64(x)), nil
	case uint8:
		return mpAppendUint(b, uint64(x)), nil
	case float64:
		return binary.BigEndian.AppendUint64(append(b, mpFloat64), math.Float64bits(x)), nil
	case float32:
		return binary.BigEndian.AppendUint32(append(b, mpFloat32), math.Float32bits(x)), nil
	case []byte:
		return mpAppendBinary(b, x), nil
	case RawMsgpack:
		return append(b, x...), nil
	case Raw:
		parsed, err := parseJSONValue([]byte(x))
		if err != nil {
			return nil, fmt.Errorf("%w: raw JSON %s: %v", ErrUnencodable, Snippet([]byte(x)), err)
		}
		return mpAppendValue(b, parsed, depth)
	case []any:
		if depth >= maxDepth {
			return nil, fmt.Errorf("%w: values nested deeper than %d", ErrUnencodable, maxDepth)
		}
		b = mpAppendArrayHeader(b, len(x))
		for _, e := range x {
			var err error
			if b, err = mpAppendValue(b, e, depth+1); err != nil {
				return nil, err
			}
		}
		return b, nil
	case []string:
		b = mpAppendArrayHeader(b, len(x))
		for _, e := range x {
			var err error
			if b, err = mpAppendValue(b, e, depth+1); err != nil {
				return nil, err
			}
		}
		return b, nil
	case map[string]any:
		if depth >= maxDepth {
			return nil, fmt.Errorf("%w: values nested deeper than %d", ErrUnencodable, maxDepth)
		}
		b = mpAppendMapHeader(b, len(x))
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if !utf8.ValidString(k) {
				return nil, fmt.Errorf("%w: key %s is not valid UTF-8", ErrUnencodable, Snippet([]byte(k)))
			}
			b = mpAppendString(b, k)
			var err error
			if b, err = mpAppendValue(b, x[k], depth+1); err != nil {
				return nil, err
			}
		}
		return b, nil
	}
	text, err := jsonAPI.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %T: %v", ErrUnencodable, v, err)
	}
	parsed, err := parseJSONValue(text)
	if err != nil {
		return nil, fmt.Errorf("%w: %T: %v", ErrUnencodable, v, err)
	}
	return mpAppendValue(b, parsed, depth)
}

// parseJSONValue decodes JSON text into the values mpAppendValue writes
// directly: integers as int64 (uint64 beyond), other numbers as float64.
func parseJSONValue(text []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return fromJSONNumbers(v, 0)
}

func fromJSONNumbers(v any, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("values nested deeper than %d", maxDepth)
	}
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
			return nil, fmt.Errorf("number %s is out of range", x)
		}
		return f, nil
	case []any:
		for i, e := range x {
			var err error
			if x[i], err = fromJSONNumbers(e, depth+1); err != nil {
				return nil, err
			}
		}
	case map[string]any:
		for k, e := range x {
			var err error
			if x[k], err = fromJSONNumbers(e, depth+1); err != nil {
				return nil, err
			}
		}
	}
	return v, nil
}
