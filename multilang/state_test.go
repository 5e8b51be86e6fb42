package multilang

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// decodeBoth decodes one child message in JSON and, converted, in
// MessagePack, and checks that both formats agree.
func decodeBoth(t *testing.T, jsonText string) (Message, error) {
	t.Helper()
	var jm, mm Message
	jerr := NewDecoder(strings.NewReader(frame(jsonText)), DecoderOptions{}).Decode(&jm)
	merr := NewMsgpackDecoder(bytes.NewReader(mp(t, jsonText)), DecoderOptions{}).Decode(&mm)
	if (jerr == nil) != (merr == nil) {
		t.Fatalf("JSON error %v, MessagePack error %v: the formats disagree", jerr, merr)
	}
	if jerr == nil && !reflect.DeepEqual(jm.Keys, mm.Keys) || !reflect.DeepEqual(jm.Items, mm.Items) {
		t.Fatalf("JSON decodes to %+v, MessagePack to %+v", jm, mm)
	}
	return jm, jerr
}

func TestDecodeStateCommands(t *testing.T) {
	tests := []struct {
		name  string
		json  string
		keys  []string
		items []StateItem
	}{
		{"get", `{"command": "state_get", "keys": ["apple", "pear"]}`, []string{`"apple"`, `"pear"`}, nil},
		{"get no keys", `{"command": "state_get", "keys": []}`, []string{}, nil},
		{"typed keys", `{"command": "state_get", "keys": ["1", 1, 1.0, -0.0, 2.5, 1e300, true, 18446744073709551615]}`,
			[]string{`"1"`, `1`, `1`, `0`, `2.5`, `1e+300`, `true`, `18446744073709551615`}, nil},
		{"escaped key", `{"command": "state_get", "keys": ["a\"b\u00e9\u0001"]}`, []string{`"a\"bé\u0001"`}, nil},
		{"delete", `{"command": "state_delete", "keys": ["plum"]}`, []string{`"plum"`}, nil},
		{"put", `{"items": [["apple", 3], ["pear", {"n": 1, "a": [1.0, null]}], [7, null], ["s", "x"]], "command": "state_put"}`, nil,
			[]StateItem{{`"apple"`, []byte(`3`)}, {`"pear"`, []byte(`{"a":[1.0,null],"n":1}`)}, {`7`, []byte(`null`)}, {`"s"`, []byte(`"x"`)}}},
		{"items", `{"command": "state_items"}`, nil, nil},
		{"state fields of another command are not squall's", `{"command": "sync", "keys": {"x": 1}, "items": 3}`, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := decodeBoth(t, tt.json)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(m.Keys, tt.keys) {
				t.Errorf("keys = %q, want %q", m.Keys, tt.keys)
			}
			if !reflect.DeepEqual(m.Items, tt.items) {
				t.Errorf("items = %q, want %q", m.Items, tt.items)
			}
		})
	}
}

func TestDecodeStateCommandErrors(t *testing.T) {
	tests := []struct{ name, json, want string }{
		{"get without keys", `{"command": "state_get"}`, "state_get needs keys"},
		{"get null keys", `{"command": "state_get", "keys": null}`, "state_get needs keys"},
		{"delete without keys", `{"command": "state_delete", "items": []}`, "state_delete needs keys"},
		{"keys not a list", `{"command": "state_get", "keys": "apple"}`, "state_get: keys must be a list"},
		{"null key", `{"command": "state_get", "keys": ["a", null]}`, "state_get: keys[1]: a key must be a string, number or boolean, not null"},
		{"list key", `{"command": "state_delete", "keys": [[1]]}`, "state_delete: keys[0]: a key must be a string, number or boolean, not a list"},
		{"map key", `{"command": "state_get", "keys": [{"a": 1}]}`, "keys[0]: a key must be a string, number or boolean, not a map"},
		{"put without items", `{"command": "state_put", "keys": ["a"]}`, "state_put needs items"},
		{"put items not a list", `{"command": "state_put", "items": {"a": 1}}`, "state_put: items must be a list"},
		{"put item not a pair", `{"command": "state_put", "items": [["a", 1], ["b"]]}`, "state_put: items[1] must be a [key, value] pair"},
		{"put item of three", `{"command": "state_put", "items": [["a", 1, 2]]}`, "state_put: items[0] must be a [key, value] pair"},
		{"put bad key", `{"command": "state_put", "items": [[null, 1]]}`, "state_put: items[0] key: a key must be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeBoth(t, tt.json)
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want malformed with %q", err, tt.want)
			}
		})
	}
}

