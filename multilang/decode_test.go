package multilang

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// frame wraps JSON text in the protocol's framing.
func frame(jsons ...string) string {
	var b strings.Builder
	for _, j := range jsons {
		b.WriteString(j)
		b.WriteString("\nend\n")
	}
	return b.String()
}

func decodeOne(t *testing.T, input string) (Message, error) {
	t.Helper()
	var m Message
	err := NewDecoder(strings.NewReader(input), DecoderOptions{}).Decode(&m)
	return m, err
}

// msg returns a Message with the decoder's defaults for absent fields.
func msg(m Message) Message {
	if m.Level == 0 && m.Command != CmdLog {
		m.Level = LevelInfo
	}
	return m
}

func TestDecodeChildMessages(t *testing.T) {
	tests := []struct {
		name, json string
		want       Message
	}{
		{"bolt emit", `{"command": "emit", "tuple": ["word"], "stream": "default", "anchors": ["-6955786537413359385"]}`,
			msg(Message{Command: CmdEmit, Tuple: []any{"word"}, Stream: "default", Anchors: []string{"-6955786537413359385"}, NeedTaskIDs: true})},
		{"direct emit", `{"command": "emit", "tuple": ["word"], "task": 9, "anchors": []}`,
			msg(Message{Command: CmdEmit, Tuple: []any{"word"}, Direct: true, Task: 9, Anchors: []string{}, NeedTaskIDs: true})},
		{"no task ids", `{"command": "emit", "tuple": ["word"], "need_task_ids": false}`,
			msg(Message{Command: CmdEmit, Tuple: []any{"word"}})},
		{"single anchor string", `{"command":"emit","tuple":[1,2.5,true,null,{"k":[1]}],"anchors":"7"}`,
			msg(Message{Command: CmdEmit, Tuple: []any{int64(1), 2.5, true, nil, map[string]any{"k": []any{int64(1)}}}, Anchors: []string{"7"}, NeedTaskIDs: true})},
		{"numeric anchors", `{"command":"emit","tuple":[],"anchors":[7, "8"]}`,
			msg(Message{Command: CmdEmit, Tuple: []any{}, Anchors: []string{"7", "8"}, NeedTaskIDs: true})},
		{"null stream and task", `{"command":"emit","tuple":["a"],"stream":null,"task":null,"id":null}`,
			msg(Message{Command: CmdEmit, Tuple: []any{"a"}, NeedTaskIDs: true})},
		{"spout emit int id", `{"command": "emit", "tuple": [1], "stream": "s", "id": 12, "task": 9}`,
			msg(Message{Command: CmdEmit, Tuple: []any{int64(1)}, Stream: "s", ID: int64(12), Direct: true, Task: 9, NeedTaskIDs: true})},
		{"spout emit string id", `{"command":"emit","tuple":[1],"id":"m-1"}`,
			msg(Message{Command: CmdEmit, Tuple: []any{int64(1)}, ID: "m-1", NeedTaskIDs: true})},
		{"spout emit object id", `{"command":"emit","tuple":[1],"id":{"b": 1, "a": [2]}}`,
			msg(Message{Command: CmdEmit, Tuple: []any{int64(1)}, ID: Raw(`{"b": 1, "a": [2]}`), NeedTaskIDs: true})},
		{"spout emit huge id", `{"command":"emit","tuple":[1],"id":18446744073709551615}`,
			msg(Message{Command: CmdEmit, Tuple: []any{int64(1)}, ID: Raw(`18446744073709551615`), NeedTaskIDs: true})},
		{"spout emit float id", `{"command":"emit","tuple":[1],"id":1.50}`,
			msg(Message{Command: CmdEmit, Tuple: []any{int64(1)}, ID: Raw(`1.50`), NeedTaskIDs: true})},
		{"big tuple numbers", `{"command":"emit","tuple":[18446744073709551615, -9223372036854775808, 1e3]}`,
			msg(Message{Command: CmdEmit, Tuple: []any{uint64(18446744073709551615), int64(-9223372036854775808), 1000.0}, NeedTaskIDs: true})},
		{"ack", `{"command": "ack",  "id": "-6955786537413359385"}`,
			msg(Message{Command: CmdAck, ID: "-6955786537413359385", NeedTaskIDs: true})},
		{"fail", `{"command": "fail", "id": "-6955786537413359385"}`,
			msg(Message{Command: CmdFail, ID: "-6955786537413359385", NeedTaskIDs: true})},
		{"sync", `{"command": "sync"}`, msg(Message{Command: CmdSync, NeedTaskIDs: true})},
		{"log", `{"command": "log", "msg": "text", "level": 3}`,
			Message{Command: CmdLog, Msg: "text", Level: LevelWarn, NeedTaskIDs: true}},
		{"log without level", `{"command": "log", "msg": "text"}`,
			Message{Command: CmdLog, Msg: "text", Level: LevelInfo, NeedTaskIDs: true}},
		{"log non-string msg", `{"command": "log", "msg": 42, "level": 0}`,
			Message{Command: CmdLog, Msg: "42", Level: LevelTrace, NeedTaskIDs: true}},
		{"error", `{"command": "error", "msg": "text"}`, msg(Message{Command: CmdError, Msg: "text", NeedTaskIDs: true})},
		{"metrics", `{"command": "metrics", "name": "my-metric", "params": 1}`,
			msg(Message{Command: CmdMetrics, Name: "my-metric", Params: int64(1), NeedTaskIDs: true})},
		{"unknown command", `{"command": "dance", "extra": [1, {"x": null}]}`, msg(Message{Command: "dance", NeedTaskIDs: true})},
		{"pid", `{"pid": 1234}`, msg(Message{Pid: 1234, HasPid: true, NeedTaskIDs: true})},
		{"pretty printed", "{\n  \"command\": \"emit\",\n  \"tuple\": [\n    \"a\"\n  ]\n}", msg(Message{Command: CmdEmit, Tuple: []any{"a"}, NeedTaskIDs: true})},
		{"escapes and unicode", `{"command":"emit","tuple":["caf\u00e9 \"q\" \n ✓"]}`, msg(Message{Command: CmdEmit, Tuple: []any{"café \"q\" \n ✓"}, NeedTaskIDs: true})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeOne(t, frame(tt.json))
			if err != nil {
				t.Fatalf("Decode(%s) error: %v", tt.json, err)
			}
			if len(got.Anchors) == 0 && len(tt.want.Anchors) == 0 {
				got.Anchors, tt.want.Anchors = nil, nil
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Decode(%s) =\n%#v\nwant\n%#v", tt.json, got, tt.want)
			}
		})
	}
}

