package multilang

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/squallstream/squall/internal/transcript"
)

// mp converts JSON text to MessagePack with the transcript package's
// independent encoder.
func mp(t testing.TB, jsonText string) []byte {
	t.Helper()
	b, err := transcript.JSONToMsgpack([]byte(jsonText))
	if err != nil {
		t.Fatalf("JSONToMsgpack(%s): %v", jsonText, err)
	}
	return b
}

func TestMsgpackDecodeChildMessages(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want Message
	}{
		{"bolt emit", mp(t, `{"command": "emit", "tuple": ["word"], "stream": "default", "anchors": ["-6955786537413359385"]}`),
			msg(Message{Command: CmdEmit, Tuple: []any{"word"}, Stream: "default", Anchors: []string{"-6955786537413359385"}, NeedTaskIDs: true})},
		{"direct emit", mp(t, `{"command": "emit", "tuple": ["word"], "task": 9, "anchors": []}`),
			msg(Message{Command: CmdEmit, Tuple: []any{"word"}, Direct: true, Task: 9, NeedTaskIDs: true})},
		{"no task ids", mp(t, `{"command": "emit", "tuple": ["word"], "need_task_ids": false}`),
			msg(Message{Command: CmdEmit, Tuple: []any{"word"}})},
		{"values", mp(t, `{"command":"emit","tuple":[1,2.5,true,null,{"k":[1]},-7,18446744073709551615,-9223372036854775808,"snö ☃"],"anchors":"7"}`),
			msg(Message{Command: CmdEmit, Tuple: []any{int64(1), 2.5, true, nil, map[string]any{"k": []any{int64(1)}}, int64(-7), uint64(math.MaxUint64), int64(math.MinInt64), "snö ☃"}, Anchors: []string{"7"}, NeedTaskIDs: true})},
		{"numeric anchors", mp(t, `{"command":"emit","tuple":[],"anchors":[7, "8"]}`),
			msg(Message{Command: CmdEmit, Tuple: []any{}, Anchors: []string{"7", "8"}, NeedTaskIDs: true})},
		{"null stream, task and id", mp(t, `{"command":"emit","tuple":["a"],"stream":null,"task":null,"id":null}`),
			msg(Message{Command: CmdEmit, Tuple: []any{"a"}, NeedTaskIDs: true})},
		{"spout emit int id", mp(t, `{"command": "emit", "tuple": [1], "stream": "s", "id": 12, "task": 9}`),
			msg(Message{Command: CmdEmit, Tuple: []any{int64(1)}, Stream: "s", ID: int64(12), Direct: true, Task: 9, NeedTaskIDs: true})},
		{"spout emit string id", mp(t, `{"command":"emit","tuple":[1],"id":"m-1"}`),
			msg(Message{Command: CmdEmit, Tuple: []any{int64(1)}, ID: "m-1", NeedTaskIDs: true})},
		{"spout emit map id", mp(t, `{"command":"emit","tuple":[1],"id":{"b": 1, "a": [2]}}`),
			msg(Message{Command: CmdEmit, Tuple: []any{int64(1)}, ID: RawMsgpack(mp(t, `{"a": [2], "b": 1}`)), NeedTaskIDs: true})},
		{"spout emit huge id", mp(t, `{"command":"emit","tuple":[1],"id":18446744073709551615}`),
			msg(Message{Command: CmdEmit, Tuple: []any{int64(1)}, ID: Raw(`18446744073709551615`), NeedTaskIDs: true})},
		{"spout emit float id", mp(t, `{"command":"emit","tuple":[1],"id":1.5}`),
			msg(Message{Command: CmdEmit, Tuple: []any{int64(1)}, ID: RawMsgpack("\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00"), NeedTaskIDs: true})},
		{"binary, float32 and integer keys",
			[]byte("\x82\xa7command\xa4emit\xa5tuple\x93\xc4\x02hi\xca\x3f\xc0\x00\x00\x81\x07\xa1x"),
			msg(Message{Command: CmdEmit, Tuple: []any{[]byte("hi"), 1.5, map[string]any{"7": "x"}}, NeedTaskIDs: true})},
		{"binary strings", []byte("\x82\xa7command\xc4\x03ack\xa2id\xc4\x02-1"),
			msg(Message{Command: CmdAck, ID: RawMsgpack("\xc4\x02-1"), NeedTaskIDs: true})},
		{"ack", mp(t, `{"command": "ack",  "id": "-6955786537413359385"}`),
			msg(Message{Command: CmdAck, ID: "-6955786537413359385", NeedTaskIDs: true})},
		{"fail", mp(t, `{"command": "fail", "id": "-6955786537413359385"}`),
			msg(Message{Command: CmdFail, ID: "-6955786537413359385", NeedTaskIDs: true})},
		{"sync", mp(t, `{"command": "sync"}`), msg(Message{Command: CmdSync, NeedTaskIDs: true})},
		{"log", mp(t, `{"command": "log", "msg": "text", "level": 3}`),
			Message{Command: CmdLog, Msg: "text", Level: LevelWarn, NeedTaskIDs: true}},
		{"log without level", mp(t, `{"command": "log", "msg": "text"}`),
			Message{Command: CmdLog, Msg: "text", Level: LevelInfo, NeedTaskIDs: true}},
		{"log non-string msg", mp(t, `{"command": "log", "msg": 42, "level": 0}`),
			Message{Command: CmdLog, Msg: "42", Level: LevelTrace, NeedTaskIDs: true}},
		{"error", mp(t, `{"command": "error", "msg": "text"}`), msg(Message{Command: CmdError, Msg: "text", NeedTaskIDs: true})},
		{"metrics", mp(t, `{"command": "metrics", "name": "my-metric", "params": 1}`),
			msg(Message{Command: CmdMetrics, Name: "my-metric", Params: int64(1), NeedTaskIDs: true})},
		{"unknown command", mp(t, `{"command": "dance", "extra": [1, {"x": null}]}`), msg(Message{Command: "dance", NeedTaskIDs: true})},
		{"unknown key of another type", []byte("\x82\x01\x93\x01\x02\x03\xa7command\xa4sync"), msg(Message{Command: CmdSync, NeedTaskIDs: true})},
		{"pid", mp(t, `{"pid": 1234}`), msg(Message{Pid: 1234, HasPid: true, NeedTaskIDs: true})},
		{"map16 and str8", append([]byte("\xde\x00\x02\xd9\x07command\xa4emit\xa5tuple\x91\xd9\x28"), strings.Repeat("y", 40)...),
			msg(Message{Command: CmdEmit, Tuple: []any{strings.Repeat("y", 40)}, NeedTaskIDs: true})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Message
			if err := NewMsgpackDecoder(bytes.NewReader(tt.data), DecoderOptions{}).Decode(&got); err != nil {
				t.Fatalf("Decode(%q) error: %v", tt.data, err)
			}
			if len(got.Anchors) == 0 && len(tt.want.Anchors) == 0 {
				got.Anchors, tt.want.Anchors = nil, nil
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Decode(%q) =\n%#v\nwant\n%#v", tt.data, got, tt.want)
			}
		})
	}
}

