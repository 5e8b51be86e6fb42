package multilang

// The multilang messages as plain structs, for benchmarking squall's
// MessagePack codec against the libraries (msgpack_lib_bench_test.go):
// vmihailenco/msgpack reads the msgpack tags by reflection, tinylib/msgp
// generates code from the msg tags into msgpack_lib_types_gen_test.go.
// Both files are tests, so none of this ships.

//go:generate go run github.com/tinylib/msgp@v1.6.5 -file msgpack_lib_types_test.go -o msgpack_lib_types_gen_test.go -tests=false -unexported

// libChildMessage is any message a child sends, with every field a command
// uses, as a host that does not know the command in advance must decode
// it. Reset it to libChildDefaults before each message: absent fields keep
// what they hold. Unlike Message, anchors must be a list and a null task
// reads as task 0; that spares the libraries work squall's decoder does.
type libChildMessage struct {
	Command     string   `msgpack:"command" msg:"command"`
	ID          any      `msgpack:"id" msg:"id"`
	Stream      string   `msgpack:"stream" msg:"stream"`
	Task        int      `msgpack:"task" msg:"task"`
	Anchors     []string `msgpack:"anchors" msg:"anchors"`
	Tuple       []any    `msgpack:"tuple" msg:"tuple"`
	NeedTaskIDs bool     `msgpack:"need_task_ids" msg:"need_task_ids"`
	Msg         string   `msgpack:"msg" msg:"msg"`
	Level       int      `msgpack:"level" msg:"level"`
	Name        string   `msgpack:"name" msg:"name"`
	Params      any      `msgpack:"params" msg:"params"`
	Pid         int      `msgpack:"pid" msg:"pid"`
}

// libNoTask marks a libChildMessage whose emit named no task.
const libNoTask = -1 << 31

// libChildDefaults resets m before decoding into it, keeping the anchors'
// array as squall's decoder does.
func libChildDefaults(m *libChildMessage) {
	*m = libChildMessage{Task: libNoTask, Anchors: m.Anchors[:0], NeedTaskIDs: true, Level: LevelInfo}
}

// libEmit is a bolt's emit as a child writes it.
type libEmit struct {
	Command     string   `msgpack:"command" msg:"command"`
	Stream      string   `msgpack:"stream" msg:"stream"`
	Anchors     []string `msgpack:"anchors" msg:"anchors"`
	Tuple       []any    `msgpack:"tuple" msg:"tuple"`
	NeedTaskIDs bool     `msgpack:"need_task_ids" msg:"need_task_ids"`
}

// libAck is a bolt's ack as a child writes it.
type libAck struct {
	Command string `msgpack:"command" msg:"command"`
	ID      any    `msgpack:"id" msg:"id"`
}

// libTuple is an input tuple a host sends a bolt.
type libTuple struct {
	ID     string `msgpack:"id" msg:"id"`
	Comp   string `msgpack:"comp" msg:"comp"`
	Stream string `msgpack:"stream" msg:"stream"`
	Task   int    `msgpack:"task" msg:"task"`
	Tuple  []any  `msgpack:"tuple" msg:"tuple"`
}

// libHandshake is the host's first message. Task ids key
// TaskToComponent as strings, as on the wire.
type libHandshake struct {
	PidDir  string         `msgpack:"pidDir" msg:"pidDir"`
	Conf    map[string]any `msgpack:"conf" msg:"conf"`
	Context libContext     `msgpack:"context" msg:"context"`
}

type libContext struct {
	TaskToComponent          map[string]string                 `msgpack:"task->component" msg:"task->component"`
	TaskID                   int                               `msgpack:"taskid" msg:"taskid"`
	ComponentID              string                            `msgpack:"componentid" msg:"componentid"`
	Streams                  []string                          `msgpack:"streams" msg:"streams"`
	StreamToOutputFields     map[string][]string               `msgpack:"stream->outputfields" msg:"stream->outputfields"`
	StreamToTargetToGrouping map[string]map[string]libGrouping `msgpack:"stream->target->grouping" msg:"stream->target->grouping"`
	SourceToStreamToGrouping map[string]map[string]libGrouping `msgpack:"source->stream->grouping" msg:"source->stream->grouping"`
	SourceToStreamToFields   map[string]map[string][]string    `msgpack:"source->stream->fields" msg:"source->stream->fields"`
}

// libGrouping leaves out empty fields, where Grouping keeps an empty list
// (a global grouping): close enough to time the same work.
type libGrouping struct {
	Type   string   `msgpack:"type" msg:"type"`
	Fields []string `msgpack:"fields,omitempty" msg:"fields,omitempty"`
}
