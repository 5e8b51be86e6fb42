package multilang

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Serializer names a wire format of the multilang protocol
// (topology.multilang.serializer).
type Serializer string

// The wire formats.
const (
	// JSON is Storm's framing: one JSON value, then a line "end".
	JSON Serializer = "json"
	// Msgpack is pystorm's framing: one MessagePack value per message,
	// nothing between messages.
	Msgpack Serializer = "msgpack"
)

// StormJSONSerializer is the class name Storm's configuration uses for its
// JSON serializer; it is accepted as an alias of JSON.
const StormJSONSerializer = "org.apache.storm.multilang.JsonSerializer"

// ErrUnknownSerializer is returned, wrapped, by ParseSerializer for a name
// that is not a known wire format.
var ErrUnknownSerializer = errors.New("unknown serializer")

// ParseSerializer returns the wire format a configuration value names:
// "json" (also "" and StormJSONSerializer) or "msgpack".
func ParseSerializer(name string) (Serializer, error) {
	switch strings.TrimSpace(name) {
	case "", string(JSON), StormJSONSerializer:
		return JSON, nil
	case string(Msgpack):
		return Msgpack, nil
	}
	return "", fmt.Errorf("%w %q (want %s or %s)", ErrUnknownSerializer, name, JSON, Msgpack)
}

// String returns the name ParseSerializer accepts.
func (s Serializer) String() string { return string(s) }

// title is the name of the format in prose.
func (s Serializer) title() string {
	if s == Msgpack {
		return "MessagePack"
	}
	return "JSON"
}

// Reader reads the messages of one wire format. *Decoder and
// *MsgpackDecoder implement it; neither is safe for concurrent use.
type Reader interface {
	// Decode reads the next message a child sent.
	Decode(m *Message) error
	// DecodeHost reads the next message a host sent, as a child would.
	DecodeHost(m *HostMessage) error
	// Buffered returns the number of bytes read and not yet decoded.
	Buffered() int
}

// Writer writes the messages of one wire format into a buffer that Flush
// writes out. *Encoder and *MsgpackEncoder implement it; neither is safe for
// concurrent use.
type Writer interface {
	WriteHandshake(h *Handshake) error
	WriteTuple(t *TupleMessage) error
	WriteHeartbeat(id string) error
	WriteCommand(command string, id any) error
	WriteTaskIDs(ids []int) error
	WriteMessage(m *Message) error
	// WriteStateReply and WriteStateReset write the state extension's
	// messages to a stateful bolt's child.
	WriteStateReply(command string, items []StateItem, more bool) error
	WriteStateReset(txid int64) error
	Flush() error
	// Buffered returns the number of bytes written and not yet flushed.
	Buffered() int
}

var (
	_ Reader = (*Decoder)(nil)
	_ Reader = (*MsgpackDecoder)(nil)
	_ Writer = (*Encoder)(nil)
	_ Writer = (*MsgpackEncoder)(nil)
)

// NewReader returns a reader of format s over r. An unknown s reads JSON.
func NewReader(s Serializer, r io.Reader, opts DecoderOptions) Reader {
	if s == Msgpack {
		return NewMsgpackDecoder(r, opts)
	}
	return NewDecoder(r, opts)
}

// NewWriter returns a writer of format s over w. An unknown s writes JSON.
func NewWriter(s Serializer, w io.Writer) Writer {
	if s == Msgpack {
		return NewMsgpackEncoder(w)
	}
	return NewEncoder(w)
}

// MismatchError says that a child answered the handshake in another wire
// format than the host's.
type MismatchError struct {
	// Host is the format the host speaks, Child the one the child answered in.
	Host, Child Serializer
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("the child answered in %s but the host speaks %s; set topology.multilang.serializer: %s",
		e.Child.title(), e.Host.title(), e.Child)
}

// SniffReply looks at the first bytes a child wrote after a handshake in
// format host and reports the format they are in, when they clearly are a
// pid reply (or a message) in the other format: a MessagePack map holding
// "pid", or a JSON line opening an object or an "end" line. It returns
// ok == false while it cannot tell, which includes stray text output and
// replies in the host's own format.
func SniffReply(host Serializer, prefix []byte) (child Serializer, ok bool) {
	switch host {
	case Msgpack:
		for line := range bytes.Lines(prefix) {
			text := bytes.TrimSpace(line)
			complete := bytes.HasSuffix(line, []byte("\n"))
			switch {
			case complete && string(text) == "end":
				return JSON, true
			case bytes.HasPrefix(text, []byte(`{"pid"`)) || (bytes.HasPrefix(text, []byte("{")) && complete && bytes.Contains(text, []byte(`"pid"`))):
				return JSON, true
			}
		}
	default:
		// Text never starts with the byte of a small MessagePack map
		// (a UTF-8 continuation byte), nor with a map16 or map32 header
		// followed by a length byte below 0x80.
		if len(prefix) > 0 && prefix[0] >= 0x80 && prefix[0] <= 0x8f {
			return Msgpack, true
		}
		if len(prefix) > 1 && (prefix[0] == 0xde || prefix[0] == 0xdf) && prefix[1] < 0x80 {
			return Msgpack, true
		}
		// A MessagePack map whose first key is "pid" (a fixstr), at the
		// start of a line after stray text.
		for i := 0; ; {
			j := bytes.Index(prefix[i:], []byte("\xa3pid"))
			if j < 0 {
				break
			}
			j += i
			if j > 0 && isMsgpackMapStart(prefix[:j]) {
				return Msgpack, true
			}
			i = j + 1
		}
	}
	return "", false
}

// isMsgpackMapStart reports whether head ends with the header of a
// MessagePack map that begins a message: at the start of the output or
// after a newline.
func isMsgpackMapStart(head []byte) bool {
	n := len(head)
	atStart := func(i int) bool { return i == 0 || head[i-1] == '\n' }
	switch {
	case head[n-1] >= 0x80 && head[n-1] <= 0x8f:
		return atStart(n - 1)
	case n >= 3 && head[n-3] == 0xde:
		return atStart(n - 3)
	case n >= 5 && head[n-5] == 0xdf:
		return atStart(n - 5)
	}
	return false
}
