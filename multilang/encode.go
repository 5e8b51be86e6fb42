package multilang

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	jsoniter "github.com/json-iterator/go"
)

// ErrUnencodable is returned, wrapped, for a value that JSON cannot carry
// (NaN, an infinity, invalid UTF-8, a channel...). Nothing is written.
var ErrUnencodable = errors.New("value cannot be encoded")

// jsonAPI is the json-iterator configuration of the codec: no HTML
// escaping (children are not browsers), sorted map keys so output is
// deterministic.
var jsonAPI = jsoniter.Config{SortMapKeys: true, ValidateJsonRawMessage: true}.Froze()

// endLine terminates every message.
const endLine = "\nend\n"

// Encoder writes the JSON framing of the multilang protocol: each message's
// JSON on one line, then a line "end". Messages accumulate in a buffer until
// Flush. It is not safe for concurrent use.
type Encoder struct {
	w io.Writer
	s *jsoniter.Stream
}

// NewEncoder returns an encoder writing to w.
func NewEncoder(w io.Writer) *Encoder {
	return &Encoder{w: w, s: jsoniter.NewStream(jsonAPI, nil, 4096)}
}

// Buffered returns the number of bytes written and not yet flushed.
func (e *Encoder) Buffered() int { return len(e.s.Buffer()) }

// Flush writes the buffered messages to the underlying writer.
func (e *Encoder) Flush() error {
	buf := e.s.Buffer()
	if len(buf) == 0 {
		return nil
	}
	_, err := e.w.Write(buf)
	if cap(buf) > 1<<20 {
		buf = make([]byte, 0, 4096) // do not keep a huge buffer after a huge message
	}
	e.s.SetBuffer(buf[:0])
	return err
}

// message runs write to append one message; if write fails, whatever it
// appended is taken back.
func (e *Encoder) message(write func(s *jsoniter.Stream) error) error {
	start := len(e.s.Buffer())
	err := write(e.s)
	if err == nil && e.s.Error != nil {
		err = fmt.Errorf("%w: %v", ErrUnencodable, e.s.Error)
	}
	if err != nil {
		e.s.SetBuffer(e.s.Buffer()[:start])
		e.s.Error = nil
		return err
	}
	e.s.WriteRaw(endLine)
	return nil
}

// WriteHandshake writes the host's first message.
func (e *Encoder) WriteHandshake(h *Handshake) error {
	return e.message(func(s *jsoniter.Stream) error {
		s.WriteObjectStart()
		s.WriteObjectField("pidDir")
		s.WriteString(h.PidDir)
		s.WriteMore()
		s.WriteObjectField("conf")
		if err := writeValue(s, h.Conf, 0); err != nil {
			return fmt.Errorf("conf: %w", err)
		}
		s.WriteMore()
		s.WriteObjectField("context")
		s.WriteVal(&h.Context)
		s.WriteObjectEnd()
		return nil
	})
}

// WriteTuple writes an input tuple for a bolt.
func (e *Encoder) WriteTuple(t *TupleMessage) error {
	return e.message(func(s *jsoniter.Stream) error {
		s.WriteRaw(`{"id":`)
		s.WriteString(t.ID)
		s.WriteRaw(`,"comp":`)
		s.WriteString(t.Comp)
		s.WriteRaw(`,"stream":`)
		s.WriteString(t.Stream)
		s.WriteRaw(`,"task":`)
		s.WriteInt(t.Task)
		s.WriteRaw(`,"tuple":`)
		if err := writeValues(s, t.Tuple); err != nil {
			return err
		}
		s.WriteObjectEnd()
		return nil
	})
}

// WriteHeartbeat writes a heartbeat tuple for a bolt.
func (e *Encoder) WriteHeartbeat(id string) error {
	return e.message(func(s *jsoniter.Stream) error {
		s.WriteRaw(`{"id":`)
		s.WriteString(id)
		s.WriteRaw(`,"comp":null,"stream":"` + HeartbeatStream + `","task":-1,"tuple":[]}`)
		return nil
	})
}

// WriteCommand writes a spout command (next, ack, fail, activate,
// deactivate) with its message id: "" for next, activate and deactivate,
// the emitted id for ack and fail.
func (e *Encoder) WriteCommand(command string, id any) error {
	return e.message(func(s *jsoniter.Stream) error {
		s.WriteRaw(`{"command":`)
		s.WriteString(command)
		s.WriteRaw(`,"id":`)
		if err := writeValue(s, id, 0); err != nil {
			return fmt.Errorf("id: %w", err)
		}
		s.WriteObjectEnd()
		return nil
	})
}

