package api

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// This file reads a JSON submission as a stream. A package in JSON is a
// base64 string, and decoding the whole body at once (protojson) holds it
// several times over: the body, the string, the bytes. Here the package
// and the Go binary are decoded from base64 as they are read, into files;
// the other fields, small and bounded by MaxDefinitionBytes, are gathered
// and decoded by the gateway's JSON unmarshaler as usual.

// jsonParts names the fields whose values stream into parts: JSON and
// proto names of package and go_binary.
var jsonParts = map[string]PackagePart{
	"package":   PackagePart_PACKAGE_PART_RESOURCES,
	"goBinary":  PackagePart_PACKAGE_PART_GO_BINARY,
	"go_binary": PackagePart_PACKAGE_PART_GO_BINARY,
}

// maxJSONDepth bounds the nesting of a field's value (config).
const maxJSONDepth = 64

// errBadJSON marks a malformed body.
var errBadJSON = errors.New("malformed JSON")

// submitJSONReader reads one JSON object from a body.
type submitJSONReader struct {
	r   *bufio.Reader
	off int64 // bytes read, for messages
}

// readSubmitJSON reads a SubmitTopologyRequest as JSON from body: the
// package and Go binary into parts, the rest into a JSON object of its
// own, which it returns (at most MaxDefinitionBytes). An empty body is an
// empty object.
func readSubmitJSON(body io.Reader, parts *partWriter) ([]byte, error) {
	jr := &submitJSONReader{r: bufio.NewReaderSize(body, 64<<10)}
	rest := &boundedBuffer{max: MaxDefinitionBytes}
	rest.add('{')
	c, err := jr.nonSpace()
	if errors.Is(err, io.EOF) {
		return []byte("{}"), nil
	}
	if err != nil {
		return nil, err
	}
	if c != '{' {
		return nil, jr.errorf("the body is not a JSON object")
	}
	first, restEmpty := true, true
	seen := map[PackagePart]bool{}
	for {
		c, err := jr.nonSpace()
		if err != nil {
			return nil, jr.eof(err)
		}
		if c == '}' && first {
			break
		}
		if c != '"' {
			return nil, jr.errorf("want a field name")
		}
		key, raw, err := jr.key()
		if err != nil {
			return nil, err
		}
		if c, err = jr.nonSpace(); err != nil {
			return nil, jr.eof(err)
		}
		if c != ':' {
			return nil, jr.errorf("want ':' after %s", raw)
		}
		if part, ok := jsonParts[key]; ok {
			if seen[part] {
				return nil, jr.errorf("field %q given twice", key)
			}
			seen[part] = true
			if err := jr.partValue(key, parts.start(part)); err != nil {
				return nil, err
			}
		} else {
			if !restEmpty {
				rest.add(',')
			}
			restEmpty = false
			rest.addAll(raw)
			rest.add(':')
			if err := jr.value(rest, 0); err != nil {
				return nil, err
			}
			if rest.over {
				return nil, TooLargeError(KeySubmitMaxBytes, fmt.Sprintf(
					"the submission's fields other than package and goBinary are larger than %d bytes", MaxDefinitionBytes))
			}
		}
		first = false
		if c, err = jr.nonSpace(); err != nil {
			return nil, jr.eof(err)
		}
		if c == '}' {
			break
		}
		if c != ',' {
			return nil, jr.errorf("want ',' or '}'")
		}
	}
	if _, err := jr.nonSpace(); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, err
		}
		return nil, jr.errorf("data after the JSON object")
	}
	rest.add('}')
	return rest.bytes(), nil
}

func (jr *submitJSONReader) readByte() (byte, error) {
	c, err := jr.r.ReadByte()
	if err == nil {
		jr.off++
	}
	return c, err
}

func (jr *submitJSONReader) unread() {
	jr.r.UnreadByte()
	jr.off--
}

// nonSpace returns the next byte that is not JSON white space.
func (jr *submitJSONReader) nonSpace() (byte, error) {
	for {
		c, err := jr.readByte()
		if err != nil {
			return 0, err
		}
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c, nil
	}
}

func (jr *submitJSONReader) errorf(format string, args ...any) error {
	return fmt.Errorf("%w at byte %d: %s", errBadJSON, jr.off, fmt.Sprintf(format, args...))
}

