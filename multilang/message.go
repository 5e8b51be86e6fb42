package multilang

import "strconv"

// Commands a child sends to its host.
const (
	CmdEmit    = "emit"
	CmdAck     = "ack"
	CmdFail    = "fail"
	CmdSync    = "sync"
	CmdLog     = "log"
	CmdError   = "error"
	CmdMetrics = "metrics"
)

// Commands a host sends to a spout child.
const (
	CmdNext       = "next"
	CmdActivate   = "activate"
	CmdDeactivate = "deactivate"
)

// Log levels of the log command.
const (
	LevelTrace = 0
	LevelDebug = 1
	LevelInfo  = 2
	LevelWarn  = 3
	LevelError = 4
)

// HeartbeatStream is the stream of the heartbeat tuples a host sends bolts.
const HeartbeatStream = "__heartbeat"

// Raw is a JSON value kept as its exact text, so that it is echoed back to
// the child byte for byte. Message ids that are not strings, booleans or
// integers fitting in 64 bits decode as Raw.
type Raw string

// Message is any message a child sends its host. Fields a command does not
// use are zero. The zero Message is not valid; use Decoder.Decode.
type Message struct {
	// Command is the message's command, "" for the handshake's pid reply.
	Command string
	// ID is the tuple id of an ack or fail (a string, as the host sent it),
	// or the message id of a spout's emit: nil when absent or null,
	// otherwise a string, int64, bool or Raw. Every possible value is
	// comparable, so it can key a map.
	ID any
	// Stream is the emit's stream, "" when the child named none.
	Stream string
	// Direct is set when the emit named a task (Task).
	Direct bool
	Task   int
	// Anchors are the ids of the tuples an emit is anchored to.
	Anchors []string
	// Tuple holds the emitted values. Integers decode as int64, other
	// numbers as float64, objects as map[string]any.
	Tuple []any
	// NeedTaskIDs is false only when the child sent "need_task_ids": false.
	NeedTaskIDs bool
	// Msg is the text of a log or error command.
	Msg string
	// Level is the log level, LevelInfo when absent.
	Level int
	// Name and Params are a metrics command's metric name and value.
	Name   string
	Params any
	// Pid is the pid of the handshake reply; HasPid says it was present.
	Pid    int
	HasPid bool
	// Keys are the keys of a state_get or state_delete, each as its
	// canonical JSON text (CanonicalKey).
	Keys []string
	// Items are the key-values of a state_put.
	Items []StateItem
}

func (m *Message) reset() {
	anchors := m.Anchors[:0]
	*m = Message{Anchors: anchors, NeedTaskIDs: true, Level: LevelInfo}
}

// IDString returns a bolt's ack/fail/anchor id as the decimal string the
// host sent. Integers are accepted too, for children that convert ids.
func IDString(id any) (string, bool) {
	switch v := id.(type) {
	case string:
		return v, true
	case int64:
		return strconv.FormatInt(v, 10), true
	case Raw:
		// A number too large for int64 (e.g. an unsigned 64-bit id).
		if _, err := strconv.ParseUint(string(v), 10, 64); err == nil {
			return string(v), true
		}
	}
	return "", false
}

// Handshake is the first message a host sends a child.
type Handshake struct {
	PidDir  string         `json:"pidDir"`
	Conf    map[string]any `json:"conf"`
	Context Context        `json:"context"`
}

// Context is the topology context of a handshake, with Storm's key names.
type Context struct {
	TaskToComponent          map[int]string                 `json:"task->component"`
	TaskID                   int                            `json:"taskid"`
	ComponentID              string                         `json:"componentid"`
	Streams                  []string                       `json:"streams"`
	StreamToOutputFields     map[string][]string            `json:"stream->outputfields"`
	StreamToTargetToGrouping map[string]map[string]Grouping `json:"stream->target->grouping"`
	SourceToStreamToGrouping map[string]map[string]Grouping `json:"source->stream->grouping"`
	SourceToStreamToFields   map[string]map[string][]string `json:"source->stream->fields"`
	// TTY is squall's extension: the child's fd of a terminal of its own,
	// for a debugger (squall run); 0, and left out, when it has none.
	TTY int `json:"squall.tty,omitempty"`
	// Squall describes squall's extensions the component uses; nil, and
	// left out, when it uses none.
	Squall *SquallContext `json:"squall,omitempty"`
}

// SquallContext is the handshake's "squall" key: which of squall's
// protocol extensions the child's component uses.
type SquallContext struct {
	// Protocol is the version of the extensions, SquallProtocol.
	Protocol int `json:"protocol"`
	// State is set for a stateful component (declared state:).
	State *StateContext `json:"state,omitempty"`
}

// SquallProtocol is the version of squall's protocol extensions.
const SquallProtocol = 1

// StateContext tells a stateful component's child about its state.
type StateContext struct {
	// CacheMaxKeys bounds how many values the child's adapter caches.
	CacheMaxKeys int `json:"cache_max_keys"`
}

// Grouping is a grouping as Storm describes it to children: a type name
// (FIELDS, SHUFFLE, ALL, NONE, DIRECT, LOCAL_OR_SHUFFLE, CUSTOM_SERIALIZED,
// CUSTOM_OBJECT) and, for FIELDS, the fields. A nil Fields is left out; an
// empty one is sent as [] (Storm's way of showing a global grouping).
type Grouping struct {
	Type   string   `json:"type"`
	Fields []string `json:"fields"`
}

// MarshalJSON leaves out a nil Fields but keeps an empty one.
func (g Grouping) MarshalJSON() ([]byte, error) {
	type plain struct {
		Type string `json:"type"`
	}
	if g.Fields == nil {
		return jsonAPI.Marshal(plain{g.Type})
	}
	type withFields Grouping // without this method
	return jsonAPI.Marshal(withFields(g))
}

// TupleMessage is an input tuple a host sends a bolt.
type TupleMessage struct {
	// ID is a decimal string of a random 64-bit number, fresh for every
	// delivery.
	ID     string
	Comp   string
	Stream string
	Task   int
	Tuple  []any
}

// HostKind says which kind of message a host sent.
type HostKind int

const (
	HostHandshake HostKind = iota + 1
	HostTuple
	HostHeartbeat
	HostCommand
	HostTaskIDs
)

// HostMessage is any message a host sends a child, as a child (or a test
// standing in for one) decodes it.
type HostMessage struct {
	Kind      HostKind
	Handshake *Handshake
	// Tuple is set for HostTuple; for HostHeartbeat only Tuple.ID is.
	Tuple TupleMessage
	// Command and ID are a spout command and its message id ("" for next,
	// activate and deactivate).
	Command string
	ID      any
	// TaskIDs is a task-id reply.
	TaskIDs []int
	// Items are the key-values of a state_values or state_items reply
	// (keys as canonical JSON text), More is set on a state_items reply
	// that more replies follow, TxID is a state_reset's transaction.
	Items []StateItem
	More  bool
	TxID  int64
}
