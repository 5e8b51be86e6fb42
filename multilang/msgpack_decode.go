package multilang

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/squallstream/squall/internal/intern"
)

// RawMsgpack is a MessagePack value kept as its exact bytes, so that it is
// echoed back to the child byte for byte: message ids from a MessagePack
// child that are not strings, booleans, integers or null (floats, arrays,
// maps, binaries, extensions) decode as RawMsgpack. Like Raw it is
// comparable, so it can key a map. Its MarshalJSON shows it as JSON, for
// logs and error reports.
type RawMsgpack string

// MarshalJSON renders the value as JSON: binaries as base64 strings,
// extensions as {"ext": type, "data": base64}.
func (r RawMsgpack) MarshalJSON() ([]byte, error) {
	p := &mpParser{b: []byte(r)}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	return jsonAPI.Marshal(v)
}

// MsgpackDecoder reads pystorm's MessagePack framing of the multilang
// protocol: each message is one MessagePack map (a task-id reply an array),
// with nothing between messages. It gives the same guarantees as Decoder:
// a message above the size cap is skipped without being buffered and
// reported as ErrTooLarge, nesting is bounded, invalid UTF-8 in strings is
// replaced, and a line of text where a message should start (stray output)
// is reported and skipped. It is not safe for concurrent use.
type MsgpackDecoder struct {
	r    *bufio.Reader
	opts DecoderOptions
	max  int

	scan  mpScanner
	frame []byte // a message that arrived in pieces
	p     mpParser
	// values interns the short strings of tuples; lastID is the last
	// anchor decoded, which the next emits of a burst usually repeat.
	values intern.Table
	lastID string
}

// NewMsgpackDecoder returns a decoder reading from r.
func NewMsgpackDecoder(r io.Reader, opts DecoderOptions) *MsgpackDecoder {
	br, ok := r.(*bufio.Reader)
	if !ok || br.Size() < readBufferSize {
		br = bufio.NewReaderSize(r, readBufferSize)
	}
	max := opts.MaxMessageBytes
	if max <= 0 {
		max = DefaultMaxMessageBytes
	}
	return &MsgpackDecoder{r: br, opts: opts, max: max}
}

// Buffered returns the number of bytes read from the underlying reader and
// not yet decoded: when it is zero, the next Decode may block.
func (d *MsgpackDecoder) Buffered() int { return d.r.Buffered() }

// Decode reads the next message a child sent. At the end of the input it
// returns io.EOF, or io.ErrUnexpectedEOF inside a message. A *FrameError
// (ErrMalformed, ErrTooLarge) leaves the decoder after the bad message.
func (d *MsgpackDecoder) Decode(m *Message) error {
	return d.decode(func(p *mpParser) error { return parseMsgpackMessage(p, m) })
}

// DecodeHost reads the next message a host sent, as a child would.
func (d *MsgpackDecoder) DecodeHost(m *HostMessage) error {
	return d.decode(func(p *mpParser) error { return parseMsgpackHostMessage(p, m) })
}

func (d *MsgpackDecoder) decode(parse func(p *mpParser) error) error {
	if err := d.skipStray(); err != nil {
		return err
	}
	// Fast path: the whole message is buffered; parse it where it is.
	buf, _ := d.r.Peek(d.r.Buffered())
	p := d.parser(buf)
	err := parse(p)
	if !p.truncated && p.i <= d.max {
		if err != nil {
			err = d.malformedInPlace(buf, err)
		} else {
			err = d.finish(p, buf[:p.i])
			d.r.Discard(p.i)
		}
		return err
	}
	// Slow path: find where the message ends, gathering its pieces.
	data, err := d.readFrame()
	if err != nil {
		return err
	}
	p = d.parser(data)
	if err := parse(p); err != nil {
		return malformed(data, "%v", err)
	}
	if p.i != len(data) {
		return malformed(data, "unexpected data after the message")
	}
	return d.finish(p, data)
}