// WriteTaskIDs writes the reply to an emit: the ids of its target tasks.
func (e *Encoder) WriteTaskIDs(ids []int) error {
	return e.message(func(s *jsoniter.Stream) error {
		s.WriteArrayStart()
		for i, id := range ids {
			if i > 0 {
				s.WriteMore()
			}
			s.WriteInt(id)
		}
		s.WriteArrayEnd()
		return nil
	})
}

// WriteMessage writes a child's message; children written in Go (and tests)
// use it. Only the fields the command uses are written.
func (e *Encoder) WriteMessage(m *Message) error {
	return e.message(func(s *jsoniter.Stream) error {
		s.WriteObjectStart()
		if m.Command == "" {
			s.WriteObjectField("pid")
			s.WriteInt(m.Pid)
			s.WriteObjectEnd()
			return nil
		}
		s.WriteObjectField("command")
		s.WriteString(m.Command)
		field := func(name string) {
			s.WriteMore()
			s.WriteObjectField(name)
		}
		switch m.Command {
		case CmdEmit:
			if m.ID != nil {
				field("id")
				if err := writeValue(s, m.ID, 0); err != nil {
					return fmt.Errorf("id: %w", err)
				}
			}
			if m.Stream != "" {
				field("stream")
				s.WriteString(m.Stream)
			}
			if m.Direct {
				field("task")
				s.WriteInt(m.Task)
			}
			if len(m.Anchors) > 0 {
				field("anchors")
				s.WriteArrayStart()
				for i, a := range m.Anchors {
					if i > 0 {
						s.WriteMore()
					}
					s.WriteString(a)
				}
				s.WriteArrayEnd()
			}
			field("tuple")
			if err := writeValues(s, m.Tuple); err != nil {
				return err
			}
			if !m.NeedTaskIDs && !m.Direct {
				field("need_task_ids")
				s.WriteFalse()
			}
		case CmdAck, CmdFail:
			field("id")
			if err := writeValue(s, m.ID, 0); err != nil {
				return fmt.Errorf("id: %w", err)
			}
		case CmdLog:
			field("msg")
			s.WriteString(m.Msg)
			field("level")
			s.WriteInt(m.Level)
		case CmdError:
			field("msg")
			s.WriteString(m.Msg)
		case CmdMetrics:
			field("name")
			s.WriteString(m.Name)
			field("params")
			if err := writeValue(s, m.Params, 0); err != nil {
				return fmt.Errorf("params: %w", err)
			}
		case CmdStateGet, CmdStateDelete:
			for i, k := range m.Keys {
				if !json.Valid([]byte(k)) {
					return fmt.Errorf("%w: keys[%d] %s is not JSON text", ErrUnencodable, i, Snippet([]byte(k)))
				}
			}
			field("keys")
			s.WriteArrayStart()
			for i, k := range m.Keys {
				if i > 0 {
					s.WriteMore()
				}
				s.WriteRaw(k)
			}
			s.WriteArrayEnd()
		case CmdStatePut:
			if err := checkStateItems(m.Items); err != nil {
				return err
			}
			field("items")
			writeStateItems(s, m.Items)
		}
		s.WriteObjectEnd()
		return nil
	})
}

// WriteStateReply writes a reply of the state extension: command is
// CmdStateValues or CmdStateItems; more (state_items only) says that more
// replies follow. Keys and values are written as the JSON text they hold.
func (e *Encoder) WriteStateReply(command string, items []StateItem, more bool) error {
	if err := checkStateItems(items); err != nil {
		return err
	}
	return e.message(func(s *jsoniter.Stream) error {
		s.WriteRaw(`{"command":`)
		s.WriteString(command)
		s.WriteRaw(`,"items":`)
		writeStateItems(s, items)
		if more {
			s.WriteRaw(`,"more":true`)
		}
		s.WriteObjectEnd()
		return nil
	})
}

// WriteStateReset writes the state extension's state_reset.
func (e *Encoder) WriteStateReset(txid int64) error {
	return e.message(func(s *jsoniter.Stream) error {
		s.WriteRaw(`{"command":"` + CmdStateReset + `","txid":`)
		s.WriteInt64(txid)
		s.WriteObjectEnd()
		return nil
	})
}

