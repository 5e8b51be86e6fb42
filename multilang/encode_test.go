package multilang

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestEncodeHostMessages(t *testing.T) {
	tests := []struct {
		name  string
		write func(e *Encoder) error
		want  string
	}{
		{"tuple", func(e *Encoder) error {
			return e.WriteTuple(&TupleMessage{ID: "-6955786537413359385", Comp: "sentences", Stream: "default", Task: 4, Tuple: []any{"snow white", 1, 2.5, true, nil, []byte("hi"), map[string]any{"b": 1, "a": []string{"x"}}}})
		}, `{"id":"-6955786537413359385","comp":"sentences","stream":"default","task":4,"tuple":["snow white",1,2.5,true,null,"aGk=",{"a":["x"],"b":1}]}`},
		{"heartbeat", func(e *Encoder) error { return e.WriteHeartbeat("12") },
			`{"id":"12","comp":null,"stream":"__heartbeat","task":-1,"tuple":[]}`},
		{"next", func(e *Encoder) error { return e.WriteCommand(CmdNext, "") }, `{"command":"next","id":""}`},
		{"ack int id", func(e *Encoder) error { return e.WriteCommand(CmdAck, int64(7)) }, `{"command":"ack","id":7}`},
		{"fail raw id", func(e *Encoder) error { return e.WriteCommand(CmdFail, Raw(`{"b": 1, "a": 2}`)) }, `{"command":"fail","id":{"b": 1, "a": 2}}`},
		{"task ids", func(e *Encoder) error { return e.WriteTaskIDs([]int{3, 7}) }, `[3,7]`},
		{"no task ids", func(e *Encoder) error { return e.WriteTaskIDs(nil) }, `[]`},
		{"small and large floats", func(e *Encoder) error {
			return e.WriteTuple(&TupleMessage{ID: "1", Tuple: []any{1e-9, 1e21, float32(0.1), 100.0}})
		}, `{"id":"1","comp":"","stream":"","task":0,"tuple":[1e-09,1e+21,0.1,100.0]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			e := NewEncoder(&buf)
			if err := tt.write(e); err != nil {
				t.Fatal(err)
			}
			if buf.Len() != 0 {
				t.Errorf("encoder wrote before Flush")
			}
			if err := e.Flush(); err != nil {
				t.Fatal(err)
			}
			if got, want := buf.String(), tt.want+"\nend\n"; got != want {
				t.Errorf("wrote %q, want %q", got, want)
			}
		})
	}
}

// testHandshake has every part of a handshake, an empty fields list included.
func testHandshake() *Handshake {
	return &Handshake{
		PidDir: "/tmp/pids",
		Conf:   map[string]any{"topology.name": "wc", "topology.workers": int64(2), "list": []any{"a", int64(1)}},
		Context: Context{
			TaskToComponent:          map[int]string{1: "__acker", 2: "split"},
			TaskID:                   2,
			ComponentID:              "split",
			Streams:                  []string{"default"},
			StreamToOutputFields:     map[string][]string{"default": {"word"}},
			StreamToTargetToGrouping: map[string]map[string]Grouping{"default": {"count": {Type: "FIELDS", Fields: []string{"word"}}, "global": {Type: "FIELDS", Fields: []string{}}}},
			SourceToStreamToGrouping: map[string]map[string]Grouping{"s": {"default": {Type: "SHUFFLE"}}},
			SourceToStreamToFields:   map[string]map[string][]string{"s": {"default": {"sentence"}}},
		},
	}
}

func TestEncodeHandshakeRoundTrip(t *testing.T) {
	h := testHandshake()
	var buf bytes.Buffer
	e := NewEncoder(&buf)
	if err := e.WriteHandshake(h); err != nil {
		t.Fatal(err)
	}
	e.Flush()
	if strings.Count(buf.String(), "\n") != 2 {
		t.Errorf("handshake is not on one line: %q", buf.String())
	}
	for _, want := range []string{`"task->component":{"1":"__acker","2":"split"}`, `{"type":"SHUFFLE"}`, `"global":{"type":"FIELDS","fields":[]}`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("handshake %s lacks %s", buf.String(), want)
		}
	}
	if !strings.Contains(buf.String(), `"task->component":{"1":"__acker","2":"split"}`) {
		t.Errorf("task ids are not JSON object keys: %s", buf.String())
	}
	var m HostMessage
	if err := NewDecoder(&buf, DecoderOptions{}).DecodeHost(&m); err != nil {
		t.Fatal(err)
	}
	if m.Kind != HostHandshake || !reflect.DeepEqual(m.Handshake, h) {
		t.Errorf("round trip = %#v, want %#v", m.Handshake, h)
	}
}

func TestEncodeChildMessagesRoundTrip(t *testing.T) {
	common := []Message{
		{Command: CmdEmit, Tuple: []any{"word", int64(3)}, Anchors: []string{"1", "2"}, NeedTaskIDs: true, Level: LevelInfo},
		{Command: CmdEmit, Tuple: []any{"word"}, Stream: "s", Direct: true, Task: 9, NeedTaskIDs: true, Level: LevelInfo},
		{Command: CmdEmit, Tuple: []any{}, ID: int64(5), NeedTaskIDs: false, Level: LevelInfo},
		{Command: CmdAck, ID: "-1", NeedTaskIDs: true, Level: LevelInfo},
		{Command: CmdFail, ID: "18446744073709551615", NeedTaskIDs: true, Level: LevelInfo},
		{Command: CmdSync, NeedTaskIDs: true, Level: LevelInfo},
		{Command: CmdLog, Msg: "x\ny", Level: LevelError, NeedTaskIDs: true},
		{Command: CmdError, Msg: "boom", NeedTaskIDs: true, Level: LevelInfo},
		{Command: CmdMetrics, Name: "m", Params: map[string]any{"a": int64(1)}, NeedTaskIDs: true, Level: LevelInfo},
		{Command: "dance", NeedTaskIDs: true, Level: LevelInfo},
		{Pid: 42, HasPid: true, NeedTaskIDs: true, Level: LevelInfo},
	}
	// A raw id decodes in the format it came in; MessagePack also writes a
	// JSON one, as the number it holds.
	raw := map[Serializer][]Message{
		JSON: {{Command: CmdEmit, Tuple: []any{1.5}, ID: Raw(`[1,2]`), NeedTaskIDs: true, Level: LevelInfo}},
		Msgpack: {
			{Command: CmdEmit, Tuple: []any{1.5}, ID: RawMsgpack("\x92\x01\x02"), NeedTaskIDs: true, Level: LevelInfo},
			{Command: CmdEmit, Tuple: []any{1.5}, ID: Raw(`18446744073709551615`), NeedTaskIDs: true, Level: LevelInfo},
		},
	}
	for _, s := range serializers {
		t.Run(s.String(), func(t *testing.T) {
			tests := append(raw[s], common...)
			var buf bytes.Buffer
			w := NewWriter(s, &buf)
			for i := range tests {
				if err := w.WriteMessage(&tests[i]); err != nil {
					t.Fatalf("WriteMessage(%+v): %v", tests[i], err)
				}
			}
			w.Flush()
			r := NewReader(s, &buf, DecoderOptions{})
			for _, want := range tests {
				var got Message
				if err := r.Decode(&got); err != nil {
					t.Fatalf("Decode: %v", err)
				}
				if len(got.Anchors) == 0 {
					got.Anchors = nil
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("round trip = %+v, want %+v", got, want)
				}
			}
		})
	}
}

func TestEncodeUnencodable(t *testing.T) {
	type value struct {
		name  string
		value any
	}
	common := []value{
		{"invalid UTF-8", "a\xffb"},
		{"invalid UTF-8 key", map[string]any{"\xff": 1}},
		{"nested invalid UTF-8", []any{1, []any{"\xff"}}},
		{"channel", make(chan int)},
	}
	// JSON has no NaN or infinity; MessagePack refuses raw JSON that does
	// not parse and nesting past its depth limit.
	only := map[Serializer][]value{
		JSON: {{"NaN", math.NaN()}, {"infinity", math.Inf(-1)}, {"nested NaN", []any{1, []any{math.NaN()}}}},
		Msgpack: {{"bad raw JSON", Raw(`{"a":`)}, {"too deep", func() any {
			var v any = []any{}
			for range 300 {
				v = []any{v}
			}
			return v
		}()}},
	}
	for _, s := range serializers {
		// What the encoder writes around the failed tuple.
		want := []byte(frame(`[1]`, `{"command":"next","id":""}`))
		if s == Msgpack {
			want = slicesConcat(mp(t, `[1]`), mp(t, `{"command":"next","id":""}`))
		}
		for _, tt := range append(only[s], common...) {
			t.Run(s.String()+"/"+tt.name, func(t *testing.T) {
				var buf bytes.Buffer
				w := NewWriter(s, &buf)
				if err := w.WriteTaskIDs([]int{1}); err != nil {
					t.Fatal(err)
				}
				before := w.Buffered()
				err := w.WriteTuple(&TupleMessage{ID: "1", Tuple: []any{"ok", tt.value}})
				if !errors.Is(err, ErrUnencodable) {
					t.Fatalf("WriteTuple(%v) = %v, want ErrUnencodable", tt.value, err)
				}
				if w.Buffered() != before {
					t.Errorf("a failed write left %d bytes behind", w.Buffered()-before)
				}
				// The encoder stays usable.
				if err := w.WriteCommand(CmdNext, ""); err != nil {
					t.Fatal(err)
				}
				w.Flush()
				if got := buf.Bytes(); !bytes.Equal(got, want) {
					t.Errorf("wrote %q, want %q", got, want)
				}
			})
		}
	}
}