// malformedInPlace reports the malformed message at the start of buf and
// moves past it.
func (d *MsgpackDecoder) malformedInPlace(buf []byte, cause error) error {
	var s mpScanner
	s.reset()
	used, done, serr := s.feed(buf)
	if serr == nil && done {
		d.r.Discard(used)
		return malformed(buf[:used], "%v", cause)
	}
	if serr != nil {
		d.r.Discard(used)
		return malformed(buf[:used][max(0, used-snippetLen):], "%v", serr)
	}
	// The message goes on beyond the buffer: skip the rest of it.
	snippet := Snippet(buf[:min(len(buf), snippetLen+1)])
	if _, err := d.readFrame(); err != nil {
		return err
	}
	return &FrameError{Err: ErrMalformed, Detail: cause.Error(), Snippet: snippet}
}

// readFrame reads the bytes of the next message into d.frame, which it
// returns. A message above the size cap is skipped without being kept.
func (d *MsgpackDecoder) readFrame() ([]byte, error) {
	if cap(d.frame) > 4*readBufferSize {
		d.frame = nil // do not keep a huge buffer after a huge message
	}
	d.frame = d.frame[:0]
	d.scan.reset()
	var (
		size     int
		tooLarge bool
		snippet  string
	)
	for {
		if _, err := d.r.Peek(1); err != nil {
			if err == io.EOF {
				return nil, fmt.Errorf("message cut short %s: %w", Snippet(d.frame), io.ErrUnexpectedEOF)
			}
			return nil, err
		}
		buf, _ := d.r.Peek(d.r.Buffered())
		used, done, serr := d.scan.feed(buf)
		if serr != nil {
			bad := append(d.frame, buf[:used]...)
			d.r.Discard(used)
			return nil, malformed(bad[max(0, len(bad)-snippetLen):], "%v", serr)
		}
		size += used
		if !tooLarge && size > d.max {
			tooLarge = true
			head := append(d.frame, buf[:min(used, snippetLen+1)]...)
			snippet = Snippet(head[:min(len(head), snippetLen+1)])
			d.frame = d.frame[:0]
		}
		if !tooLarge {
			d.frame = append(d.frame, buf[:used]...)
		}
		d.r.Discard(used)
		if !done {
			continue
		}
		switch {
		case tooLarge:
			return nil, tooLargeError("message", size, d.max, snippet)
		case d.scan.tooDeep:
			return nil, malformed(d.frame, "values nested deeper than %d", maxDepth)
		}
		return d.frame, nil
	}
}

// skipStray passes over lines of text (and blank lines) where a message
// should start, reporting each to OnStray, and returns once the next byte
// may start a MessagePack message. Messages are maps or arrays; a line of
// text starts with an ASCII byte, which MessagePack reads as a small
// integer, never a message.
func (d *MsgpackDecoder) skipStray() error {
	for {
		b, err := d.r.Peek(1)
		if err != nil {
			return err // io.EOF between messages is a clean end
		}
		if b[0] >= 0x80 {
			return nil
		}
		line, err := d.r.ReadSlice('\n')
		partial := err == bufio.ErrBufferFull
		if err != nil && !partial && err != io.EOF {
			return err
		}
		text := trimEOL(line)
		if d.opts.OnStray != nil && (partial || !isBlank(text)) {
			d.opts.OnStray(text)
		}
		for partial { // the rest of a line longer than the buffer
			_, err = d.r.ReadSlice('\n')
			partial = err == bufio.ErrBufferFull
		}
	}
}