// writeStateItems writes items, checked by checkStateItems, as a list of
// [key, value] pairs.
func writeStateItems(s *jsoniter.Stream, items []StateItem) {
	s.WriteArrayStart()
	for i, it := range items {
		if i > 0 {
			s.WriteMore()
		}
		s.WriteArrayStart()
		s.WriteRaw(it.Key)
		s.WriteMore()
		s.WriteRaw(string(it.Value))
		s.WriteArrayEnd()
	}
	s.WriteArrayEnd()
}

func writeValues(s *jsoniter.Stream, values []any) error {
	s.WriteArrayStart()
	for i, v := range values {
		if i > 0 {
			s.WriteMore()
		}
		if err := writeValue(s, v, 1); err != nil {
			return fmt.Errorf("tuple value %d: %w", i, err)
		}
	}
	s.WriteArrayEnd()
	return nil
}

// writeValue writes the values tuples usually hold without reflection and
// falls back to json-iterator's reflection for anything else.
func writeValue(s *jsoniter.Stream, v any, depth int) error {
	switch x := v.(type) {
	case nil:
		s.WriteNil()
	case string:
		if !utf8.ValidString(x) {
			return fmt.Errorf("%w: string %s is not valid UTF-8", ErrUnencodable, Snippet([]byte(x)))
		}
		s.WriteString(x)
	case Raw:
		s.WriteRaw(string(x))
	case bool:
		s.WriteBool(x)
	case int:
		s.WriteInt(x)
	case int64:
		s.WriteInt64(x)
	case int32:
		s.WriteInt32(x)
	case int16:
		s.WriteInt16(x)
	case int8:
		s.WriteInt8(x)
	case uint:
		s.WriteUint(x)
	case uint64:
		s.WriteUint64(x)
	case uint32:
		s.WriteUint32(x)
	case uint16:
		s.WriteUint16(x)
	case uint8:
		s.WriteUint8(x)
	case float64:
		return writeFloat(s, x, 64)
	case float32:
		return writeFloat(s, float64(x), 32)
	case []byte:
		// As encoding/json does: base64 in a string.
		s.WriteString(base64.StdEncoding.EncodeToString(x))
	case []any:
		if depth >= maxDepth {
			return fmt.Errorf("%w: values nested deeper than %d", ErrUnencodable, maxDepth)
		}
		s.WriteArrayStart()
		for i, e := range x {
			if i > 0 {
				s.WriteMore()
			}
			reserve(s)
			if err := writeValue(s, e, depth+1); err != nil {
				return err
			}
		}
		s.WriteArrayEnd()
	case []string:
		s.WriteArrayStart()
		for i, e := range x {
			if i > 0 {
				s.WriteMore()
			}
			if err := writeValue(s, e, depth+1); err != nil {
				return err
			}
		}
		s.WriteArrayEnd()
	case map[string]any:
		if depth >= maxDepth {
			return fmt.Errorf("%w: values nested deeper than %d", ErrUnencodable, maxDepth)
		}
		s.WriteObjectStart()
		first := true
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if !utf8.ValidString(k) {
				return fmt.Errorf("%w: key %s is not valid UTF-8", ErrUnencodable, Snippet([]byte(k)))
			}
			if !first {
				s.WriteMore()
			}
			first = false
			s.WriteObjectField(k)
			if err := writeValue(s, x[k], depth+1); err != nil {
				return err
			}
		}
		s.WriteObjectEnd()
	default:
		s.WriteVal(v)
		if s.Error != nil {
			err := s.Error
			s.Error = nil
			return fmt.Errorf("%w: %T: %v", ErrUnencodable, v, err)
		}
	}
	return nil
}

func writeFloat(s *jsoniter.Stream, f float64, bits int) error {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("%w: %v is not a JSON number", ErrUnencodable, f)
	}
	// strconv's shortest form that reads back exactly, as encoding/json.
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	var buf [32]byte
	b := strconv.AppendFloat(buf[:0], f, format, -1, bits)
	if format == 'f' && bytes.IndexByte(b, '.') < 0 {
		// Keep an integral float a float for the child: 1000.0, not 1000,
		// which Python, Ruby and Storm's Java would read as an integer.
		b = append(b, ".0"...)
	}
	s.WriteRaw(string(b))
	return nil
}

// reserve doubles the stream's buffer when little room is left: append
// grows a large buffer by about a quarter at a time, so a message of
// megabytes (a windowed shell bolt's window) was copied over and over as
// it was written, a fifth of the host's CPU in BenchmarkPythonWindowed.
func reserve(s *jsoniter.Stream) {
	const room = 1 << 10
	if b := s.Buffer(); cap(b)-len(b) < room {
		s.SetBuffer(slices.Grow(b, cap(b)+room))
	}
}
