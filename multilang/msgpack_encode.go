package multilang

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/tinylib/msgp/msgp"
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
		b = msgp.AppendMapHeader(b, 3)
		b = msgp.AppendString(b, "pidDir")
		b = msgp.AppendString(b, h.PidDir)
		b = msgp.AppendString(b, "conf")
		var err error
		if b, err = mpAppendValue(b, h.Conf, 0); err != nil {
			return nil, fmt.Errorf("conf: %w", err)
		}
		b = msgp.AppendString(b, "context")
		return mpAppendContext(b, &h.Context)
	})
}

// mpAppendContext writes the context as the JSON codec does: task ids as
// string keys, a grouping's fields only when not nil.
func mpAppendContext(b []byte, c *Context) ([]byte, error) {
	n := uint32(8)
	if c.TTY != 0 {
		n++
	}
	if c.Squall != nil {
		n++
	}
	b = msgp.AppendMapHeader(b, n)
	if c.TTY != 0 {
		b = msgp.AppendString(b, "squall.tty")
		b = mpAppendInt(b, int64(c.TTY))
	}
	if c.Squall != nil {
		b = msgp.AppendString(b, "squall")
		var err error
		if b, err = mpAppendValue(b, c.Squall, 0); err != nil {
			return nil, fmt.Errorf("context squall: %w", err)
		}
	}
	b = msgp.AppendString(b, "task->component")
	tasks := slices.Sorted(maps.Keys(c.TaskToComponent))
	b = msgp.AppendMapHeader(b, uint32(len(tasks)))
	for _, t := range tasks {
		b = msgp.AppendString(b, strconv.Itoa(t))
		b = msgp.AppendString(b, c.TaskToComponent[t])
	}
	b = msgp.AppendString(b, "taskid")
	b = mpAppendInt(b, int64(c.TaskID))
	b = msgp.AppendString(b, "componentid")
	b = msgp.AppendString(b, c.ComponentID)
	b = msgp.AppendString(b, "streams")
	b = mpAppendStrings(b, c.Streams)
	b = msgp.AppendString(b, "stream->outputfields")
	b = mpAppendFieldsMap(b, c.StreamToOutputFields)
	b = msgp.AppendString(b, "stream->target->grouping")
	b = mpAppendGroupings(b, c.StreamToTargetToGrouping)
	b = msgp.AppendString(b, "source->stream->grouping")
	b = mpAppendGroupings(b, c.SourceToStreamToGrouping)
	b = msgp.AppendString(b, "source->stream->fields")
	if c.SourceToStreamToFields == nil {
		b = msgp.AppendNil(b)
	} else {
		sources := slices.Sorted(maps.Keys(c.SourceToStreamToFields))
		b = msgp.AppendMapHeader(b, uint32(len(sources)))
		for _, s := range sources {
			b = msgp.AppendString(b, s)
			b = mpAppendFieldsMap(b, c.SourceToStreamToFields[s])
		}
	}
	return b, nil
}

func mpAppendStrings(b []byte, s []string) []byte {
	if s == nil {
		return msgp.AppendNil(b)
	}
	b = msgp.AppendArrayHeader(b, uint32(len(s)))
	for _, x := range s {
		b = msgp.AppendString(b, x)
	}
	return b
}

func mpAppendFieldsMap(b []byte, m map[string][]string) []byte {
	if m == nil {
		return msgp.AppendNil(b)
	}
	keys := slices.Sorted(maps.Keys(m))
	b = msgp.AppendMapHeader(b, uint32(len(keys)))
	for _, k := range keys {
		b = msgp.AppendString(b, k)
		b = mpAppendStrings(b, m[k])
	}
	return b
}

func mpAppendGroupings(b []byte, m map[string]map[string]Grouping) []byte {
	if m == nil {
		return msgp.AppendNil(b)
	}
	outer := slices.Sorted(maps.Keys(m))
	b = msgp.AppendMapHeader(b, uint32(len(outer)))
	for _, k := range outer {
		b = msgp.AppendString(b, k)
		inner := m[k]
		if inner == nil {
			b = msgp.AppendNil(b)
			continue
		}
		keys := slices.Sorted(maps.Keys(inner))
		b = msgp.AppendMapHeader(b, uint32(len(keys)))
		for _, k2 := range keys {
			g := inner[k2]
			b = msgp.AppendString(b, k2)
			if g.Fields == nil {
				b = msgp.AppendMapHeader(b, 1)
				b = msgp.AppendString(b, "type")
				b = msgp.AppendString(b, g.Type)
				continue
			}
			b = msgp.AppendMapHeader(b, 2)
			b = msgp.AppendString(b, "type")
			b = msgp.AppendString(b, g.Type)
			b = msgp.AppendString(b, "fields")
			b = mpAppendStrings(b, g.Fields)
		}
	}
	return b
}