// parseMsgpackMessage decodes a child's message into m.
func parseMsgpackMessage(p *mpParser, m *Message) error {
	m.reset()
	n, ok := p.mapLen()
	if !ok {
		return p.errOr("a message must be a MessagePack map")
	}
	sawCommand := false
	var keys, items any
	var sawKeys, sawItems bool
	for range n {
		key, isKey := p.keyBytes()
		var err error
		switch string(key) {
		case "command":
			m.Command, err = p.internedStr("command")
			sawCommand = true
		case "id":
			m.ID, err = p.id()
		case "stream":
			m.Stream, err = p.internedStr("stream")
		case "task":
			m.Task, m.Direct, err = p.optionalInt("task")
		case "anchors":
			m.Anchors, err = p.anchors(m.Anchors)
		case "tuple":
			m.Tuple, err = p.tuple()
		case "need_task_ids":
			switch c := p.peek(); c {
			case mpNil:
				p.i++
			case mpTrue, mpFalse:
				m.NeedTaskIDs = c == mpTrue
				p.i++
			default:
				err = errors.New("need_task_ids must be a boolean")
			}
		case "msg":
			m.Msg, err = p.text()
		case "level":
			var set bool
			m.Level, set, err = p.optionalInt("level")
			if !set {
				m.Level = LevelInfo
			}
		case "name":
			m.Name, err = p.str("name")
		case "params":
			m.Params, err = p.value(0)
		case "pid":
			m.Pid, m.HasPid, err = p.optionalInt("pid")
		case "keys":
			keys, err = p.value(0)
			sawKeys = true
		case "items":
			items, err = p.value(0)
			sawItems = true
		default:
			err = p.skip() // an unknown field, or a key JSON could not have
		}
		if !isKey && err == nil {
			err = p.err
		}
		if err != nil {
			return err
		}
	}
	if p.err != nil {
		return p.err
	}
	if !sawCommand && !m.HasPid {
		return errors.New("no command")
	}
	if isStateCommand(m.Command) {
		return stateFields(m, keys, items, sawKeys, sawItems)
	}
	return nil
}

// parseMsgpackHostMessage decodes a host's message into m.
func parseMsgpackHostMessage(p *mpParser, m *HostMessage) error {
	*m = HostMessage{}
	if n, ok := p.arrayLen(); ok {
		m.Kind = HostTaskIDs
		m.TaskIDs = make([]int, 0, n)
		for range n {
			id, set, err := p.optionalInt("task id")
			if err != nil || !set {
				return p.errOr("task ids must be integers")
			}
			m.TaskIDs = append(m.TaskIDs, id)
		}
		return p.err
	}
	n, ok := p.mapLen()
	if !ok {
		return p.errOr("a message must be a MessagePack map or array")
	}
	var (
		h         Handshake
		handshake bool
		comp      any
		items     any
		err       error
	)
	for range n {
		key, isKey := p.keyBytes()
		switch string(key) {
		case "pidDir":
			handshake = true
			h.PidDir, err = p.str("pidDir")
		case "conf":
			handshake = true
			var conf any
			if conf, err = p.value(0); err == nil {
				h.Conf, _ = conf.(map[string]any)
			}
		case "context":
			handshake = true
			var ctx any
			if ctx, err = p.value(0); err == nil {
				err = contextFromValue(ctx, &h.Context)
			}
		case "command":
			m.Command, err = p.str("command")
		case "id":
			m.ID, err = p.id()
		case "comp":
			comp, err = p.value(0)
		case "stream":
			m.Tuple.Stream, err = p.str("stream")
		case "task":
			m.Tuple.Task, _, err = p.optionalInt("task")
		case "tuple":
			m.Tuple.Tuple, err = p.tuple()
		case "items":
			items, err = p.value(0)
		case "more":
			switch c := p.peek(); c {
			case mpNil:
				p.i++
			case mpTrue, mpFalse:
				m.More = c == mpTrue
				p.i++
			default:
				err = errors.New("more must be a boolean")
			}
		case "txid":
			var v any
			if v, err = p.value(0); err == nil {
				var ok bool
				if m.TxID, ok = v.(int64); !ok {
					err = errors.New("txid must be an integer")
				}
			}
		default:
			err = p.skip()
		}
		if !isKey && err == nil {
			err = p.err
		}
		if err != nil {
			return err
		}
	}
	if p.err != nil {
		return p.err
	}
	switch {
	case handshake:
		m.Kind, m.Handshake = HostHandshake, &h
		m.ID = nil
	case m.Command != "":
		m.Kind = HostCommand
		if err := hostStateFields(m, items); err != nil {
			return err
		}
	default:
		m.Kind = HostTuple
		if m.Tuple.Stream == HeartbeatStream {
			m.Kind = HostHeartbeat
		}
		m.Tuple.Comp, _ = comp.(string)
		id, ok := IDString(m.ID)
		if !ok {
			return errors.New("a tuple needs a string id")
		}
		m.Tuple.ID, m.ID = id, nil
	}
	return nil
}