func TestStateLimits(t *testing.T) {
	long := strings.Repeat("k", MaxStateKeyBytes-1) // with its quotes, one byte too many
	_, err := decodeBoth(t, `{"command": "state_get", "keys": ["`+long+`"]}`)
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "keys[0]: key of 32769 bytes, longer than the limit of 32768 bytes") {
		t.Errorf("long key: %v", err)
	}
	if _, err := decodeBoth(t, `{"command": "state_get", "keys": ["`+long[1:]+`"]}`); err != nil {
		t.Errorf("a key at the limit: %v", err)
	}

	// A value above 16 MiB is refused even when the message cap allows it.
	big := `{"command": "state_put", "items": [["k", "` + strings.Repeat("v", MaxStateValueBytes-1) + `"]]}`
	opts := DecoderOptions{MaxMessageBytes: 2 * MaxStateValueBytes}
	var m Message
	err = NewDecoder(strings.NewReader(frame(big)), opts).Decode(&m)
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), `items[0] value for key "k": value of 16777217 bytes, longer than the limit of 16777216 bytes`) {
		t.Errorf("big value: %v", err)
	}
	err = NewMsgpackDecoder(bytes.NewReader(mp(t, big)), opts).Decode(&m)
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "value of 16777217 bytes") {
		t.Errorf("big value in MessagePack: %v", err)
	}
	// Under the default cap the message itself is too large.
	err = NewDecoder(strings.NewReader(frame(big)), DecoderOptions{}).Decode(&m)
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("big value under the default cap: %v", err)
	}
}

func TestReservedStateKey(t *testing.T) {
	m, err := decodeBoth(t, `{"command": "state_get", "keys": ["\u0000squall/seen", "a\u0000", 0]}`)
	if err != nil {
		t.Fatal(err)
	}
	want := []bool{true, false, false}
	for i, k := range m.Keys {
		if got := ReservedStateKey(k); got != want[i] {
			t.Errorf("ReservedStateKey(%s) = %v, want %v", k, got, want[i])
		}
	}
}

// TestStateMessagesRoundTrip writes every state message in both formats
// and reads it back as the other side does.
func TestStateMessagesRoundTrip(t *testing.T) {
	items := []StateItem{{`"apple"`, []byte(`2`)}, {`1`, []byte(`{"n":[1,"x",null,2.5]}`)}, {`true`, []byte(`null`)}}
	children := []Message{
		{Command: CmdStateGet, Keys: []string{`"apple"`, `1`}, NeedTaskIDs: true, Level: LevelInfo},
		{Command: CmdStateDelete, Keys: []string{`"plum"`}, NeedTaskIDs: true, Level: LevelInfo},
		{Command: CmdStatePut, Items: items, NeedTaskIDs: true, Level: LevelInfo},
		{Command: CmdStateItems, NeedTaskIDs: true, Level: LevelInfo},
	}
	hosts := []HostMessage{
		{Kind: HostCommand, Command: CmdStateValues, Items: items},
		{Kind: HostCommand, Command: CmdStateValues, Items: []StateItem{}},
		{Kind: HostCommand, Command: CmdStateItems, Items: items, More: true},
		{Kind: HostCommand, Command: CmdStateItems, Items: items[:1]},
		{Kind: HostCommand, Command: CmdStateReset, TxID: 41},
	}
	for _, ser := range []Serializer{JSON, Msgpack} {
		t.Run(ser.String(), func(t *testing.T) {
			for _, m := range children {
				var buf bytes.Buffer
				w := NewWriter(ser, &buf)
				if err := w.WriteMessage(&m); err != nil {
					t.Fatal(err)
				}
				w.Flush()
				var got Message
				if err := NewReader(ser, &buf, DecoderOptions{}).Decode(&got); err != nil {
					t.Fatalf("%s: %v", m.Command, err)
				}
				if got.Keys == nil && len(m.Keys) == 0 {
					got.Keys = m.Keys
				}
				if !reflect.DeepEqual(got, m) {
					t.Errorf("%s: got %+v, want %+v", m.Command, got, m)
				}
			}
			for _, h := range hosts {
				var buf bytes.Buffer
				w := NewWriter(ser, &buf)
				var err error
				if h.Command == CmdStateReset {
					err = w.WriteStateReset(h.TxID)
				} else {
					err = w.WriteStateReply(h.Command, h.Items, h.More)
				}
				if err != nil {
					t.Fatal(err)
				}
				w.Flush()
				text := buf.String()
				var got HostMessage
				if err := NewReader(ser, &buf, DecoderOptions{}).DecodeHost(&got); err != nil {
					t.Fatalf("%s %q: %v", h.Command, text, err)
				}
				if !reflect.DeepEqual(got, h) {
					t.Errorf("%s: got %+v, want %+v", h.Command, got, h)
				}
			}
		})
	}
}

