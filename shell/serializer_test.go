package shell

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/squallstream/squall/multilang"
	"github.com/squallstream/squall/topology"
)

// msgpackChildEnv makes the test binary, started with
// -test.run=^TestMsgpackChild$, a child speaking MessagePack in the mode it
// names: "split" (the splitsentence bolt, and ["ids", v] emits [v] asking
// for task ids, then [ids]) or "counterspout".
const msgpackChildEnv = "SHELL_TEST_MSGPACK_CHILD"

// TestMsgpackChild is not a test: it is the child of the MessagePack tests.
func TestMsgpackChild(t *testing.T) {
	mode := os.Getenv(msgpackChildEnv)
	if mode == "" {
		t.Skip("the child of the MessagePack tests")
	}
	os.Exit(runMsgpackChild(mode))
}

func runMsgpackChild(mode string) int {
	dec := multilang.NewMsgpackDecoder(os.Stdin, multilang.DecoderOptions{})
	enc := multilang.NewMsgpackEncoder(os.Stdout)
	send := func(m multilang.Message) {
		if err := enc.WriteMessage(&m); err != nil {
			panic(err)
		}
		if enc.Flush() != nil {
			os.Exit(70)
		}
	}
	var queued []multilang.HostMessage
	next := func() (multilang.HostMessage, bool) {
		if len(queued) > 0 {
			m := queued[0]
			queued = queued[1:]
			return m, true
		}
		var m multilang.HostMessage
		return m, dec.DecodeHost(&m) == nil
	}
	hm, ok := next()
	if !ok || hm.Kind != multilang.HostHandshake {
		fmt.Fprintln(os.Stderr, "bad handshake")
		return 3
	}
	os.WriteFile(filepath.Join(hm.Handshake.PidDir, strconv.Itoa(os.Getpid())), nil, 0o644)
	send(multilang.Message{Pid: os.Getpid(), HasPid: true})
	n, limit, heartbeats := int64(0), int64(3), 0
	for {
		m, ok := next()
		if !ok {
			return 0
		}
		switch m.Kind {
		case multilang.HostHeartbeat:
			heartbeats++
			send(multilang.Message{Command: multilang.CmdLog, Msg: fmt.Sprintf("heartbeat %d", heartbeats), Level: multilang.LevelInfo})
			send(multilang.Message{Command: multilang.CmdSync})
		case multilang.HostCommand: // counterspout
			if m.Command == multilang.CmdNext && n < limit {
				send(multilang.Message{Command: multilang.CmdEmit, Tuple: []any{[]byte{byte(n), 0xff}}, ID: n})
				n++
			}
			send(multilang.Message{Command: multilang.CmdSync})
		case multilang.HostTuple:
			t := m.Tuple
			anchor := []string{t.ID}
			if t.Tuple[0] == "ids" {
				send(multilang.Message{Command: multilang.CmdEmit, Tuple: []any{t.Tuple[1]}, Anchors: anchor, NeedTaskIDs: true})
				var ids []int
				for {
					var r multilang.HostMessage
					if dec.DecodeHost(&r) != nil {
						return 0
					}
					if r.Kind == multilang.HostTaskIDs {
						ids = r.TaskIDs
						break
					}
					queued = append(queued, r)
				}
				send(multilang.Message{Command: multilang.CmdEmit, Tuple: []any{fmt.Sprint(ids)}, Anchors: anchor})
				send(multilang.Message{Command: multilang.CmdAck, ID: t.ID})
				continue
			}
			for _, v := range t.Tuple {
				if s, ok := v.(string); ok {
					for _, w := range strings.Fields(s) {
						send(multilang.Message{Command: multilang.CmdEmit, Tuple: []any{w}, Anchors: anchor})
					}
				} else {
					send(multilang.Message{Command: multilang.CmdEmit, Tuple: []any{v}, Anchors: anchor})
				}
			}
			send(multilang.Message{Command: multilang.CmdAck, ID: t.ID})
		}
	}
}