// contextFromValue fills ctx from the decoded context map, with the same
// rules as the JSON decoder (which decodes it with reflection).
func contextFromValue(v any, ctx *Context) error {
	if _, ok := v.(map[string]any); !ok && v != nil {
		return errors.New("context must be a map")
	}
	text, err := jsonAPI.Marshal(v)
	if err != nil {
		return fmt.Errorf("context: %v", err)
	}
	if err := jsonAPI.Unmarshal(text, ctx); err != nil {
		return fmt.Errorf("context: %v", err)
	}
	return nil
}

func (d *MsgpackDecoder) parser(data []byte) *mpParser {
	d.p = mpParser{b: data, values: &d.values, lastID: &d.lastID}
	return &d.p
}

// finish reports invalid UTF-8 that was replaced in the message data.
func (d *MsgpackDecoder) finish(p *mpParser, data []byte) error {
	if p.badUTF8 && d.opts.OnInvalidUTF8 != nil {
		d.opts.OnInvalidUTF8(Snippet(data))
	}
	return nil
}

// mpParser decodes MessagePack values from a complete message. Strings and
// binaries it returns are copies: the message may be the reader's buffer.
type mpParser struct {
	b []byte
	i int
	// err is a structural error (truncated data) met by a method that
	// reports success with a bool.
	err error
	// truncated is set when the data ended inside a value.
	truncated bool
	// badUTF8 is set when a string held invalid UTF-8, replaced by U+FFFD.
	badUTF8 bool
	// values and lastID, when set, share repeated strings across
	// messages: values those of tuples, lastID the last anchor.
	values *intern.Table
	lastID *string
}

var errTruncated = errors.New("truncated MessagePack value")

// errOr returns the structural error met, if any, else an error with text.
func (p *mpParser) errOr(text string) error {
	if p.err != nil {
		return p.err
	}
	return errors.New(text)
}

func (p *mpParser) truncate() {
	p.err, p.truncated = errTruncated, true
	p.i = len(p.b)
}

// peek returns the next format byte; at the end of the data it notes the
// truncation and returns the byte that is never used.
func (p *mpParser) peek() byte {
	if p.i >= len(p.b) {
		p.truncate()
		return mpNever
	}
	return p.b[p.i]
}

// need returns the next n bytes and moves past them.
func (p *mpParser) need(n uint64) ([]byte, bool) {
	if n > uint64(len(p.b)-p.i) {
		p.truncate()
		return nil, false
	}
	s := p.b[p.i : p.i+int(n)]
	p.i += int(n)
	return s, true
}

// header reads a header: its format byte and its extra bytes.
func (p *mpParser) header() (c byte, h []byte, ok bool) {
	if p.i >= len(p.b) {
		p.truncate()
		return 0, nil, false
	}
	size := mpHeaderSize(p.b[p.i])
	if size == 0 {
		p.err = fmt.Errorf("byte 0x%02x is not MessagePack", p.b[p.i])
		return 0, nil, false
	}
	h, ok = p.need(uint64(size))
	if !ok {
		return 0, nil, false
	}
	return h[0], h, true
}