// eof turns an unexpected end of the body into a JSON error; other read
// errors (the body's limit, a timeout) stay as they are.
func (jr *submitJSONReader) eof(err error) error {
	if errors.Is(err, io.EOF) {
		return jr.errorf("unexpected end of the body")
	}
	return err
}

// key reads a field name whose opening quote is read: its value and its
// JSON text.
func (jr *submitJSONReader) key() (string, []byte, error) {
	var raw boundedBuffer
	raw.max = 1 << 10
	raw.add('"')
	if err := jr.stringRest(&raw); err != nil {
		return "", nil, err
	}
	if raw.over {
		return "", nil, jr.errorf("field name longer than %d bytes", raw.max)
	}
	var key string
	if err := json.Unmarshal(raw.bytes(), &key); err != nil {
		return "", nil, jr.errorf("bad field name: %v", err)
	}
	return key, raw.bytes(), nil
}

// stringRest copies the rest of a string whose opening quote is read,
// closing quote included, to w.
func (jr *submitJSONReader) stringRest(w *boundedBuffer) error {
	for {
		c, err := jr.readByte()
		if err != nil {
			return jr.eof(err)
		}
		w.add(c)
		switch {
		case c == '"':
			return nil
		case c == '\\':
			c, err = jr.readByte()
			if err != nil {
				return jr.eof(err)
			}
			w.add(c)
		case c < 0x20:
			return jr.errorf("control character in a string")
		}
	}
}

// value copies one JSON value to w. It finds where the value ends; the
// unmarshaler checks the rest.
func (jr *submitJSONReader) value(w *boundedBuffer, depth int) error {
	c, err := jr.nonSpace()
	if err != nil {
		return jr.eof(err)
	}
	switch c {
	case '"':
		w.add(c)
		return jr.stringRest(w)
	case '{', '[':
		if depth >= maxJSONDepth {
			return jr.errorf("values nested deeper than %d", maxJSONDepth)
		}
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		w.add(c)
		for n := 0; ; n++ {
			next, err := jr.nonSpace()
			if err != nil {
				return jr.eof(err)
			}
			if next == closing && n == 0 {
				w.add(next)
				return nil
			}
			jr.unread()
			if c == '{' {
				if next != '"' {
					return jr.errorf("want a field name")
				}
				if err := jr.value(w, depth+1); err != nil {
					return err
				}
				if next, err = jr.nonSpace(); err != nil {
					return jr.eof(err)
				}
				if next != ':' {
					return jr.errorf("want ':'")
				}
				w.add(':')
			}
			if err := jr.value(w, depth+1); err != nil {
				return err
			}
			if next, err = jr.nonSpace(); err != nil {
				return jr.eof(err)
			}
			w.add(next)
			if next == closing {
				return nil
			}
			if next != ',' {
				return jr.errorf("want ',' or %q", closing)
			}
			if w.over {
				return nil // the caller reports the size
			}
		}
	}
	// A number, true, false or null: up to the next delimiter.
	w.add(c)
	for {
		c, err := jr.readByte()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		switch c {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			jr.unread()
			return nil
		}
		w.add(c)
		if w.over {
			return nil
		}
	}
}

// partValue streams the value of a package or goBinary field, a base64
// string or null, into w.
func (jr *submitJSONReader) partValue(key string, w io.Writer) error {
	c, err := jr.nonSpace()
	if err != nil {
		return jr.eof(err)
	}
	if c == 'n' {
		for _, want := range []byte("ull") {
			if c, err = jr.readByte(); err != nil || c != want {
				return jr.errorf("field %q: want a base64 string or null", key)
			}
		}
		return nil
	}
	if c != '"' {
		return jr.errorf("field %q: want a base64 string", key)
	}
	dec := &base64Writer{w: w}
	for {
		c, err := jr.readByte()
		if err != nil {
			return jr.eof(err)
		}
		switch {
		case c == '"':
			if err := dec.finish(); err != nil {
				return jr.partError(key, err)
			}
			return nil
		case c == '\\':
			// Encoders may escape "/" (\/) or write \uXXXX; base64 holds
			// only ASCII, so only those and line breaks can appear.
			r, err := jr.escape()
			if err != nil {
				return err
			}
			if r == '\n' || r == '\r' {
				continue
			}
			if r >= utf8.RuneSelf {
				return jr.partError(key, errNotBase64)
			}
			c = byte(r)
		}
		if err := dec.feed(c); err != nil {
			return jr.partError(key, err)
		}
	}
}