func msgpackChildSpec(mode string) *topology.ShellSpec {
	return &topology.ShellSpec{
		Command: []string{os.Args[0], "-test.run=^TestMsgpackChild$"},
		Env:     map[string]string{msgpackChildEnv: mode},
	}
}

var msgpackConf = topology.Config{topology.KeyMultilangSerializer: "msgpack"}

// TestMsgpackBolt runs a bolt whose child speaks MessagePack: tuples,
// task-id replies, heartbeats, and values JSON would not carry as they are.
func TestMsgpackBolt(t *testing.T) {
	checkLeaks(t)
	logs := &logRecorder{}
	ctx := taskContext(t, "split", splitTask, msgpackConf, logs)
	rec := &recorder{taskIDs: []int{2, 3}}
	b := NewBolt(msgpackChildSpec("split"), fastOptions)
	if err := b.Prepare(ctx, rec); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	t.Cleanup(b.Cleanup)
	in := []topology.Tuple{
		sentence("snow white and the seven dwarfs"),
		topology.NewTuple(sourceSrc, []any{"ids", "v"}, nil),
		sentence("a b"),
		topology.NewTuple(sourceSrc, []any{[]byte{0, 0xff}}, nil),
	}
	for _, tup := range in {
		b.Execute(tup)
	}
	waitUntil(t, patience, "four acks", func() bool { _, acked, _, _ := rec.snapshot(); return len(acked) == 4 })
	// Heartbeats reach the child and its syncs keep it alive.
	waitUntil(t, patience, "three heartbeats", func() bool { return len(logs.matching("heartbeat 3")) == 1 })

	emits, acked, failed, errs := rec.snapshot()
	want := []string{"snow", "white", "and", "the", "seven", "dwarfs", "v", "[2 3]", "a", "b", "[0 255]"}
	if got := words(emits); !slices.Equal(got, want) {
		t.Errorf("emitted %q, want %q", got, want)
	}
	if got := emits[len(emits)-1].values; !reflect.DeepEqual(got, []any{[]byte{0, 0xff}}) {
		t.Errorf("binary value came back as %#v", got)
	}
	if got := values(acked); len(got) != 4 {
		t.Errorf("acked %q", got)
	}
	if len(failed) != 0 || len(errs) != 0 || b.Health().Failures != 0 {
		t.Errorf("failed %v, errors %v, health %+v; want none", values(failed), errs, b.Health())
	}
}

// TestMsgpackSpout runs a spout whose child speaks MessagePack.
func TestMsgpackSpout(t *testing.T) {
	checkLeaks(t)
	logs := &logRecorder{}
	ctx := taskContext(t, "counter", counterTask, msgpackConf, logs)
	rec := &recorder{taskIDs: []int{2}}
	s := NewSpout(msgpackChildSpec("counterspout"), fastOptions)
	if err := s.Open(ctx, spoutRecorder{rec}); err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(s.Close)
	s.Activate()
	// Health().Pid is set a moment before the child takes commands: Next
	// does nothing until it does.
	waitUntil(t, patience, "the first emit", func() bool {
		s.Next()
		emits, _, _, _ := rec.snapshot()
		return len(emits) > 0
	})
	for range 3 { // the third has nothing to emit
		s.Next()
	}
	s.Ack(int64(0))
	s.Fail(int64(1))
	emits, _, _, errs := rec.snapshot()
	if got, want := msgIDs(emits), []any{int64(0), int64(1), int64(2)}; !reflect.DeepEqual(got, want) {
		t.Errorf("emitted ids %v, want %v", got, want)
	}
	if got := emits[2].values; !reflect.DeepEqual(got, []any{[]byte{2, 0xff}}) {
		t.Errorf("emitted %#v", got)
	}
	if len(errs) != 0 || s.Health().Failures != 0 {
		t.Errorf("errors %v, health %+v", errs, s.Health())
	}
}