// mapLen reads a map header and returns its number of entries; ok is false
// (and nothing read) if the next value is not a map.
func (p *mpParser) mapLen() (int, bool) {
	if i := p.i; i < len(p.b) && p.b[i]>>4 == 0x8 { // fixmap, the usual
		p.i++
		return p.count(uint64(p.b[i] & 0x0f))
	}
	c := p.peek()
	if !(c >= 0x80 && c <= 0x8f) && c != mpMap16 && c != mpMap32 {
		return 0, false
	}
	_, h, ok := p.header()
	if !ok {
		return 0, false
	}
	elements, _ := mpHeader(h)
	return p.count(elements / 2)
}

// arrayLen is mapLen for arrays.
func (p *mpParser) arrayLen() (int, bool) {
	if i := p.i; i < len(p.b) && p.b[i]>>4 == 0x9 { // fixarray, the usual
		p.i++
		return p.count(uint64(p.b[i] & 0x0f))
	}
	c := p.peek()
	if !(c >= 0x90 && c <= 0x9f) && c != mpArray16 && c != mpArray32 {
		return 0, false
	}
	_, h, ok := p.header()
	if !ok {
		return 0, false
	}
	elements, _ := mpHeader(h)
	return p.count(elements)
}

// count checks a container's element count against the bytes left: every
// element takes at least one byte, so a larger count is a lie.
func (p *mpParser) count(n uint64) (int, bool) {
	if n > uint64(len(p.b)-p.i) {
		p.truncate()
		return 0, false
	}
	return int(n), true
}

// rawString returns the bytes of a string or binary (not copied) and
// whether the next value was one; nothing is read otherwise.
func (p *mpParser) rawString() ([]byte, bool) {
	if i := p.i; i < len(p.b) && p.b[i]>>5 == 0xa0>>5 { // fixstr, the usual
		if end := i + 1 + int(p.b[i]&0x1f); end <= len(p.b) {
			p.i = end
			return p.b[i+1 : end], true
		}
	}
	c := p.peek()
	isStr := (c >= 0xa0 && c <= 0xbf) || (c >= mpStr8 && c <= mpStr32) || (c >= mpBin8 && c <= mpBin32)
	if !isStr {
		return nil, false
	}
	_, h, ok := p.header()
	if !ok {
		return nil, false
	}
	_, n := mpHeader(h)
	return p.need(n)
}

// keyBytes reads a message's key: the bytes of a string (not copied),
// or, with isKey false, nothing but an empty slice for a key of another
// type, which it skips.
func (p *mpParser) keyBytes() (key []byte, isKey bool) {
	if b, ok := p.rawString(); ok {
		return b, true
	}
	if p.err == nil {
		p.skip()
	}
	return nil, false
}

// key reads a map key: a string, or an integer (which JSON shows as a
// string). isKey is false, and the key skipped, for any other value.
func (p *mpParser) key() (string, bool) {
	if b, ok := p.rawString(); ok {
		return p.text8(b), true
	}
	if p.err != nil {
		return "", false
	}
	switch v, _ := p.scalar(); x := v.(type) {
	case int64:
		return strconv.FormatInt(x, 10), true
	case uint64:
		return strconv.FormatUint(x, 10), true
	}
	return "", false
}

// text8 returns b as a string, replacing invalid UTF-8.
func (p *mpParser) text8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	p.badUTF8 = true
	return string(bytes.ToValidUTF8(b, []byte("\uFFFD")))
}

// str reads a string or null ("").
func (p *mpParser) str(field string) (string, error) {
	if b, ok := p.rawString(); ok {
		return p.text8(b), nil
	}
	if p.peek() == mpNil {
		p.i++
		return "", nil
	}
	if p.err != nil {
		return "", p.err
	}
	return "", fmt.Errorf("%s must be a string", field)
}

