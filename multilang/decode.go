package multilang

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"

	jsoniter "github.com/json-iterator/go"
)

// DefaultMaxMessageBytes is the default size cap of one message
// (topology.multilang.max.message.bytes).
const DefaultMaxMessageBytes = 16 << 20

// maxDepth bounds the nesting of arrays and objects in a message, so that a
// hostile "[[[[..." cannot exhaust the stack.
const maxDepth = 256

// readBufferSize is the decoder's read buffer; lines longer than this are
// read in pieces.
const readBufferSize = 64 << 10

// strayRetries bounds how many leading lines the decoder drops, one by one,
// when a frame does not parse, looking for a message after stray output.
const strayRetries = 8

// DecoderOptions configure a Decoder.
type DecoderOptions struct {
	// MaxMessageBytes caps the size of one message; 0 means
	// DefaultMaxMessageBytes.
	MaxMessageBytes int
	// OnStray, if set, is called with every line skipped because it cannot
	// be part of a message, such as the output of a stray print. The slice
	// is only valid during the call.
	OnStray func(line []byte)
	// OnInvalidUTF8, if set, is called with a snippet of a message that held
	// invalid UTF-8; the bad bytes were replaced by U+FFFD.
	OnInvalidUTF8 func(snippet string)
}

// Decoder reads the JSON framing of the multilang protocol: one JSON value
// followed by a line "end". It is not safe for concurrent use.
type Decoder struct {
	r    *bufio.Reader
	opts DecoderOptions
	max  int

	// frame holds the text of the message being decoded; lineStarts holds
	// the offset of each of its lines.
	frame      []byte
	lineStarts []int
	scratch    []byte
	iter       *jsoniter.Iterator
}

// NewDecoder returns a decoder reading from r.
func NewDecoder(r io.Reader, opts DecoderOptions) *Decoder {
	br, ok := r.(*bufio.Reader)
	if !ok || br.Size() < readBufferSize {
		br = bufio.NewReaderSize(r, readBufferSize)
	}
	max := opts.MaxMessageBytes
	if max <= 0 {
		max = DefaultMaxMessageBytes
	}
	// scratch must never be nil: json-iterator takes a nil capture buffer
	// to mean it is not capturing.
	return &Decoder{r: br, opts: opts, max: max, iter: jsoniter.NewIterator(jsonAPI), scratch: make([]byte, 0, 64)}
}

// Buffered returns the number of bytes read from the underlying reader and
// not yet decoded: when it is zero, the next Decode may block.
func (d *Decoder) Buffered() int { return d.r.Buffered() }

// Decode reads the next message a child sent. At the end of the input it
// returns io.EOF, or io.ErrUnexpectedEOF inside a message. A *FrameError
// (ErrMalformed, ErrTooLarge) leaves the decoder after the bad message, so
// the caller may go on reading.
func (d *Decoder) Decode(m *Message) error {
	return d.decode(func(data []byte) error { return d.parseMessage(data, m) })
}

// DecodeHost reads the next message a host sent, as a child would.
func (d *Decoder) DecodeHost(m *HostMessage) error {
	return d.decode(func(data []byte) error { return d.parseHostMessage(data, m) })
}

func (d *Decoder) decode(parse func([]byte) error) error {
	if err := d.readFrame(); err != nil {
		return err
	}
	err := parse(d.frame)
	if err == nil {
		return nil
	}
	// Stray output may precede a message on the lines before it. Try the
	// message from each later line that could start one.
	for i := 1; i < len(d.lineStarts) && i <= strayRetries; i++ {
		rest := d.frame[d.lineStarts[i]:]
		if !startsMessage(rest) || parse(rest) != nil {
			continue
		}
		if d.opts.OnStray != nil {
			for j := 0; j < i; j++ {
				d.opts.OnStray(d.frame[d.lineStarts[j] : d.lineStarts[j+1]-1])
			}
		}
		return nil
	}
	return err
}