func TestMsgpackDecodeSplitReads(t *testing.T) {
	var input []byte
	for _, j := range []string{
		`{"command":"emit","tuple":["a b"],"anchors":["1"],"need_task_ids":false}`,
		`{"command":"ack","id":"1"}`,
		`{"command":"log","msg":"héllo ✓ ` + strings.Repeat("x", 300) + `","level":2}`,
		`{"command":"emit","tuple":[[[{"k":[1.5, null, -70000, 4294967296]}]]],"id":{"z":[]}}`,
		`{"command":"sync"}`,
	} {
		input = append(input, mp(t, j)...)
	}
	want, errs := decodeAll(t, Msgpack, bytes.NewReader(input), DecoderOptions{})
	if len(errs) != 0 || len(want) != 5 {
		t.Fatalf("whole input: %d messages, errors %v; want 5 messages", len(want), errs)
	}
	for k := 0; k <= len(input); k++ {
		r := &chunkReader{pieces: [][]byte{append([]byte(nil), input[:k]...), append([]byte(nil), input[k:]...)}}
		got, errs := decodeAll(t, Msgpack, r, DecoderOptions{})
		if len(errs) != 0 || !reflect.DeepEqual(got, want) {
			t.Fatalf("split at %d: got %v, errors %v; want %v", k, got, errs, want)
		}
	}
	got, errs := decodeAll(t, Msgpack, iotest.OneByteReader(bytes.NewReader(input)), DecoderOptions{})
	if len(errs) != 0 || !reflect.DeepEqual(got, want) {
		t.Fatalf("one byte at a time: got %v, errors %v; want %v", got, errs, want)
	}
}

