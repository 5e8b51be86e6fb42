package multilang

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		frame(`{"command":"emit","tuple":["a b"],"anchors":["1"],"need_task_ids":false}`),
		frame(`{"command":"emit","tuple":[1,2.5,null,{"k":[true]}],"id":{"x":1},"task":3,"stream":"s"}`),
		frame(`{"command":"ack","id":"-1"}`, `{"command":"sync"}`),
		frame(`{"command":"log","msg":"m","level":4}`, `{"pid":12}`),
		frame(`{"command":"metrics","name":"n","params":[1]}`),
		"stray\n" + frame("{\n\"command\":\n\"sync\"\n}"),
		"{'a': 1}\n" + frame(`{"command":"fail","id":7}`),
		frame("{\"command\":\"emit\",\"tuple\":[\"\xff\"]}"),
		"end\nend\n{\n",
		frame(`{"command":"emit","tuple":[[[[[[[]]]]]]]}`),
		frame(`{"command":"state_get","keys":["a",1,2.0,true]}`, `{"command":"state_items"}`),
		frame(`{"command":"state_put","items":[["a",{"n":[1,null]}],[-0.0,"\u0000"]]}`),
		frame(`{"command":"state_delete","keys":[[1]]}`, `{"command":"state_put","items":[["a"]]}`),
	} {
		f.Add([]byte(seed))
	}
	const max = 4096
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewDecoder(bytes.NewReader(data), DecoderOptions{MaxMessageBytes: max, OnStray: func([]byte) {}})
		for i := 0; i < 1000; i++ {
			var m Message
			err := d.Decode(&m)
			if c := cap(d.frame); c > 4*max+readBufferSize {
				t.Fatalf("decoder buffer grew to %d bytes with a cap of %d", c, max)
			}
			if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
				return
			}
			if err != nil {
				if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
					t.Fatalf("Decode error %v is neither malformed nor too large", err)
				}
				continue
			}
			checkStateMessage(t, &m)
			// Whatever decodes re-encodes, and decodes to the same message.
			var buf bytes.Buffer
			e := NewEncoder(&buf)
			if err := e.WriteMessage(&m); err != nil {
				if errors.Is(err, ErrUnencodable) {
					continue // e.g. a float that only the decoder's parser accepts
				}
				t.Fatalf("WriteMessage(%+v): %v", m, err)
			}
			e.Flush()
			text := buf.String()
			var again Message
			if err := NewDecoder(&buf, DecoderOptions{}).Decode(&again); err != nil {
				t.Fatalf("decoding %q again: %v", text, err)
			}
			if !equalForRoundTrip(m, again) {
				t.Fatalf("round trip of %q:\n%+v\nbecame\n%+v", text, m, again)
			}
		}
	})
}

// equalForRoundTrip compares the fields WriteMessage writes for m.Command.
func equalForRoundTrip(a, b Message) bool {
	norm := func(m Message) Message {
		if len(m.Anchors) == 0 {
			m.Anchors = nil
		}
		switch m.Command {
		case "":
			return Message{Pid: m.Pid, HasPid: true}
		case CmdEmit:
			if m.Direct {
				m.NeedTaskIDs = true
			}
			if len(m.Tuple) == 0 {
				m.Tuple = nil // a missing tuple is written as []
			}
			return Message{Command: m.Command, ID: m.ID, Stream: m.Stream, Direct: m.Direct, Task: m.Task, Anchors: m.Anchors, Tuple: m.Tuple, NeedTaskIDs: m.NeedTaskIDs}
		case CmdAck, CmdFail:
			if r, ok := m.ID.(Raw); ok {
				// Raw text is written verbatim; white space may differ.
				m.ID = Raw(bytes.Join(bytes.Fields([]byte(r)), nil))
			}
			return Message{Command: m.Command, ID: m.ID}
		case CmdLog:
			return Message{Command: m.Command, Msg: m.Msg, Level: m.Level}
		case CmdError:
			return Message{Command: m.Command, Msg: m.Msg}
		case CmdMetrics:
			return Message{Command: m.Command, Name: m.Name, Params: m.Params}
		case CmdStateGet, CmdStateDelete:
			if len(m.Keys) == 0 {
				m.Keys = nil
			}
			return Message{Command: m.Command, Keys: m.Keys}
		case CmdStatePut:
			if len(m.Items) == 0 {
				m.Items = nil
			}
			return Message{Command: m.Command, Items: m.Items}
		}
		return Message{Command: m.Command}
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

// checkStateMessage checks what a state command decodes to: keys and
// values are JSON text within their limits, and keys are canonical.
func checkStateMessage(t *testing.T, m *Message) {
	t.Helper()
	checkKey := func(k string) {
		if !json.Valid([]byte(k)) || len(k) > MaxStateKeyBytes {
			t.Fatalf("%s decoded a key %q that is not JSON text within the limit", m.Command, k)
		}
		if err := NewDecoder(strings.NewReader(`{"command":"state_get","keys":[`+k+`]}`+"\nend\n"), DecoderOptions{}).Decode(&Message{}); err != nil {
			t.Fatalf("%s: key %s does not decode again: %v", m.Command, k, err)
		}
	}
	for _, k := range m.Keys {
		checkKey(k)
	}
	for _, it := range m.Items {
		checkKey(it.Key)
		if !json.Valid(it.Value) || len(it.Value) > MaxStateValueBytes {
			t.Fatalf("%s decoded a value %q that is not JSON text within the limit", m.Command, it.Value)
		}
	}
}