// readFrame reads the text of the next message, up to its "end" line, into
// d.frame.
func (d *Decoder) readFrame() error {
	if cap(d.frame) > 4*readBufferSize {
		d.frame = nil // do not keep a huge buffer after a huge message
	}
	d.frame, d.lineStarts = d.frame[:0], d.lineStarts[:0]
	var (
		midLine    bool   // the previous chunk ended inside a line
		skipping   bool   // the rest of the current line is stray output
		tooLarge   bool   // the message passed the cap and is being skipped
		size       int    // bytes of the message seen so far
		snippet    string // the start of a message that is too large
		sawAnyLine bool
	)
	for {
		chunk, complete, err := d.readChunk()
		if err != nil {
			if err == io.EOF {
				if len(d.frame) == 0 && !tooLarge && !sawAnyLine {
					return io.EOF
				}
				if len(d.frame) == 0 && !tooLarge {
					return io.EOF // only stray output before the end
				}
				return fmt.Errorf("message without end line %s: %w", Snippet(d.frame), io.ErrUnexpectedEOF)
			}
			return err
		}
		lineStart := !midLine
		midLine = !complete
		if lineStart && complete && isEndLine(chunk) {
			switch {
			case tooLarge:
				return &FrameError{Err: ErrTooLarge, Detail: fmt.Sprintf("%d bytes, limit %d", size, d.max), Snippet: snippet}
			case len(d.frame) == 0:
				return &FrameError{Err: ErrMalformed, Detail: "empty message", Snippet: `"end"`}
			}
			return d.checkUTF8()
		}
		sawAnyLine = true
		if skipping {
			skipping = !complete
			continue
		}
		if tooLarge {
			size += len(chunk)
			continue
		}
		if lineStart && len(d.frame) == 0 {
			// Between messages: only a line that can start a JSON message
			// begins one; anything else is stray output.
			if isBlank(chunk) && complete {
				continue
			}
			if !startsMessage(chunk) {
				if d.opts.OnStray != nil {
					d.opts.OnStray(chunk)
				}
				skipping = !complete
				continue
			}
		}
		if lineStart {
			if len(d.frame) > 0 {
				d.frame = append(d.frame, '\n')
			}
			d.lineStarts = append(d.lineStarts, len(d.frame))
		}
		if len(d.frame)+len(chunk) > d.max {
			tooLarge = true
			size = len(d.frame) + len(chunk)
			snippet = Snippet(append(d.frame, chunk...)[:min(len(d.frame)+len(chunk), snippetLen+1)])
			d.frame = d.frame[:0]
			continue
		}
		d.frame = append(d.frame, chunk...)
	}
}

// readChunk returns the next line without its line ending, or, for a line
// longer than the read buffer, its next piece with complete == false.
func (d *Decoder) readChunk() (chunk []byte, complete bool, err error) {
	line, err := d.r.ReadSlice('\n')
	switch {
	case err == nil:
		return trimEOL(line), true, nil
	case err == bufio.ErrBufferFull:
		return line, false, nil
	case err == io.EOF && len(line) > 0:
		return trimEOL(line), true, nil
	}
	return nil, false, err
}

func (d *Decoder) checkUTF8() error {
	if utf8.Valid(d.frame) {
		return nil
	}
	if d.opts.OnInvalidUTF8 != nil {
		d.opts.OnInvalidUTF8(Snippet(d.frame))
	}
	fixed := bytes.ToValidUTF8(d.frame, []byte("\uFFFD"))
	// Line offsets move with the replacement; recompute them.
	d.frame, d.lineStarts = fixed, d.lineStarts[:0]
	d.lineStarts = append(d.lineStarts, 0)
	for i, c := range d.frame {
		if c == '\n' {
			d.lineStarts = append(d.lineStarts, i+1)
		}
	}
	return nil
}

func trimEOL(line []byte) []byte {
	line = bytes.TrimSuffix(line, []byte{'\n'})
	return bytes.TrimSuffix(line, []byte{'\r'})
}

func isEndLine(line []byte) bool { return string(line) == "end" }

func isBlank(line []byte) bool { return len(bytes.TrimSpace(line)) == 0 }

// startsMessage reports whether line can begin a JSON message: every
// message is an object, except task-id replies, which are arrays.
func startsMessage(line []byte) bool {
	line = bytes.TrimLeft(line, " \t\r\n")
	return len(line) > 0 && (line[0] == '{' || line[0] == '[')
}

// parseMessage decodes a child's message from data into m.
func (d *Decoder) parseMessage(data []byte, m *Message) error {
	m.reset()
	it := d.reset(data)
	if it.WhatIsNext() != jsoniter.ObjectValue {
		return malformed(data, "a message must be a JSON object")
	}
	sawCommand := false
	for field := it.ReadObject(); field != "" && it.Error == nil; field = it.ReadObject() {
		var err error
		switch field {
		case "command":
			m.Command, err = d.readString(it, field)
			sawCommand = true
		case "id":
			m.ID, err = d.readID(it)
		case "stream":
			m.Stream, err = d.readString(it, field)
		case "task":
			m.Task, m.Direct, err = d.readOptionalInt(it, field)
		case "anchors":
			m.Anchors, err = d.readAnchors(it, m.Anchors)
		case "tuple":
			m.Tuple, err = d.readTuple(it)
		case "need_task_ids":
			switch it.WhatIsNext() {
			case jsoniter.NilValue:
				it.ReadNil()
			case jsoniter.BoolValue:
				m.NeedTaskIDs = it.ReadBool()
			default:
				err = fmt.Errorf("need_task_ids must be a boolean")
			}
		case "msg":
			m.Msg, err = d.readText(it)
		case "level":
			var set bool
			m.Level, set, err = d.readOptionalInt(it, field)
			if !set {
				m.Level = LevelInfo
			}
		case "name":
			m.Name, err = d.readString(it, field)
		case "params":
			m.Params, err = d.readValue(it, 0)
		case "pid":
			m.Pid, m.HasPid, err = d.readOptionalInt(it, field)
		default:
			it.Skip()
		}
		if err != nil {
			return malformed(data, "%v", err)
		}
	}
	if err := d.finish(it, data); err != nil {
		return err
	}
	if !sawCommand && !m.HasPid {
		return malformed(data, "no command")
	}
	return nil
}

