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

	"github.com/squallstream/squall/internal/intern"
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

	// values interns the short strings of tuples.
	values intern.Table
	// lastID is the last tuple id decoded, which the next emits of a burst
	// usually anchor to again.
	lastID string
}

// internID returns a tuple id, sharing it with the last one when equal.
func (d *Decoder) internID(raw []byte) string {
	if string(raw) != d.lastID {
		d.lastID = string(raw)
	}
	return d.lastID
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
		midLine  bool // the previous chunk ended inside a line
		skipping bool // the rest of the current line is stray output
		// blankStart is set while a line longer than the read buffer has
		// held only white space: whether it starts a message is not
		// known yet.
		blankStart bool
		tooLarge   bool   // the message passed the cap and is being skipped
		size       int    // bytes of the message seen so far
		lines      int    // lines of the message seen so far
		snippet    string // the start of a message that is too large
		sawAnyLine bool
		// strayLong holds the size and start of the last stray line
		// longer than the cap, for the error if no message follows it.
		strayLong    int
		straySnippet string
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
				what := "message"
				if lines == 1 {
					what = "line"
				}
				return tooLargeError(what, size, d.max, snippet)
			case len(d.frame) == 0 && strayLong > d.max:
				// The line that should have held the message was too
				// long to be read as one.
				return tooLargeError("line", strayLong, d.max, straySnippet)
			case len(d.frame) == 0:
				return &FrameError{Err: ErrMalformed, Detail: "empty message", Snippet: `"end"`}
			}
			return d.checkUTF8()
		}
		sawAnyLine = true
		if lineStart {
			lines++
		}
		if skipping {
			skipping = !complete
			if strayLong > 0 {
				strayLong += len(chunk)
			}
			continue
		}
		if tooLarge {
			if lineStart {
				size++ // the newline joining it to the line before
			}
			size += len(chunk)
			continue
		}
		if blankStart {
			// Still deciding whether this long line starts a message.
			lineStart, blankStart = true, false
		}
		if lineStart && len(d.frame) == 0 {
			lines = 1
			// Between messages: only a line that can start a JSON message
			// begins one; anything else is stray output.
			if isBlank(chunk) {
				blankStart = !complete
				continue
			}
			if !startsMessage(chunk) {
				if d.opts.OnStray != nil {
					d.opts.OnStray(chunk)
				}
				skipping = !complete
				strayLong = 0
				if skipping {
					// Longer than the read buffer: note it in case it
					// turns out longer than the cap.
					strayLong, straySnippet = len(chunk), Snippet(chunk[:min(len(chunk), snippetLen+1)])
				}
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

// tooLargeError describes what (a message, or one line of one) of size
// bytes, over the cap max.
func tooLargeError(what string, size, max int, snippet string) *FrameError {
	return &FrameError{Err: ErrTooLarge, Snippet: snippet,
		Detail: fmt.Sprintf("%s of %d bytes, longer than the limit of %d bytes (topology.multilang.max.message.bytes)", what, size, max)}
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
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line
}

func isEndLine(line []byte) bool { return string(line) == "end" }

// firstNonSpace returns the first byte of line that is not JSON white
// space, 0 if there is none.
func firstNonSpace(line []byte) byte {
	for _, c := range line {
		switch c {
		case ' ', '\t', '\r', '\n':
		default:
			return c
		}
	}
	return 0
}

func isBlank(line []byte) bool { return firstNonSpace(line) == 0 }

// startsMessage reports whether line can begin a JSON message: every
// message is an object, except task-id replies, which are arrays.
func startsMessage(line []byte) bool {
	c := firstNonSpace(line)
	return c == '{' || c == '['
}

// parseMessage decodes a child's message from data into m. The envelope
// is scanned directly; values that are more than scalars go through
// json-iterator.
func (d *Decoder) parseMessage(data []byte, m *Message) error {
	m.reset()
	e := envelope{b: data}
	if e.peek() != '{' {
		return malformed(data, "a message must be a JSON object")
	}
	e.pos++
	sawCommand := false
	// The state extension's fields, checked once the command is known.
	var keys, items any
	var sawKeys, sawItems bool
	if e.peek() == '}' {
		e.pos++
	} else {
		for {
			raw, escaped, err := e.rawString()
			if err != nil {
				return malformed(data, "%v", err)
			}
			if escaped { // a key spelled with escapes: rare, so allocate
				key, err := unescape(raw)
				if err != nil {
					return malformed(data, "%v", err)
				}
				raw = []byte(key)
			}
			if err := e.expect(':'); err != nil {
				return malformed(data, "%v", err)
			}
			switch string(raw) { // compared without allocating
			case "command":
				m.Command, err = d.envString(&e, "command")
				sawCommand = true
			case "id":
				m.ID, err = d.envID(&e)
			case "stream":
				m.Stream, err = d.envString(&e, "stream")
			case "task":
				m.Task, m.Direct, err = d.envInt(&e, "task")
			case "anchors":
				m.Anchors, err = d.envAnchors(&e, m.Anchors)
			case "tuple":
				m.Tuple, err = d.envTuple(&e)
			case "need_task_ids":
				switch {
				case e.literal("null"):
				case e.literal("true"):
					m.NeedTaskIDs = true
				case e.literal("false"):
					m.NeedTaskIDs = false
				default:
					err = fmt.Errorf("need_task_ids must be a boolean")
				}
			case "msg":
				m.Msg, err = d.envText(&e)
			case "level":
				var set bool
				if m.Level, set, err = d.envInt(&e, "level"); !set {
					m.Level = LevelInfo
				}
			case "name":
				m.Name, err = d.envString(&e, "name")
			case "params":
				m.Params, err = d.envValue(&e)
			case "pid":
				m.Pid, m.HasPid, err = d.envInt(&e, "pid")
			case "keys":
				keys, err = d.envValue(&e)
				sawKeys = true
			case "items":
				items, err = d.envValue(&e)
				sawItems = true
			default:
				_, err = d.envValue(&e)
			}
			if err != nil {
				return malformed(data, "%v", err)
			}
			switch e.peek() {
			case ',':
				e.pos++
				continue
			case '}':
				e.pos++
			default:
				return malformed(data, "expected , or } after %q", raw)
			}
			break
		}
	}
	if e.peek() != 0 {
		return malformed(data, "unexpected data after the message")
	}
	if !sawCommand && !m.HasPid {
		return malformed(data, "no command")
	}
	if isStateCommand(m.Command) {
		if err := stateFields(m, keys, items, sawKeys, sawItems); err != nil {
			return malformed(data, "%v", err)
		}
	}
	return nil
}

func (d *Decoder) envString(e *envelope, field string) (string, error) {
	switch e.peek() {
	case '"':
		return e.internedString()
	case 'n':
		if e.literal("null") {
			return "", nil
		}
	}
	return "", fmt.Errorf("%s must be a string", field)
}

// envText reads a log or error message, accepting any JSON value.
func (d *Decoder) envText(e *envelope) (string, error) {
	if e.peek() == '"' {
		return e.str()
	}
	v, err := d.envValue(e)
	if err != nil || v == nil {
		return "", err
	}
	return fmt.Sprint(v), nil
}

// envInt reads an integer or null; set is false for null.
func (d *Decoder) envInt(e *envelope, field string) (n int, set bool, err error) {
	if e.literal("null") {
		return 0, false, nil
	}
	raw, err := e.skip()
	if err != nil {
		return 0, false, err
	}
	i, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || i != int64(int(i)) {
		return 0, false, fmt.Errorf("%s must be an integer", field)
	}
	return int(i), true, nil
}

// envID reads a message or tuple id: strings, booleans and integers keep
// their Go type; other numbers, arrays and objects are kept as Raw text.
func (d *Decoder) envID(e *envelope) (any, error) {
	switch c := e.peek(); {
	case c == '"':
		return e.str()
	case e.literal("null"):
		return nil, nil
	case e.literal("true"):
		return true, nil
	case e.literal("false"):
		return false, nil
	}
	raw, err := e.skip()
	if err != nil {
		return nil, err
	}
	if i, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
		return i, nil
	}
	if !isNumber(raw) && !((raw[0] == '[' || raw[0] == '{') && jsonAPI.Valid(raw)) {
		return nil, fmt.Errorf("id %s is not a JSON value", Snippet(raw))
	}
	return Raw(raw), nil
}

func (d *Decoder) envAnchors(e *envelope, anchors []string) ([]string, error) {
	switch e.peek() {
	case 'n':
		if e.literal("null") {
			return anchors, nil
		}
	case '"':
		s, err := d.envAnchor(e)
		return append(anchors, s), err
	case '[':
		e.pos++
		if e.peek() == ']' {
			e.pos++
			return anchors, nil
		}
		for {
			var s string
			var err error
			if e.peek() == '"' {
				s, err = d.envAnchor(e)
			} else {
				var id any
				if id, err = d.envID(e); err == nil {
					var ok bool
					if s, ok = IDString(id); !ok {
						err = fmt.Errorf("anchors must be tuple ids (strings)")
					}
				}
			}
			if err != nil {
				return anchors, err
			}
			anchors = append(anchors, s)
			switch e.peek() {
			case ',':
				e.pos++
			case ']':
				e.pos++
				return anchors, nil
			default:
				return anchors, fmt.Errorf("%w: anchors list not closed", errSyntax)
			}
		}
	}
	return anchors, fmt.Errorf("anchors must be a list of tuple ids")
}

// envAnchor reads an anchor id string.
func (d *Decoder) envAnchor(e *envelope) (string, error) {
	raw, escaped, err := e.rawString()
	if err != nil || escaped {
		if err == nil {
			return unescape(raw)
		}
		return "", err
	}
	return d.internID(raw), nil
}

func (d *Decoder) envTuple(e *envelope) ([]any, error) {
	switch e.peek() {
	case 'n':
		if e.literal("null") {
			return nil, nil
		}
	case '[':
		// Scalars are read here in one pass; nested values go through
		// json-iterator.
		e.pos++
		tuple := []any{}
		if e.peek() == ']' {
			e.pos++
			return tuple, nil
		}
		for {
			var v any
			var err error
			switch c := e.peek(); {
			case c == '"':
				raw, escaped, rerr := e.rawString()
				switch {
				case rerr != nil:
					err = rerr
				case escaped:
					v, err = unescape(raw)
				default:
					v = d.values.Value(raw)
				}
			case c == '[' || c == '{':
				v, err = d.envValue(e)
			case e.literal("null"):
			case e.literal("true"):
				v = true
			case e.literal("false"):
				v = false
			default:
				var raw []byte
				if raw, err = e.skip(); err == nil {
					if !isNumber(raw) {
						err = fmt.Errorf("%w: %s is not a JSON value", errSyntax, Snippet(raw))
					} else {
						v, err = number(raw)
					}
				}
			}
			if err != nil {
				return nil, err
			}
			tuple = append(tuple, v)
			switch e.peek() {
			case ',':
				e.pos++
			case ']':
				e.pos++
				return tuple, nil
			default:
				return nil, fmt.Errorf("%w: tuple list not closed", errSyntax)
			}
		}
	}
	return nil, fmt.Errorf("tuple must be a list")
}

// envValue reads any JSON value with json-iterator.
func (d *Decoder) envValue(e *envelope) (any, error) {
	raw, err := e.skip()
	if err != nil {
		return nil, err
	}
	it := d.reset(raw)
	v, err := d.readValue(it, 0)
	if err != nil {
		return nil, err
	}
	if err := it.Error; err != nil && err != io.EOF {
		return nil, err
	}
	if it.WhatIsNext() != jsoniter.InvalidValue {
		return nil, fmt.Errorf("%w: unexpected data in a value", errSyntax)
	}
	return v, nil
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
		items     any
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
		case "items":
			items, err = d.readValue(it, 0)
		case "more":
			switch it.WhatIsNext() {
			case jsoniter.BoolValue:
				m.More = it.ReadBool()
			case jsoniter.NilValue:
				it.ReadNil()
			default:
				err = fmt.Errorf("more must be a boolean")
			}
		case "txid":
			var v any
			if v, err = d.readValue(it, 0); err == nil {
				var ok bool
				if m.TxID, ok = v.(int64); !ok {
					err = fmt.Errorf("txid must be an integer")
				}
			}
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
		if err := hostStateFields(m, items); err != nil {
			return malformed(data, "%v", err)
		}
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
	if it.Error != nil && it.Error != io.EOF { // a number may end its input
		return nil, it.Error
	}
	return number(d.scratch)
}

// number converts the text of a JSON number: integers to int64 (uint64
// beyond), others to float64.
func number(b []byte) (any, error) {
	text := string(b) // does not allocate: used only for parsing
	if !bytes.ContainsAny(b, ".eE") {
		if i, err := strconv.ParseInt(text, 10, 64); err == nil {
			return i, nil
		}
		if u, err := strconv.ParseUint(text, 10, 64); err == nil {
			return u, nil
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(f, 0) {
		return nil, fmt.Errorf("number %s is out of range", Snippet(b))
	}
	return f, nil
}