func TestDecodeHostMessages(t *testing.T) {
	handshake := `{"pidDir": "/var/squall/workers/w1/pids",
 "conf": {"topology.name": "wordcount", "storm.id": "wordcount-1-1732186000", "topology.workers": 2},
 "context": {
   "task->component": {"1": "__acker", "2": "count", "3": "count", "4": "sentences", "5": "split"},
   "taskid": 5,
   "componentid": "split",
   "streams": ["default"],
   "stream->outputfields": {"default": ["word"]},
   "stream->target->grouping": {"default": {"count": {"type": "FIELDS", "fields": ["word"]}}},
   "source->stream->grouping": {"sentences": {"default": {"type": "SHUFFLE"}}},
   "source->stream->fields": {"sentences": {"default": ["sentence"]}}
 }}`
	tests := []struct {
		name, json string
		want       HostMessage
	}{
		{"handshake", handshake, HostMessage{Kind: HostHandshake, Handshake: &Handshake{
			PidDir: "/var/squall/workers/w1/pids",
			Conf:   map[string]any{"topology.name": "wordcount", "storm.id": "wordcount-1-1732186000", "topology.workers": int64(2)},
			Context: Context{
				TaskToComponent:          map[int]string{1: "__acker", 2: "count", 3: "count", 4: "sentences", 5: "split"},
				TaskID:                   5,
				ComponentID:              "split",
				Streams:                  []string{"default"},
				StreamToOutputFields:     map[string][]string{"default": {"word"}},
				StreamToTargetToGrouping: map[string]map[string]Grouping{"default": {"count": {Type: "FIELDS", Fields: []string{"word"}}}},
				SourceToStreamToGrouping: map[string]map[string]Grouping{"sentences": {"default": {Type: "SHUFFLE"}}},
				SourceToStreamToFields:   map[string]map[string][]string{"sentences": {"default": {"sentence"}}},
			},
		}}},
		{"tuple", `{"id": "-6955786537413359385", "comp": "sentences", "stream": "default", "task": 4, "tuple": ["snow white and the seven dwarfs"]}`,
			HostMessage{Kind: HostTuple, Tuple: TupleMessage{ID: "-6955786537413359385", Comp: "sentences", Stream: "default", Task: 4, Tuple: []any{"snow white and the seven dwarfs"}}}},
		{"tick", `{"id": "1", "comp": "__system", "stream": "__tick", "task": -1, "tuple": [5]}`,
			HostMessage{Kind: HostTuple, Tuple: TupleMessage{ID: "1", Comp: "__system", Stream: "__tick", Task: -1, Tuple: []any{int64(5)}}}},
		{"heartbeat", `{"id": "77", "comp": null, "stream": "__heartbeat", "task": -1, "tuple": []}`,
			HostMessage{Kind: HostHeartbeat, Tuple: TupleMessage{ID: "77", Stream: "__heartbeat", Task: -1, Tuple: []any{}}}},
		{"next", `{"command": "next", "id": ""}`, HostMessage{Kind: HostCommand, Command: "next", ID: ""}},
		{"ack", `{"command": "ack", "id": 12}`, HostMessage{Kind: HostCommand, Command: "ack", ID: int64(12)}},
		{"fail raw id", `{"command": "fail", "id": [1,"x"]}`, HostMessage{Kind: HostCommand, Command: "fail", ID: Raw(`[1,"x"]`)}},
		{"activate", `{"command": "activate", "id": ""}`, HostMessage{Kind: HostCommand, Command: "activate", ID: ""}},
		{"deactivate", `{"command": "deactivate", "id": ""}`, HostMessage{Kind: HostCommand, Command: "deactivate", ID: ""}},
		{"task ids", `[3, 7]`, HostMessage{Kind: HostTaskIDs, TaskIDs: []int{3, 7}}},
		{"no task ids", `[]`, HostMessage{Kind: HostTaskIDs, TaskIDs: []int{}}},
	}
	for _, s := range serializers {
		for _, tt := range tests {
			t.Run(s.String()+"/"+tt.name, func(t *testing.T) {
				data, want := []byte(frame(tt.json)), tt.want
				if s == Msgpack {
					data = mp(t, tt.json)
					if raw, ok := want.ID.(Raw); ok { // a raw id stays in the format it came in
						want.ID = RawMsgpack(mp(t, string(raw)))
					}
				}
				var got HostMessage
				if err := NewReader(s, bytes.NewReader(data), DecoderOptions{}).DecodeHost(&got); err != nil {
					t.Fatalf("DecodeHost(%s) error: %v", tt.json, err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("DecodeHost(%s) =\n%#v\nwant\n%#v", tt.json, got, want)
				}
			})
		}
	}
}

// chunkReader returns data in the given pieces, one per Read.
type chunkReader struct{ pieces [][]byte }

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.pieces) > 0 && len(r.pieces[0]) == 0 {
		r.pieces = r.pieces[1:]
	}
	if len(r.pieces) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.pieces[0])
	r.pieces[0] = r.pieces[0][n:]
	return n, nil
}