// internedStr is str for fields whose values are usually the same few
// strings (commands, the default stream): those are not allocated.
func (p *mpParser) internedStr(field string) (string, error) {
	start := p.i
	if b, ok := p.rawString(); ok {
		switch string(b) {
		case CmdEmit:
			return CmdEmit, nil
		case CmdAck:
			return CmdAck, nil
		case CmdFail:
			return CmdFail, nil
		case CmdSync:
			return CmdSync, nil
		case CmdLog:
			return CmdLog, nil
		case "default":
			return "default", nil
		}
		p.i = start
	}
	return p.str(field)
}

// text reads a log or error message, accepting any value.
func (p *mpParser) text() (string, error) {
	if b, ok := p.rawString(); ok {
		return p.text8(b), nil
	}
	v, err := p.value(0)
	if err != nil || v == nil {
		return "", err
	}
	return fmt.Sprint(v), nil
}

// optionalInt reads an integer or null; set is false for null.
func (p *mpParser) optionalInt(field string) (n int, set bool, err error) {
	if p.peek() == mpNil {
		p.i++
		return 0, false, nil
	}
	v, isScalar := p.scalar()
	if p.err != nil {
		return 0, false, p.err
	}
	if i, ok := v.(int64); ok && isScalar && i == int64(int(i)) {
		return int(i), true, nil
	}
	if !isScalar {
		p.skip()
	}
	return 0, false, fmt.Errorf("%s must be an integer", field)
}

// scalar reads a nil, boolean, integer or float. isScalar is false, and
// nothing read, for other values.
func (p *mpParser) scalar() (v any, isScalar bool) {
	c := p.peek()
	switch {
	case c <= 0x7f:
		p.i++
		return int64(c), true
	case c >= 0xe0:
		p.i++
		return int64(int8(c)), true
	case c == mpNil:
		p.i++
		return nil, true
	case c == mpFalse || c == mpTrue:
		p.i++
		return c == mpTrue, true
	case c < mpFloat32 || c > mpInt64:
		return nil, false
	}
	_, h, ok := p.header()
	if !ok {
		return nil, true
	}
	b := h[1:]
	switch c {
	case mpFloat32:
		return float64(math.Float32frombits(binary.BigEndian.Uint32(b))), true
	case mpFloat64:
		return math.Float64frombits(binary.BigEndian.Uint64(b)), true
	case mpUint8:
		return int64(b[0]), true
	case mpUint16:
		return int64(binary.BigEndian.Uint16(b)), true
	case mpUint32:
		return int64(binary.BigEndian.Uint32(b)), true
	case mpUint64:
		if u := binary.BigEndian.Uint64(b); u > math.MaxInt64 {
			return u, true
		} else {
			return int64(u), true
		}
	case mpInt8:
		return int64(int8(b[0])), true
	case mpInt16:
		return int64(int16(binary.BigEndian.Uint16(b))), true
	case mpInt32:
		return int64(int32(binary.BigEndian.Uint32(b))), true
	}
	return int64(binary.BigEndian.Uint64(b)), true // mpInt64
}

// id reads a message or tuple id: strings, booleans and integers keep their
// Go type (integers beyond int64 become Raw decimal text, as in JSON);
// anything else is kept as RawMsgpack.
func (p *mpParser) id() (any, error) {
	start := p.i
	c := p.peek()
	if (c >= 0xa0 && c <= 0xbf) || (c >= mpStr8 && c <= mpStr32) {
		b, _ := p.rawString()
		return p.text8(b), p.err
	}
	if c != mpFloat32 && c != mpFloat64 {
		if v, ok := p.scalar(); ok {
			if u, big := v.(uint64); big {
				return Raw(strconv.FormatUint(u, 10)), p.err
			}
			return v, p.err
		}
	}
	if err := p.skip(); err != nil {
		return nil, err
	}
	return RawMsgpack(p.b[start:p.i]), nil
}