func TestMsgpackDecodeLenient(t *testing.T) {
	sync := mp(t, `{"command":"sync"}`)
	t.Run("stray lines are reported and skipped", func(t *testing.T) {
		var strays []string
		input := slicesConcat([]byte("hello\n\n   \nprint output\n"), sync, []byte("between\r\n"), sync, []byte("no newline at the end"))
		msgs, errs := decodeAll(t, Msgpack, bytes.NewReader(input), DecoderOptions{OnStray: func(l []byte) { strays = append(strays, string(l)) }})
		if len(msgs) != 2 || len(errs) != 0 {
			t.Fatalf("got %d messages, errors %v; want 2 messages", len(msgs), errs)
		}
		if want := []string{"hello", "print output", "between", "no newline at the end"}; !reflect.DeepEqual(strays, want) {
			t.Errorf("strays = %q, want %q", strays, want)
		}
	})
	t.Run("a stray line longer than the buffer", func(t *testing.T) {
		var strays int
		input := slicesConcat([]byte(strings.Repeat("z", 3*readBufferSize)+"\n"), sync)
		msgs, errs := decodeAll(t, Msgpack, bytes.NewReader(input), DecoderOptions{OnStray: func(l []byte) { strays++ }})
		if len(msgs) != 1 || len(errs) != 0 || strays != 1 {
			t.Fatalf("got %v, errors %v, %d strays; want the sync and one stray", msgs, errs, strays)
		}
	})
	t.Run("invalid UTF-8 is replaced", func(t *testing.T) {
		var reported int
		input := []byte("\x82\xa7command\xa4emit\xa5tuple\x91\xa3a\xffb")
		msgs, errs := decodeAll(t, Msgpack, bytes.NewReader(input), DecoderOptions{OnInvalidUTF8: func(string) { reported++ }})
		if len(errs) != 0 || len(msgs) != 1 {
			t.Fatalf("got %v, errors %v", msgs, errs)
		}
		if got := msgs[0].Tuple[0]; got != "a\uFFFDb" || reported != 1 {
			t.Errorf("tuple[0] = %q (reported %d), want %q reported once", got, reported, "a\uFFFDb")
		}
	})
}