// parseHostMessage decodes a host's message from data into m.
func (d *Decoder) parseHostMessage(data []byte, m *HostMessage) error {
	*m = HostMessage{}
	it := d.reset(data)
	switch it.WhatIsNext() {
	case jsoniter.ArrayValue:
		m.Kind = HostTaskIDs
		m.TaskIDs = []int{}
		for it.ReadArray() {
			if it.WhatIsNext() != jsoniter.NumberValue {
				return malformed(data, "task ids must be integers")
			}
			m.TaskIDs = append(m.TaskIDs, it.ReadInt())
		}
		return d.finish(it, data)
	case jsoniter.ObjectValue:
	default:
		return malformed(data, "a message must be a JSON object or array")
	}
	var (
		h         Handshake
		handshake bool
		comp      any
		err       error
	)
	for field := it.ReadObject(); field != "" && it.Error == nil; field = it.ReadObject() {
		switch field {
		case "pidDir":
			handshake = true
			h.PidDir, err = d.readString(it, field)
		case "conf":
			handshake = true
			var conf any
			if conf, err = d.readValue(it, 0); err == nil {
				h.Conf, _ = conf.(map[string]any)
			}
		case "context":
			handshake = true
			it.ReadVal(&h.Context)
		case "command":
			m.Command, err = d.readString(it, field)
		case "id":
			m.ID, err = d.readID(it)
		case "comp":
			comp, err = d.readValue(it, 0)
		case "stream":
			m.Tuple.Stream, err = d.readString(it, field)
		case "task":
			m.Tuple.Task, _, err = d.readOptionalInt(it, field)
		case "tuple":
			m.Tuple.Tuple, err = d.readTuple(it)
		default:
			it.Skip()
		}
		if err != nil {
			return malformed(data, "%v", err)
		}
	}
	if err := d.finish(it, data); err != nil {
		return err
	}
	switch {
	case handshake:
		m.Kind, m.Handshake = HostHandshake, &h
		m.ID = nil
	case m.Command != "":
		m.Kind = HostCommand
	default:
		m.Kind = HostTuple
		if m.Tuple.Stream == HeartbeatStream {
			m.Kind = HostHeartbeat
		}
		m.Tuple.Comp, _ = comp.(string)
		id, ok := IDString(m.ID)
		if !ok {
			return malformed(data, "a tuple needs a string id")
		}
		m.Tuple.ID, m.ID = id, nil
	}
	return nil
}

// reset points the iterator at data. ResetBytes keeps an earlier error,
// so it is cleared here.
func (d *Decoder) reset(data []byte) *jsoniter.Iterator {
	it := d.iter.ResetBytes(data)
	it.Error = nil
	return it
}

// finish checks that the iterator consumed data without error and that
// nothing but white space follows the value.
func (d *Decoder) finish(it *jsoniter.Iterator, data []byte) error {
	if it.Error != nil && it.Error != io.EOF {
		return malformed(data, "%v", it.Error)
	}
	if it.WhatIsNext() != jsoniter.InvalidValue {
		return malformed(data, "unexpected data after the message")
	}
	return nil
}

func (d *Decoder) readString(it *jsoniter.Iterator, field string) (string, error) {
	switch it.WhatIsNext() {
	case jsoniter.StringValue:
		return it.ReadString(), nil
	case jsoniter.NilValue:
		it.ReadNil()
		return "", nil
	}
	return "", fmt.Errorf("%s must be a string", field)
}

// readText reads a log or error message, accepting any JSON value.
func (d *Decoder) readText(it *jsoniter.Iterator) (string, error) {
	if it.WhatIsNext() == jsoniter.StringValue {
		return it.ReadString(), nil
	}
	v, err := d.readValue(it, 0)
	if err != nil || v == nil {
		return "", err
	}
	return fmt.Sprint(v), nil
}

