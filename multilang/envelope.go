package multilang

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// envelope scans the top level of a child's message — one JSON object
// with a handful of known keys — without allocating its keys, and hands
// each value to the decoder. json-iterator decodes the values that are
// more than scalars (tuples, params). The scan is strict JSON: whatever it
// cannot take, the decoder reports as malformed.
type envelope struct {
	b   []byte
	pos int
}

var errSyntax = errors.New("invalid JSON")

func (e *envelope) ws() {
	for e.pos < len(e.b) {
		switch e.b[e.pos] {
		case ' ', '\t', '\n', '\r':
			e.pos++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, 0 at the end.
func (e *envelope) peek() byte {
	e.ws()
	if e.pos >= len(e.b) {
		return 0
	}
	return e.b[e.pos]
}

func (e *envelope) expect(c byte) error {
	if e.peek() != c {
		return fmt.Errorf("%w: want %q at offset %d", errSyntax, c, e.pos)
	}
	e.pos++
	return nil
}

// rawString returns the bytes of a JSON string between its quotes, and
// whether it holds escapes. The slice points into the message.
func (e *envelope) rawString() ([]byte, bool, error) {
	if err := e.expect('"'); err != nil {
		return nil, false, err
	}
	rest := e.b[e.pos:]
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return nil, false, fmt.Errorf("%w: unterminated string", errSyntax)
	}
	if bytes.IndexByte(rest[:end], '\\') < 0 {
		e.pos += end + 1
		return rest[:end], false, nil
	}
	// Escapes: a quote may be escaped, so walk to the real end.
	for i := 0; i < len(rest); i++ {
		switch rest[i] {
		case '\\':
			i++
		case '"':
			e.pos += i + 1
			return rest[:i], true, nil
		}
	}
	return nil, false, fmt.Errorf("%w: unterminated string", errSyntax)
}

// str reads a JSON string.
func (e *envelope) str() (string, error) {
	raw, escaped, err := e.rawString()
	if err != nil || !escaped {
		return string(raw), err
	}
	return unescape(raw)
}

// unescape decodes the escapes of a JSON string's content.
func unescape(raw []byte) (string, error) {
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		if i+1 >= len(raw) {
			return "", fmt.Errorf("%w: bad escape", errSyntax)
		}
		i++
		switch raw[i] {
		case '"', '\\', '/':
			out = append(out, raw[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(raw[i+1:])
			if !ok {
				return "", fmt.Errorf("%w: bad \\u escape", errSyntax)
			}
			i += 4
			if utf16.IsSurrogate(r) {
				// A character beyond the BMP is a pair: \uD83D\uDE00.
				if i+2 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
					if r2, ok := hex4(raw[i+3:]); ok {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							out = utf8.AppendRune(out, dec)
							i += 6
							continue
						}
					}
				}
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", fmt.Errorf("%w: bad escape \\%c", errSyntax, raw[i])
		}
	}
	return string(out), nil
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	v, err := strconv.ParseUint(string(b[:4]), 16, 32)
	if err != nil {
		return 0, false
	}
	return rune(v), true
}

// skip passes over any JSON value and returns its bytes.
func (e *envelope) skip() ([]byte, error) {
	e.ws()
	start := e.pos
	depth := 0
	for e.pos < len(e.b) {
		switch c := e.b[e.pos]; c {
		case '"':
			if _, _, err := e.rawString(); err != nil {
				return nil, err
			}
			if depth == 0 {
				return e.b[start:e.pos], nil
			}
			continue
		case '{', '[':
			depth++
			if depth > maxDepth {
				return nil, fmt.Errorf("values nested deeper than %d", maxDepth)
			}
		case '}', ']':
			if depth == 0 { // the end of the object holding a scalar
				if start == e.pos {
					return nil, fmt.Errorf("%w: missing value", errSyntax)
				}
				return e.b[start:e.pos], nil
			}
			depth--
			if depth == 0 {
				e.pos++
				return e.b[start:e.pos], nil
			}
		case ',', ':', ' ', '\t', '\n', '\r':
			if depth == 0 {
				if start == e.pos {
					return nil, fmt.Errorf("%w: missing value", errSyntax)
				}
				return e.b[start:e.pos], nil
			}
		}
		e.pos++
	}
	if depth != 0 || start == e.pos {
		return nil, fmt.Errorf("%w: value cut short", errSyntax)
	}
	return e.b[start:e.pos], nil
}

// commonName returns a common command or stream name without allocating.
func commonName(b []byte) string {
	switch string(b) {
	case CmdEmit:
		return CmdEmit
	case CmdAck:
		return CmdAck
	case CmdFail:
		return CmdFail
	case CmdSync:
		return CmdSync
	case CmdLog:
		return CmdLog
	case CmdError:
		return CmdError
	case CmdMetrics:
		return CmdMetrics
	case "default":
		return "default"
	}
	return string(b)
}

// internedString reads a string, interning the common ones.
func (e *envelope) internedString() (string, error) {
	raw, escaped, err := e.rawString()
	if err != nil {
		return "", err
	}
	if escaped {
		return unescape(raw)
	}
	return commonName(raw), nil
}

// literal consumes null, true or false.
func (e *envelope) literal(word string) bool {
	e.ws()
	if bytes.HasPrefix(e.b[e.pos:], []byte(word)) {
		e.pos += len(word)
		return true
	}
	return false
}

// isNumber reports whether b is a JSON number.
func isNumber(b []byte) bool {
	i := 0
	digits := func() bool {
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > start
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i < len(b) && b[i] == '0' {
		i++
	} else if !digits() {
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	return i == len(b)
}
