package multilang

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrTooLarge is returned, wrapped in a *FrameError, for a message above the
// size cap. The message is skipped: the stream stays usable.
var ErrTooLarge = errors.New("message too large")

// ErrMalformed is returned, wrapped in a *FrameError, for a message that is
// not valid JSON or not a valid message. The stream stays usable: the
// decoder is positioned after the message's "end" line.
var ErrMalformed = errors.New("malformed message")

// FrameError describes a message that could not be decoded, with a short
// quote of the offending input.
type FrameError struct {
	// Err is ErrTooLarge or ErrMalformed.
	Err error
	// Detail says what is wrong.
	Detail string
	// Snippet quotes the start of the offending input.
	Snippet string
}

func (e *FrameError) Error() string {
	s := e.Err.Error()
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Snippet != "" {
		s += " in " + e.Snippet
	}
	return s
}

func (e *FrameError) Unwrap() error { return e.Err }

func malformed(data []byte, format string, args ...any) *FrameError {
	detail := fmt.Sprintf(format, args...)
	// json-iterator's errors quote the input twice; FrameError quotes it once.
	if i := strings.Index(detail, ", error found in"); i >= 0 {
		detail = detail[:i]
	}
	return &FrameError{Err: ErrMalformed, Detail: detail, Snippet: Snippet(data)}
}

// snippetLen is how many bytes of offending input an error quotes.
const snippetLen = 80

// Snippet returns a short quoted excerpt of data for error messages.
func Snippet(data []byte) string {
	if len(data) <= snippetLen {
		return strconv.Quote(string(data))
	}
	cut := snippetLen
	for cut > 0 && !utf8.RuneStart(data[cut]) {
		cut--
	}
	return strconv.Quote(string(data[:cut])) + fmt.Sprintf("... (%d bytes)", len(data))
}