func slicesConcat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestMsgpackDecodeErrors(t *testing.T) {
	next := mp(t, `{"command":"sync"}`)
	deep := slicesConcat([]byte("\x82\xa7command\xa4emit\xa5tuple"), bytes.Repeat([]byte{0x91}, 300), []byte{0x90})
	tests := []struct {
		name     string
		input    []byte
		want     error
		recovers bool // the following message still decodes
	}{
		{"not a map", slicesConcat([]byte("\x92\x01\x02"), next), ErrMalformed, true},
		{"a string", slicesConcat([]byte("\xa4sync"), next), ErrMalformed, true},
		{"no command", slicesConcat(mp(t, `{"tuple": [1]}`), next), ErrMalformed, true},
		{"wrong type", slicesConcat(mp(t, `{"command": "emit", "tuple": "word"}`), next), ErrMalformed, true},
		{"bad task", slicesConcat(mp(t, `{"command": "emit", "tuple": [], "task": 1.5}`), next), ErrMalformed, true},
		{"bad anchors", slicesConcat(mp(t, `{"command": "emit", "tuple": [], "anchors": [true]}`), next), ErrMalformed, true},
		{"bad need_task_ids", slicesConcat(mp(t, `{"command": "emit", "tuple": [], "need_task_ids": 0}`), next), ErrMalformed, true},
		{"map with a bad key", slicesConcat([]byte("\x82\xa7command\xa4emit\xa5tuple\x91\x81\xc3\x01"), next), ErrMalformed, true},
		{"too deep", slicesConcat(deep, next), ErrMalformed, true},
		{"too large", slicesConcat(mp(t, `{"command":"emit","tuple":["`+strings.Repeat("x", 5000)+`"]}`), next), ErrTooLarge, true},
		{"too large in many values", slicesConcat([]byte("\x82\xa7command\xa4emit\xa5tuple\xdc\x13\x88"), bytes.Repeat([]byte{0xa1, 'q'}, 5000), next), ErrTooLarge, true},
		{"too large string longer than the buffer", slicesConcat(mp(t, `{"command":"emit","tuple":["`+strings.Repeat("y", 3*readBufferSize)+`"]}`), next), ErrTooLarge, true},
		{"never used byte", slicesConcat([]byte("\x81\xc1"), next), ErrMalformed, false},
		{"eof inside message", mp(t, `{"command":"sync"}`)[:5], io.ErrUnexpectedEOF, false},
		{"eof inside a huge string", []byte("\x82\xa7command\xa4emit\xa5tuple\x91\xdb\x7f\xff\xff\xffabc"), io.ErrUnexpectedEOF, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, errs := decodeAll(t, Msgpack, bytes.NewReader(tt.input), DecoderOptions{MaxMessageBytes: 4096})
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

func TestMsgpackDecodeTooLargeKeepsMemoryBounded(t *testing.T) {
	const max = 1 << 16
	input := slicesConcat(mp(t, `{"command":"emit","tuple":["`+strings.Repeat("z", 8<<20)+`"]}`), mp(t, `{"command":"sync"}`))
	d := NewMsgpackDecoder(bytes.NewReader(input), DecoderOptions{MaxMessageBytes: max})
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
	// A header that claims a huge array allocates nothing up front.
	d = NewMsgpackDecoder(bytes.NewReader([]byte("\x82\xa7command\xa4emit\xa5tuple\xdd\xff\xff\xff\xff\x01")), DecoderOptions{MaxMessageBytes: max})
	if err := d.Decode(&m); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("Decode of a lying array header = %v, want io.ErrUnexpectedEOF", err)
	}
}

// readGeneric decodes b with the transcript package's independent decoder.
func readGeneric(t testing.TB, b []byte) any {
	t.Helper()
	v, err := transcript.ReadMsgpack(bufio.NewReader(bytes.NewReader(b)))
	if err != nil {
		t.Fatalf("ReadMsgpack(%q): %v", b, err)
	}
	return v
}

func generic(t testing.TB, jsonText string) any {
	t.Helper()
	return readGeneric(t, mp(t, jsonText))
}

func TestMsgpackEncodeHostMessages(t *testing.T) {
	tests := []struct {
		name  string
		write func(e *MsgpackEncoder) error
		want  string // as JSON
	}{
		{"tuple", func(e *MsgpackEncoder) error {
			return e.WriteTuple(&TupleMessage{ID: "-6955786537413359385", Comp: "sentences", Stream: "default", Task: 4, Tuple: []any{"snow white", 1, 2.5, true, nil, map[string]any{"b": 1, "a": []string{"x"}}, -1 << 40, uint64(math.MaxUint64)}})
		}, `{"id":"-6955786537413359385","comp":"sentences","stream":"default","task":4,"tuple":["snow white",1,2.5,true,null,{"a":["x"],"b":1},-1099511627776,18446744073709551615]}`},
		{"heartbeat", func(e *MsgpackEncoder) error { return e.WriteHeartbeat("12") },
			`{"id":"12","comp":null,"stream":"__heartbeat","task":-1,"tuple":[]}`},
		{"next", func(e *MsgpackEncoder) error { return e.WriteCommand(CmdNext, "") }, `{"command":"next","id":""}`},
		{"ack int id", func(e *MsgpackEncoder) error { return e.WriteCommand(CmdAck, int64(7)) }, `{"command":"ack","id":7}`},
		{"fail raw JSON id", func(e *MsgpackEncoder) error { return e.WriteCommand(CmdFail, Raw(`{"b": 1, "a": [2.5]}`)) }, `{"command":"fail","id":{"a":[2.5],"b":1}}`},
		{"task ids", func(e *MsgpackEncoder) error { return e.WriteTaskIDs([]int{3, 7, 300}) }, `[3,7,300]`},
		{"no task ids", func(e *MsgpackEncoder) error { return e.WriteTaskIDs(nil) }, `[]`},
		{"a struct goes through JSON", func(e *MsgpackEncoder) error {
			type point struct {
				X int `json:"x"`
				Y int `json:"y"`
			}
			return e.WriteTuple(&TupleMessage{ID: "1", Tuple: []any{point{1, 2}, []int{4, 5}}})
		}, `{"id":"1","comp":"","stream":"","task":0,"tuple":[{"x":1,"y":2},[4,5]]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			e := NewMsgpackEncoder(&buf)
			if err := tt.write(e); err != nil {
				t.Fatal(err)
			}
			if buf.Len() != 0 {
				t.Errorf("encoder wrote before Flush")
			}
			if err := e.Flush(); err != nil {
				t.Fatal(err)
			}
			if got, want := readGeneric(t, buf.Bytes()), generic(t, tt.want); !reflect.DeepEqual(got, want) {
				t.Errorf("wrote %#v, want %#v", got, want)
			}
		})
	}
}

func TestMsgpackEncodeBinaryAndFloat32(t *testing.T) {
	var buf bytes.Buffer
	e := NewMsgpackEncoder(&buf)
	if err := e.WriteTuple(&TupleMessage{ID: "1", Tuple: []any{[]byte("hi"), float32(1.5), math.Inf(1)}}); err != nil {
		t.Fatal(err)
	}
	e.Flush()
	var m HostMessage
	if err := NewMsgpackDecoder(&buf, DecoderOptions{}).DecodeHost(&m); err != nil {
		t.Fatal(err)
	}
	if want := []any{[]byte("hi"), 1.5, math.Inf(1)}; !reflect.DeepEqual(m.Tuple.Tuple, want) {
		t.Errorf("tuple = %#v, want %#v", m.Tuple.Tuple, want)
	}
}

func TestMsgpackEncodeHandshakeRoundTrip(t *testing.T) {
	for _, tty := range []int{0, 3} { // with squall's terminal extension too
		h := testHandshake()
		h.Context.TTY = tty
		testMsgpackHandshakeRoundTrip(t, h)
	}
}

func testMsgpackHandshakeRoundTrip(t *testing.T, h *Handshake) {
	t.Helper()
	var buf bytes.Buffer
	e := NewMsgpackEncoder(&buf)
	if err := e.WriteHandshake(h); err != nil {
		t.Fatal(err)
	}
	e.Flush()
	// The same as the JSON handshake, to an independent decoder.
	var jbuf bytes.Buffer
	je := NewEncoder(&jbuf)
	je.WriteHandshake(h)
	je.Flush()
	if got, want := readGeneric(t, buf.Bytes()), generic(t, strings.TrimSuffix(jbuf.String(), "\nend\n")); !reflect.DeepEqual(got, want) {
		t.Errorf("handshake = %#v, want %#v", got, want)
	}
	var m HostMessage
	if err := NewMsgpackDecoder(&buf, DecoderOptions{}).DecodeHost(&m); err != nil {
		t.Fatal(err)
	}
	if m.Kind != HostHandshake || !reflect.DeepEqual(m.Handshake, h) {
		t.Errorf("round trip = %#v, want %#v", m.Handshake, h)
	}
}

func TestRawMsgpackMarshalJSON(t *testing.T) {
	got, err := jsonAPI.Marshal(map[string]any{"id": RawMsgpack(mp(t, `{"a": [1, 2.5, "x"]}`))})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"id":{"a":[1,2.5,"x"]}}`; string(got) != want {
		t.Errorf("Marshal = %s, want %s", got, want)
	}
}

// TestMsgpackTranscripts decodes every message of every transcript in
// MessagePack (converted by the transcript package's own encoder) to the
// same message as in JSON, and re-encodes what the host sends to bytes that
// decode the same.
func TestMsgpackTranscripts(t *testing.T) {
	ts := allTranscripts(t)
	for _, tr := range ts {
		t.Run(tr.Name, func(t *testing.T) {
			for _, step := range tr.Steps {
				if step.Kind != transcript.Send && step.Kind != transcript.Expect {
					continue
				}
				if bytes.Contains(step.JSON, []byte(`"*"`)) {
					continue // a pattern, not a message
				}
				data := mp(t, string(step.JSON))
				jsonFrame := strings.NewReader(string(step.JSON) + "\nend\n")
				if step.Kind == transcript.Expect {
					var got, want Message
					if err := NewMsgpackDecoder(bytes.NewReader(data), DecoderOptions{}).Decode(&got); err != nil {
						t.Fatalf("line %d: Decode: %v", step.Line, err)
					}
					if err := NewDecoder(jsonFrame, DecoderOptions{}).Decode(&want); err != nil {
						t.Fatal(err)
					}
					if !reflect.DeepEqual(got, want) {
						t.Errorf("line %d: Decode = %+v, want %+v as from JSON", step.Line, got, want)
					}
					continue
				}
				var got, want HostMessage
				if err := NewMsgpackDecoder(bytes.NewReader(data), DecoderOptions{}).DecodeHost(&got); err != nil {
					t.Fatalf("line %d: DecodeHost: %v", step.Line, err)
				}
				if err := NewDecoder(jsonFrame, DecoderOptions{}).DecodeHost(&want); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("line %d: DecodeHost = %+v, want %+v as from JSON", step.Line, got, want)
				}
				// What the host sends re-encodes to the same message.
				var buf bytes.Buffer
				e := NewMsgpackEncoder(&buf)
				var err error
				switch got.Kind {
				case HostHandshake:
					err = e.WriteHandshake(got.Handshake)
				case HostTuple:
					err = e.WriteTuple(&got.Tuple)
				case HostHeartbeat:
					err = e.WriteHeartbeat(got.Tuple.ID)
				case HostCommand:
					err = writeHostCommand(e, &got)
				case HostTaskIDs:
					err = e.WriteTaskIDs(got.TaskIDs)
				}
				if err != nil {
					t.Fatal(err)
				}
				e.Flush()
				if again := readGeneric(t, buf.Bytes()); !reflect.DeepEqual(again, readGeneric(t, data)) {
					t.Errorf("line %d: re-encoded %#v, want %#v", step.Line, again, readGeneric(t, data))
				}
			}
		})
	}
}