func TestStateReplyJSON(t *testing.T) {
	var buf bytes.Buffer
	e := NewEncoder(&buf)
	e.WriteStateReply(CmdStateItems, []StateItem{{`"apple"`, []byte(`2`)}, {`"pear"`, []byte(`{"n":1}`)}}, true)
	e.WriteStateReply(CmdStateValues, nil, false)
	e.WriteStateReset(41)
	e.Flush()
	want := `{"command":"state_items","items":[["apple",2],["pear",{"n":1}]],"more":true}` + "\nend\n" +
		`{"command":"state_values","items":[]}` + "\nend\n" +
		`{"command":"state_reset","txid":41}` + "\nend\n"
	if buf.String() != want {
		t.Errorf("wrote\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestStateReplyRefusesNonJSON(t *testing.T) {
	for _, ser := range []Serializer{JSON, Msgpack} {
		for _, items := range [][]StateItem{
			{{`"ok"`, []byte("not json\nend")}},
			{{`apple`, []byte(`1`)}},
		} {
			var buf bytes.Buffer
			w := NewWriter(ser, &buf)
			if err := w.WriteStateReply(CmdStateValues, items, false); !errors.Is(err, ErrUnencodable) {
				t.Errorf("%s: WriteStateReply(%q) = %v, want ErrUnencodable", ser, items, err)
			}
			if w.Buffered() != 0 {
				t.Errorf("%s: a refused reply left %d bytes", ser, w.Buffered())
			}
		}
	}
}

func TestHandshakeSquallContext(t *testing.T) {
	h := &Handshake{PidDir: "/p", Conf: map[string]any{}, Context: Context{
		TaskToComponent: map[int]string{1: "count"}, TaskID: 1, ComponentID: "count",
		Squall: &SquallContext{Protocol: SquallProtocol, State: &StateContext{CacheMaxKeys: 100000}},
	}}
	for _, ser := range []Serializer{JSON, Msgpack} {
		var buf bytes.Buffer
		w := NewWriter(ser, &buf)
		if err := w.WriteHandshake(h); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		if ser == JSON && !strings.Contains(buf.String(), `"squall":{"protocol":1,"state":{"cache_max_keys":100000}}`) {
			t.Errorf("JSON handshake %s", buf.String())
		}
		var got HostMessage
		if err := NewReader(ser, &buf, DecoderOptions{}).DecodeHost(&got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Handshake.Context.Squall, h.Context.Squall) {
			t.Errorf("%s: squall context %+v, want %+v", ser, got.Handshake.Context.Squall, h.Context.Squall)
		}
	}
	// A component using no extension sends no squall key.
	var buf bytes.Buffer
	e := NewEncoder(&buf)
	e.WriteHandshake(&Handshake{Conf: map[string]any{}})
	e.Flush()
	if strings.Contains(buf.String(), "squall") {
		t.Errorf("handshake without extensions: %s", buf.String())
	}
}

// TestCanonicalKeyStrings: the fast path for plain keys writes what the
// codec writes for any string.
func TestCanonicalKeyStrings(t *testing.T) {
	for _, s := range []string{"", "apple", "a b<>&/~", "é", "\x01", `a"b`, `a\b`, "\u2028", "\x7f"} {
		got, err := CanonicalKey(s)
		if err != nil {
			t.Fatal(err)
		}
		want, err := jsonAPI.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("CanonicalKey(%q) = %s, want %s", s, got, want)
		}
	}
}