func (p *mpParser) anchors(anchors []string) ([]string, error) {
	if p.peek() == mpNil {
		p.i++
		return anchors, nil
	}
	if b, ok := p.rawString(); ok {
		return append(anchors, p.anchor(b)), nil
	}
	n, ok := p.arrayLen()
	if !ok {
		if p.err != nil {
			return anchors, p.err
		}
		return anchors, errors.New("anchors must be a list of tuple ids")
	}
	for range n {
		var s string
		if b, ok := p.rawString(); ok {
			s = p.anchor(b)
		} else {
			id, err := p.id()
			if err != nil {
				return anchors, err
			}
			if s, ok = IDString(id); !ok {
				return anchors, errors.New("anchors must be tuple ids (strings)")
			}
		}
		anchors = append(anchors, s)
	}
	return anchors, p.err
}

// anchor returns an anchor's tuple id, sharing it with the last one
// when equal.
func (p *mpParser) anchor(b []byte) string {
	if p.lastID == nil || !utf8.Valid(b) {
		return p.text8(b)
	}
	if string(b) != *p.lastID {
		*p.lastID = string(b)
	}
	return *p.lastID
}

func (p *mpParser) tuple() ([]any, error) {
	if p.peek() == mpNil {
		p.i++
		return nil, nil
	}
	c := p.peek()
	if !(c >= 0x90 && c <= 0x9f) && c != mpArray16 && c != mpArray32 {
		return nil, errors.New("tuple must be a list")
	}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	return v.([]any), nil
}

// value reads any value: integers as int64 (uint64 beyond), floats as
// float64, strings as string, binaries as []byte, arrays as []any, maps as
// map[string]any (integer keys in decimal, as JSON would show them).
func (p *mpParser) value(depth int) (any, error) {
	c := p.peek()
	switch {
	case (c >= 0xa0 && c <= 0xbf) || (c >= mpStr8 && c <= mpStr32):
		b, _ := p.rawString()
		if p.values != nil && utf8.Valid(b) {
			return p.values.Value(b), p.err
		}
		return p.text8(b), p.err
	case c >= mpBin8 && c <= mpBin32:
		b, _ := p.rawString()
		return bytes.Clone(b), p.err
	case (c >= 0x90 && c <= 0x9f) || c == mpArray16 || c == mpArray32:
		if depth >= maxDepth {
			return nil, fmt.Errorf("values nested deeper than %d", maxDepth)
		}
		n, ok := p.arrayLen()
		if !ok {
			return nil, p.err
		}
		arr := make([]any, n)
		for i := range arr {
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			arr[i] = v
		}
		return arr, nil
	case (c >= 0x80 && c <= 0x8f) || c == mpMap16 || c == mpMap32:
		if depth >= maxDepth {
			return nil, fmt.Errorf("values nested deeper than %d", maxDepth)
		}
		n, ok := p.mapLen()
		if !ok {
			return nil, p.err
		}
		obj := make(map[string]any, min(n, 64))
		for range n {
			k, isKey := p.key()
			if !isKey {
				if p.err != nil {
					return nil, p.err
				}
				return nil, errors.New("map keys must be strings or integers")
			}
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			obj[k] = v
		}
		return obj, nil
	case (c >= mpExt8 && c <= mpExt32) || (c >= mpFixExt1 && c <= mpFixExt16):
		_, h, ok := p.header()
		if !ok {
			return nil, p.err
		}
		_, n := mpHeader(h)
		data, ok := p.need(n)
		if !ok {
			return nil, p.err
		}
		return map[string]any{"ext": int64(int8(h[len(h)-1])), "data": bytes.Clone(data)}, nil
	}
	v, ok := p.scalar()
	if !ok {
		return nil, fmt.Errorf("byte 0x%02x is not MessagePack", c)
	}
	return v, p.err
}

// skip passes over one value of any kind.
func (p *mpParser) skip() error {
	var s mpScanner
	s.reset()
	used, done, err := s.feed(p.b[p.i:])
	if err != nil {
		return err
	}
	if !done {
		p.truncate()
		return errTruncated
	}
	p.i += used
	return nil
}