// decodeAll reads r to its end in format s, going on past the errors a
// decoder recovers from.
func decodeAll(t *testing.T, s Serializer, r io.Reader, opts DecoderOptions) ([]Message, []error) {
	t.Helper()
	d := NewReader(s, r, opts)
	var msgs []Message
	var errs []error
	for {
		var m Message
		err := d.Decode(&m)
		if err == io.EOF {
			return msgs, errs
		}
		if err != nil {
			errs = append(errs, err)
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				return msgs, errs
			}
			continue
		}
		m.Anchors = append([]string(nil), m.Anchors...)
		msgs = append(msgs, m)
	}
}

func TestDecodeSplitReads(t *testing.T) {
	input := []byte("stray line\r\n" + frame(
		`{"command":"emit","tuple":["a b"],"anchors":["1"],"need_task_ids":false}`,
		"{\"command\":\n\"ack\",\"id\":\"1\"}",
		`{"command":"log","msg":"héllo ✓","level":2}`,
	) + "{\"command\":\"sync\"}\r\nend\r\n")
	want, errs := decodeAll(t, JSON, bytes.NewReader(input), DecoderOptions{})
	if len(errs) != 0 || len(want) != 4 {
		t.Fatalf("whole input: %d messages, errors %v; want 4 messages", len(want), errs)
	}
	for k := 0; k <= len(input); k++ {
		r := &chunkReader{pieces: [][]byte{append([]byte(nil), input[:k]...), append([]byte(nil), input[k:]...)}}
		got, errs := decodeAll(t, JSON, r, DecoderOptions{})
		if len(errs) != 0 || !reflect.DeepEqual(got, want) {
			t.Fatalf("split at %d: got %v, errors %v; want %v", k, got, errs, want)
		}
	}
	got, errs := decodeAll(t, JSON, iotest.OneByteReader(bytes.NewReader(input)), DecoderOptions{})
	if len(errs) != 0 || !reflect.DeepEqual(got, want) {
		t.Fatalf("one byte at a time: got %v, errors %v; want %v", got, errs, want)
	}
}