// WriteTuple writes an input tuple for a bolt.
func (e *MsgpackEncoder) WriteTuple(t *TupleMessage) error {
	return e.message(func(b []byte) ([]byte, error) {
		b = append(b, 0x85, 0xa2, 'i', 'd')
		b = msgp.AppendString(b, t.ID)
		b = append(b, 0xa4, 'c', 'o', 'm', 'p')
		b = msgp.AppendString(b, t.Comp)
		b = append(b, 0xa6, 's', 't', 'r', 'e', 'a', 'm')
		b = msgp.AppendString(b, t.Stream)
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
		b = msgp.AppendString(b, id)
		b = append(b, 0xa4, 'c', 'o', 'm', 'p', mpNil)
		b = append(b, 0xa6, 's', 't', 'r', 'e', 'a', 'm')
		b = msgp.AppendString(b, HeartbeatStream)
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
		b = msgp.AppendString(b, "command")
		b = msgp.AppendString(b, command)
		b = msgp.AppendString(b, "id")
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
		b = msgp.AppendArrayHeader(b, uint32(len(ids)))
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
			b = msgp.AppendMapHeader(b, uint32(n))
			b = append(b, 0xa7, 'c', 'o', 'm', 'm', 'a', 'n', 'd', 0xa4, 'e', 'm', 'i', 't')
			if m.ID != nil {
				b = append(b, 0xa2, 'i', 'd')
				if b, err = mpAppendValue(b, m.ID, 0); err != nil {
					return nil, fmt.Errorf("id: %w", err)
				}
			}
			if m.Stream != "" {
				b = append(b, 0xa6, 's', 't', 'r', 'e', 'a', 'm')
				b = msgp.AppendString(b, m.Stream)
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
			b = msgp.AppendString(b, "command")
			b = msgp.AppendString(b, m.Command)
			b = append(b, 0xa2, 'i', 'd')
			if b, err = mpAppendValue(b, m.ID, 0); err != nil {
				return nil, fmt.Errorf("id: %w", err)
			}
		case CmdLog:
			b = append(b, 0x83)
			b = msgp.AppendString(b, "command")
			b = msgp.AppendString(b, m.Command)
			b = msgp.AppendString(b, "msg")
			if b, err = mpAppendValue(b, m.Msg, 0); err != nil {
				return nil, fmt.Errorf("msg: %w", err)
			}
			b = msgp.AppendString(b, "level")
			b = mpAppendInt(b, int64(m.Level))
		case CmdError:
			b = append(b, 0x82)
			b = msgp.AppendString(b, "command")
			b = msgp.AppendString(b, m.Command)
			b = msgp.AppendString(b, "msg")
			if b, err = mpAppendValue(b, m.Msg, 0); err != nil {
				return nil, fmt.Errorf("msg: %w", err)
			}
		case CmdMetrics:
			b = append(b, 0x83)
			b = msgp.AppendString(b, "command")
			b = msgp.AppendString(b, m.Command)
			b = msgp.AppendString(b, "name")
			b = msgp.AppendString(b, m.Name)
			b = msgp.AppendString(b, "params")
			if b, err = mpAppendValue(b, m.Params, 0); err != nil {
				return nil, fmt.Errorf("params: %w", err)
			}
		case CmdStateGet, CmdStateDelete:
			b = append(b, 0x82)
			b = msgp.AppendString(b, "command")
			b = msgp.AppendString(b, m.Command)
			b = msgp.AppendString(b, "keys")
			b = msgp.AppendArrayHeader(b, uint32(len(m.Keys)))
			for i, k := range m.Keys {
				if b, err = mpAppendValue(b, Raw(k), 0); err != nil {
					return nil, fmt.Errorf("keys[%d]: %w", i, err)
				}
			}
		case CmdStatePut:
			b = append(b, 0x82)
			b = msgp.AppendString(b, "command")
			b = msgp.AppendString(b, m.Command)
			b = msgp.AppendString(b, "items")
			if b, err = mpAppendStateItems(b, m.Items); err != nil {
				return nil, err
			}
		default:
			b = append(b, 0x81)
			b = msgp.AppendString(b, "command")
			if b, err = mpAppendValue(b, m.Command, 0); err != nil {
				return nil, fmt.Errorf("command: %w", err)
			}
		}
		return b, nil
	})
}