// TestSerializerMismatch checks that a child answering the handshake in
// the other wire format is reported as such, during the handshake.
func TestSerializerMismatch(t *testing.T) {
	tests := []struct {
		name   string
		conf   topology.Config
		script string // the child: a shell script that reads its input to the end
		want   *multilang.MismatchError
		cause  error
	}{
		{"a JSON child under a msgpack host", msgpackConf,
			`printf '{"pid": %d}\nend\n' $$; while read -r l; do :; done`, &multilang.MismatchError{Host: multilang.Msgpack, Child: multilang.JSON}, ErrProtocol},
		{"a JSON child logging first", msgpackConf,
			`printf '{"command": "log", "msg": "hi"}\nend\n{"pid": %d}\nend\n' $$; while read -r l; do :; done`,
			&multilang.MismatchError{Host: multilang.Msgpack, Child: multilang.JSON}, ErrProtocol},
		{"a msgpack child under a JSON host", nil,
			`printf '\201\243pid\315\060\071'; while read -r l; do :; done`, &multilang.MismatchError{Host: multilang.JSON, Child: multilang.Msgpack}, ErrProtocol},
		{"a msgpack child under Storm's class name for JSON", topology.Config{topology.KeyMultilangSerializer: multilang.StormJSONSerializer},
			`printf 'starting\n\201\243pid\001'; while read -r l; do :; done`, &multilang.MismatchError{Host: multilang.JSON, Child: multilang.Msgpack}, ErrProtocol},
		{"a JSON-only child that never answers a msgpack host", msgpackConf.Merge(topology.Config{KeyStartupTimeoutSecs: 0.3}),
			`while read -r l; do :; done`, nil, ErrTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkLeaks(t)
			logs := &logRecorder{}
			ctx := taskContext(t, "split", splitTask, tt.conf, logs)
			rec := &recorder{}
			b := NewBolt(&topology.ShellSpec{Command: []string{"sh", "-c", tt.script}}, fastOptions)
			if err := b.Prepare(ctx, rec); err != nil {
				t.Fatal(err)
			}
			defer b.Cleanup()
			waitUntil(t, patience, "a reported failure", func() bool { _, _, _, errs := rec.snapshot(); return len(errs) >= 1 })
			_, _, _, errs := rec.snapshot()
			var ce *ChildError
			if !errors.As(errs[0], &ce) || ce.Phase != PhaseHandshake || !errors.Is(ce, tt.cause) {
				t.Fatalf("reported %v, want %v during the handshake", errs[0], tt.cause)
			}
			var mm *multilang.MismatchError
			switch {
			case tt.want == nil && errors.As(ce, &mm):
				t.Errorf("reported %v, want no mismatch", ce)
			case tt.want != nil && (!errors.As(ce, &mm) || *mm != *tt.want):
				t.Errorf("reported %v, want the mismatch %v", ce, tt.want)
			}
			t.Logf("reported: %v", ce)
		})
	}
}

func TestSerializerSettings(t *testing.T) {
	tests := []struct {
		value any
		want  multilang.Serializer
		err   error
	}{
		{nil, multilang.JSON, nil},
		{"json", multilang.JSON, nil},
		{multilang.StormJSONSerializer, multilang.JSON, nil},
		{"msgpack", multilang.Msgpack, nil},
		{"protobuf", "", multilang.ErrUnknownSerializer},
	}
	for _, tt := range tests {
		conf := topology.Defaults()
		if tt.value != nil {
			conf = conf.Merge(topology.Config{topology.KeyMultilangSerializer: tt.value})
		}
		set, err := readSettings(&topology.TaskContext{Config: conf})
		if set.serializer != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("readSettings(serializer %v) = %q, %v; want %q, %v", tt.value, set.serializer, err, tt.want, tt.err)
		}
	}
	// A bolt refuses to start with an unknown serializer.
	ctx := taskContext(t, "split", splitTask, topology.Config{topology.KeyMultilangSerializer: "protobuf"}, &logRecorder{})
	if err := NewBolt(childSpec("split"), fastOptions).Prepare(ctx, &recorder{}); !errors.Is(err, multilang.ErrUnknownSerializer) {
		t.Errorf("Prepare with serializer protobuf = %v, want ErrUnknownSerializer", err)
	}
}