func TestDecodeLenient(t *testing.T) {
	t.Run("stray lines are reported and skipped", func(t *testing.T) {
		var strays []string
		input := "hello\n\n   \nprint output\n" + frame(`{"command":"sync"}`) + "between\n" + frame(`{"command":"sync"}`)
		msgs, errs := decodeAll(t, JSON, strings.NewReader(input), DecoderOptions{OnStray: func(l []byte) { strays = append(strays, string(l)) }})
		if len(msgs) != 2 || len(errs) != 0 {
			t.Fatalf("got %d messages, errors %v; want 2 messages", len(msgs), errs)
		}
		if want := []string{"hello", "print output", "between"}; !reflect.DeepEqual(strays, want) {
			t.Errorf("strays = %q, want %q", strays, want)
		}
	})
	t.Run("stray line that looks like JSON", func(t *testing.T) {
		var strays []string
		input := "{'a': 1}\n" + frame(`{"command":"ack","id":"3"}`)
		msgs, errs := decodeAll(t, JSON, strings.NewReader(input), DecoderOptions{OnStray: func(l []byte) { strays = append(strays, string(l)) }})
		if len(msgs) != 1 || len(errs) != 0 || msgs[0].ID != "3" {
			t.Fatalf("got %v, errors %v; want the ack", msgs, errs)
		}
		if want := []string{"{'a': 1}"}; !reflect.DeepEqual(strays, want) {
			t.Errorf("strays = %q, want %q", strays, want)
		}
	})
	t.Run("invalid UTF-8 is replaced", func(t *testing.T) {
		var reported int
		input := frame("{\"command\":\"emit\",\"tuple\":[\"a\xffb\"]}")
		msgs, errs := decodeAll(t, JSON, strings.NewReader(input), DecoderOptions{OnInvalidUTF8: func(string) { reported++ }})
		if len(errs) != 0 || len(msgs) != 1 {
			t.Fatalf("got %v, errors %v", msgs, errs)
		}
		if got := msgs[0].Tuple[0]; got != "a\uFFFDb" || reported != 1 {
			t.Errorf("tuple[0] = %q (reported %d), want %q reported once", got, reported, "a\uFFFDb")
		}
	})
	t.Run("end with CRLF", func(t *testing.T) {
		msgs, errs := decodeAll(t, JSON, strings.NewReader("{\"command\":\"sync\"}\r\nend\r\n"), DecoderOptions{})
		if len(msgs) != 1 || len(errs) != 0 {
			t.Fatalf("got %v, errors %v", msgs, errs)
		}
	})
}

func TestDecodeErrors(t *testing.T) {
	next := frame(`{"command":"sync"}`)
	tests := []struct {
		name, input string
		want        error
		recovers    bool // the following message still decodes
	}{
		{"malformed JSON", frame(`{"command": "emit", "tuple": [1,}`) + next, ErrMalformed, true},
		{"no command", frame(`{"tuple": [1]}`) + next, ErrMalformed, true},
		{"not an object", frame(`"sync"`) + next, ErrMalformed, false}, // a line starting with " is stray output
		{"array", frame(`[1, 2]`) + next, ErrMalformed, true},
		{"trailing data", frame(`{"command":"sync"} {"command":"sync"}`) + next, ErrMalformed, true},
		{"wrong type", frame(`{"command": "emit", "tuple": "word"}`) + next, ErrMalformed, true},
		{"bad task", frame(`{"command": "emit", "tuple": [], "task": 1.5}`) + next, ErrMalformed, true},
		{"bad anchors", frame(`{"command": "emit", "tuple": [], "anchors": [true]}`) + next, ErrMalformed, true},
		{"empty message", "end\n" + next, ErrMalformed, true},
		{"key without value", frame(`{"command":"ack","id":}`) + next, ErrMalformed, true},
		{"escaped key", frame(`{"comm\u0061nd":"sync","x":[1,{"y":"\"}"}]}`) + next, nil, true},
		{"too deep", frame(`{"command":"emit","tuple":`+strings.Repeat("[", 300)+strings.Repeat("]", 300)+`}`) + next, ErrMalformed, true},
		{"number out of range", frame(`{"command":"emit","tuple":[1e999]}`) + next, ErrMalformed, true},
		{"too large", frame(`{"command":"emit","tuple":["`+strings.Repeat("x", 5000)+`"]}`) + next, ErrTooLarge, true},
		{"too large multi-line", frame("{\"command\":\"emit\",\n"+strings.Repeat("\"xxxxxxxxxxxxxxxxxxxxxxxx\"\n", 300)+"}") + next, ErrTooLarge, true},
		{"too large line longer than the buffer", frame(`{"command":"emit","tuple":["`+strings.Repeat("y", 3*readBufferSize)+`"]}`) + next, ErrTooLarge, true},
		{"eof inside message", `{"command":"sync"}` + "\n", io.ErrUnexpectedEOF, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, errs := decodeAll(t, JSON, strings.NewReader(tt.input), DecoderOptions{MaxMessageBytes: 4096})
			if tt.want == nil {
				if len(errs) != 0 || len(msgs) != 2 || msgs[0].Command != CmdSync {
					t.Fatalf("Decode = %v, errors %v; want two syncs", msgs, errs)
				}
				return
			}
			if len(errs) == 0 || !errors.Is(errs[0], tt.want) {
				t.Fatalf("Decode errors = %v, want %v", errs, tt.want)
			}
			var fe *FrameError
			if errors.As(errs[0], &fe) && fe.Snippet == "" {
				t.Errorf("error %v quotes no snippet", errs[0])
			}
			if tt.recovers && (len(msgs) != 1 || msgs[0].Command != CmdSync) {
				t.Errorf("after the error got %v, want the sync that follows", msgs)
			}
		})
	}
}