// readOptionalInt reads an integer or null; set is false for null.
func (d *Decoder) readOptionalInt(it *jsoniter.Iterator, field string) (n int, set bool, err error) {
	switch it.WhatIsNext() {
	case jsoniter.NilValue:
		it.ReadNil()
		return 0, false, nil
	case jsoniter.NumberValue:
		v, err := d.readNumber(it)
		if err != nil {
			return 0, false, err
		}
		i, ok := v.(int64)
		if !ok || i != int64(int(i)) {
			return 0, false, fmt.Errorf("%s must be an integer", field)
		}
		return int(i), true, nil
	}
	return 0, false, fmt.Errorf("%s must be an integer", field)
}

// readID reads a message or tuple id: strings, booleans and integers keep
// their Go type; other numbers, arrays and objects are kept as Raw text.
func (d *Decoder) readID(it *jsoniter.Iterator) (any, error) {
	switch it.WhatIsNext() {
	case jsoniter.StringValue:
		return it.ReadString(), nil
	case jsoniter.NilValue:
		it.ReadNil()
		return nil, nil
	case jsoniter.BoolValue:
		return it.ReadBool(), nil
	case jsoniter.NumberValue:
		d.scratch = it.SkipAndAppendBytes(d.scratch[:0])
		if i, err := strconv.ParseInt(string(d.scratch), 10, 64); err == nil {
			return i, nil
		}
		return Raw(d.scratch), nil
	case jsoniter.ArrayValue, jsoniter.ObjectValue:
		return Raw(it.SkipAndReturnBytes()), it.Error
	}
	return nil, fmt.Errorf("id is not a JSON value")
}

func (d *Decoder) readAnchors(it *jsoniter.Iterator, anchors []string) ([]string, error) {
	switch it.WhatIsNext() {
	case jsoniter.NilValue:
		it.ReadNil()
		return anchors, nil
	case jsoniter.StringValue:
		return append(anchors, it.ReadString()), nil
	case jsoniter.ArrayValue:
		for it.ReadArray() {
			id, err := d.readID(it)
			if err != nil {
				return anchors, err
			}
			s, ok := IDString(id)
			if !ok {
				return anchors, fmt.Errorf("anchors must be tuple ids (strings)")
			}
			anchors = append(anchors, s)
		}
		return anchors, nil
	}
	return anchors, fmt.Errorf("anchors must be a list of tuple ids")
}

func (d *Decoder) readTuple(it *jsoniter.Iterator) ([]any, error) {
	switch it.WhatIsNext() {
	case jsoniter.NilValue:
		it.ReadNil()
		return nil, nil
	case jsoniter.ArrayValue:
		v, err := d.readValue(it, 0)
		if err != nil {
			return nil, err
		}
		return v.([]any), nil
	}
	return nil, fmt.Errorf("tuple must be a list")
}

// readValue reads any JSON value: integers as int64 (or uint64 beyond),
// other numbers as float64, arrays as []any, objects as map[string]any.
func (d *Decoder) readValue(it *jsoniter.Iterator, depth int) (any, error) {
	switch it.WhatIsNext() {
	case jsoniter.StringValue:
		return it.ReadString(), nil
	case jsoniter.NumberValue:
		return d.readNumber(it)
	case jsoniter.NilValue:
		it.ReadNil()
		return nil, nil
	case jsoniter.BoolValue:
		return it.ReadBool(), nil
	case jsoniter.ArrayValue:
		if depth >= maxDepth {
			return nil, fmt.Errorf("values nested deeper than %d", maxDepth)
		}
		arr := []any{}
		for it.ReadArray() {
			v, err := d.readValue(it, depth+1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		return arr, it.Error
	case jsoniter.ObjectValue:
		if depth >= maxDepth {
			return nil, fmt.Errorf("values nested deeper than %d", maxDepth)
		}
		obj := map[string]any{}
		for field := it.ReadObject(); field != "" && it.Error == nil; field = it.ReadObject() {
			v, err := d.readValue(it, depth+1)
			if err != nil {
				return nil, err
			}
			obj[field] = v
		}
		return obj, it.Error
	}
	if it.Error != nil {
		return nil, it.Error
	}
	return nil, fmt.Errorf("invalid JSON value")
}

func (d *Decoder) readNumber(it *jsoniter.Iterator) (any, error) {
	d.scratch = it.SkipAndAppendBytes(d.scratch[:0])
	if it.Error != nil {
		return nil, it.Error
	}
	text := string(d.scratch) // does not allocate: used only for parsing
	if bytes.IndexAny(d.scratch, ".eE") < 0 {
		if i, err := strconv.ParseInt(text, 10, 64); err == nil {
			return i, nil
		}
		if u, err := strconv.ParseUint(text, 10, 64); err == nil {
			return u, nil
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(f, 0) {
		return nil, fmt.Errorf("number %s is out of range", Snippet(d.scratch))
	}
	return f, nil
}