func (jr *submitJSONReader) partError(key string, err error) error {
	if !errors.Is(err, errNotBase64) {
		return err // the spool's: the limit, the disk
	}
	return jr.errorf("field %q: %v", key, err)
}

// escape reads a string escape whose backslash is read.
func (jr *submitJSONReader) escape() (rune, error) {
	c, err := jr.readByte()
	if err != nil {
		return 0, jr.eof(err)
	}
	switch c {
	case '/', '\\', '"':
		return rune(c), nil
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 't':
		return '\t', nil
	case 'b':
		return '\b', nil
	case 'f':
		return '\f', nil
	case 'u':
		var hex [4]byte
		for i := range hex {
			if hex[i], err = jr.readByte(); err != nil {
				return 0, jr.eof(err)
			}
		}
		var r rune
		for _, h := range hex {
			r <<= 4
			switch {
			case h >= '0' && h <= '9':
				r |= rune(h - '0')
			case h >= 'a' && h <= 'f':
				r |= rune(h - 'a' + 10)
			case h >= 'A' && h <= 'F':
				r |= rune(h - 'A' + 10)
			default:
				return 0, jr.errorf("bad \\u escape")
			}
		}
		return r, nil
	}
	return 0, jr.errorf("bad escape \\%c", c)
}

var errNotBase64 = errors.New("not base64")

// base64Writer decodes base64 as it is fed, standard or URL alphabet,
// with or without padding (what protojson accepts), and writes the bytes
// to w.
type base64Writer struct {
	w     io.Writer
	quad  [4]byte
	n     int // sextets in quad
	pad   int // '=' seen
	count int64
	out   [3 << 12]byte
	nout  int
}

var base64Values = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	const std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range len(std) {
		t[std[i]] = int8(i)
	}
	t['-'], t['_'] = 62, 63
	return t
}()

func (d *base64Writer) feed(c byte) error {
	d.count++
	if c == '=' {
		if d.n < 2 || d.n+d.pad >= 4 {
			return fmt.Errorf("%w: misplaced '=' at character %d", errNotBase64, d.count)
		}
		d.pad++
		return nil
	}
	v := base64Values[c]
	if v < 0 || d.pad > 0 {
		return fmt.Errorf("%w: %q at character %d", errNotBase64, c, d.count)
	}
	d.quad[d.n] = byte(v)
	d.n++
	if d.n == 4 {
		d.emit(3)
		d.n = 0
	}
	return d.flushIfFull()
}

// emit appends the k bytes the sextets in quad make.
func (d *base64Writer) emit(k int) {
	v := uint32(d.quad[0])<<18 | uint32(d.quad[1])<<12 | uint32(d.quad[2])<<6 | uint32(d.quad[3])
	b := [3]byte{byte(v >> 16), byte(v >> 8), byte(v)}
	d.nout += copy(d.out[d.nout:], b[:k])
}

func (d *base64Writer) flushIfFull() error {
	if d.nout+3 <= len(d.out) {
		return nil
	}
	return d.flush()
}

func (d *base64Writer) flush() error {
	if d.nout == 0 {
		return nil
	}
	_, err := d.w.Write(d.out[:d.nout])
	d.nout = 0
	return err
}

func (d *base64Writer) finish() error {
	switch {
	case d.pad > 0 && d.n+d.pad != 4:
		return fmt.Errorf("%w: wrong padding", errNotBase64)
	case d.n == 1:
		return fmt.Errorf("%w: a character too many or too few", errNotBase64)
	case d.n > 1:
		d.quad[3] = 0
		if d.n == 2 {
			d.quad[2] = 0
		}
		d.emit(d.n - 1)
	}
	return d.flush()
}

// boundedBuffer gathers bytes up to max and says when it had to stop.
type boundedBuffer struct {
	buf  []byte
	max  int
	over bool
}

func (b *boundedBuffer) add(c byte) {
	if len(b.buf) >= b.max {
		b.over = true
		return
	}
	b.buf = append(b.buf, c)
}

func (b *boundedBuffer) addAll(p []byte) {
	if len(b.buf)+len(p) > b.max {
		b.over = true
		return
	}
	b.buf = append(b.buf, p...)
}

func (b *boundedBuffer) bytes() []byte { return b.buf }