// TestDecodeLongLineCause checks that a line too long to be a message is
// reported as such, with the limit, and not as whatever is left of it.
func TestDecodeLongLineCause(t *testing.T) {
	const max = 4096
	next := frame(`{"command":"sync"}`)
	tests := []struct {
		name, input string
		want        error
		mention     string
	}{
		{"one line", frame(`{"command":"emit","tuple":["`+strings.Repeat("x", 3*readBufferSize)+`"]}`) + next,
			ErrTooLarge, "line of 196639 bytes, longer than the limit of 4096 bytes"},
		{"several lines", frame("{\"command\":\"emit\",\n"+strings.Repeat("\"xxxxxxxxxxxxxxxxxxxxxxxx\"\n", 300)+"}") + next,
			ErrTooLarge, "message of 8120 bytes, longer than the limit of 4096 bytes"},
		{"a line that cannot start a message", frame(strings.Repeat("z", 3*readBufferSize)) + next,
			ErrTooLarge, "line of 196608 bytes, longer than the limit of 4096 bytes"},
		{"a short stray line", frame("zzz") + next, ErrMalformed, "empty message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, errs := decodeAll(t, JSON, strings.NewReader(tt.input), DecoderOptions{MaxMessageBytes: max})
			if len(errs) != 1 || !errors.Is(errs[0], tt.want) || !strings.Contains(errs[0].Error(), tt.mention) {
				t.Fatalf("Decode errors = %v, want one %v mentioning %q", errs, tt.want, tt.mention)
			}
			if len(msgs) != 1 || msgs[0].Command != CmdSync {
				t.Errorf("after the error got %v, want the sync that follows", msgs)
			}
		})
	}
}

// TestDecodeLongBlankPrefix checks that a message after more white space
// than the read buffer holds is still read as a message.
func TestDecodeLongBlankPrefix(t *testing.T) {
	in := strings.Repeat(" ", 2*readBufferSize+7) + frame(`{"command":"sync"}`)
	var strays []string
	msgs, errs := decodeAll(t, JSON, strings.NewReader(in), DecoderOptions{OnStray: func(l []byte) { strays = append(strays, string(l)) }})
	if len(errs) != 0 || len(msgs) != 1 || msgs[0].Command != CmdSync || len(strays) != 0 {
		t.Errorf("Decode = %v, errors %v, strays %d; want the sync", msgs, errs, len(strays))
	}
}

func TestDecodeTooLargeKeepsMemoryBounded(t *testing.T) {
	const max = 1 << 16
	d := NewDecoder(strings.NewReader(frame(`{"command":"emit","tuple":["`+strings.Repeat("z", 8<<20)+`"]}`)+frame(`{"command":"sync"}`)), DecoderOptions{MaxMessageBytes: max})
	var m Message
	if err := d.Decode(&m); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Decode = %v, want ErrTooLarge", err)
	}
	if c := cap(d.frame); c > 2*max+readBufferSize {
		t.Errorf("decoder buffer grew to %d bytes for a cap of %d", c, max)
	}
	if err := d.Decode(&m); err != nil || m.Command != CmdSync {
		t.Errorf("Decode after the large message = %v, %v; want the sync", m.Command, err)
	}
}