// WriteStateReply writes a reply of the state extension: command is
// CmdStateValues or CmdStateItems; more (state_items only) says that more
// replies follow. Keys and values, JSON text, are sent as MessagePack.
func (e *MsgpackEncoder) WriteStateReply(command string, items []StateItem, more bool) error {
	return e.message(func(b []byte) ([]byte, error) {
		n := uint32(2)
		if more {
			n++
		}
		b = msgp.AppendMapHeader(b, n)
		b = msgp.AppendString(b, "command")
		b = msgp.AppendString(b, command)
		b = msgp.AppendString(b, "items")
		b, err := mpAppendStateItems(b, items)
		if err != nil {
			return nil, err
		}
		if more {
			b = msgp.AppendString(b, "more")
			b = msgp.AppendBool(b, true)
		}
		return b, nil
	})
}

// WriteStateReset writes the state extension's state_reset.
func (e *MsgpackEncoder) WriteStateReset(txid int64) error {
	return e.message(func(b []byte) ([]byte, error) {
		b = msgp.AppendMapHeader(b, 2)
		b = msgp.AppendString(b, "command")
		b = msgp.AppendString(b, CmdStateReset)
		b = msgp.AppendString(b, "txid")
		return mpAppendInt(b, txid), nil
	})
}

func mpAppendStateItems(b []byte, items []StateItem) ([]byte, error) {
	b = msgp.AppendArrayHeader(b, uint32(len(items)))
	for i, it := range items {
		b = msgp.AppendArrayHeader(b, 2)
		var err error
		if b, err = mpAppendValue(b, Raw(it.Key), 0); err != nil {
			return nil, fmt.Errorf("items[%d] key: %w", i, err)
		}
		if b, err = mpAppendValue(b, Raw(it.Value), 0); err != nil {
			return nil, fmt.Errorf("items[%d] value of key %s: %w", i, clipKey(it.Key), err)
		}
	}
	return b, nil
}

// mpAppendInt appends i in its smallest form, non-negative integers as
// unsigned ones, as msgpack-python and the other adapters' writers do.
func mpAppendInt(b []byte, i int64) []byte {
	if i >= 0 {
		return msgp.AppendUint64(b, uint64(i))
	}
	return msgp.AppendInt64(b, i)
}

func mpAppendValues(b []byte, values []any) ([]byte, error) {
	b = msgp.AppendArrayHeader(b, uint32(len(values)))
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
		return msgp.AppendNil(b), nil
	case string:
		if !utf8.ValidString(x) {
			return nil, fmt.Errorf("%w: string %s is not valid UTF-8", ErrUnencodable, Snippet([]byte(x)))
		}
		return msgp.AppendString(b, x), nil
	case bool:
		return msgp.AppendBool(b, x), nil
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
		return msgp.AppendUint64(b, uint64(x)), nil
	case uint64:
		return msgp.AppendUint64(b, x), nil
	case uint32:
		return msgp.AppendUint64(b, uint64(x)), nil
	case uint16:
		return msgp.AppendUint64(b, uint64(x)), nil
	case uint8:
		return msgp.AppendUint64(b, uint64(x)), nil
	case float64:
		return msgp.AppendFloat64(b, x), nil
	case float32:
		return msgp.AppendFloat32(b, x), nil
	case []byte:
		return msgp.AppendBytes(b, x), nil
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
		b = msgp.AppendArrayHeader(b, uint32(len(x)))
		for _, e := range x {
			var err error
			if b, err = mpAppendValue(b, e, depth+1); err != nil {
				return nil, err
			}
		}
		return b, nil
	case []string:
		b = msgp.AppendArrayHeader(b, uint32(len(x)))
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
		b = msgp.AppendMapHeader(b, uint32(len(x)))
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if !utf8.ValidString(k) {
				return nil, fmt.Errorf("%w: key %s is not valid UTF-8", ErrUnencodable, Snippet([]byte(k)))
			}
			b = msgp.AppendString(b, k)
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
