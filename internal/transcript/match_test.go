package transcript

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func mustDecode(t *testing.T, s string) any {
	t.Helper()
	v, err := Decode([]byte(s))
	if err != nil {
		t.Fatalf("Decode(%q): %v", s, err)
	}
	return v
}

func TestMatch(t *testing.T) {
	tests := []struct {
		name, want, got string
		err             string // "" = match
	}{
		{"equal", `{"a": [1, "x", true, null]}`, `{"a":[1,"x",true,null]}`, ""},
		{"int spellings", `[7, 7, 7, 100]`, `[7.0, 7e0, 70e-1, 1E2]`, ""},
		{"large ints exact", `[12345678901234567890]`, `[12345678901234567891]`, `$[0]: got 12345678901234567891, want 12345678901234567890`},
		{"float", `[-2.5]`, `[-2.50]`, ""},
		{"wildcard", `{"pid": "*", "x": ["*", 2]}`, `{"pid": 1234, "x": [{"deep": [1]}, 2]}`, ""},
		{"wildcard matches null", `{"id": "*"}`, `{"id": null}`, ""},
		{"wildcard needs key", `{"id": "*"}`, `{}`, `$.id: missing, want "*"`},
		{"anchor differs", `{"anchors": ["7"]}`, `{"anchors": ["8"]}`, `$.anchors[0]: got "8", want "7"`},
		{"extra key", `{"a": 1}`, `{"a": 1, "b": [2]}`, `$.b: unexpected key, got [2]`},
		{"missing key", `{"a": 1, "b": 2}`, `{"a": 1}`, `$.b: missing, want 2`},
		{"odd key", `{"task->component": {"1": "x"}}`, `{"task->component": {"1": "y"}}`, `$["task->component"]["1"]: got "y", want "x"`},
		{"longer array", `[1]`, `[1, 2]`, `$: got 2 elements [1,2], want 1 elements [1]`},
		{"shorter array", `[1, 2]`, `[1]`, `$: got 1 elements [1], want 2 elements [1,2]`},
		{"type", `{"tuple": ["a"]}`, `{"tuple": "a"}`, `$.tuple: got "a", want ["a"]`},
		{"number vs string", `{"id": 7}`, `{"id": "7"}`, `$.id: got "7", want 7`},
		{"bool", `[true]`, `[false]`, `$[0]: got false, want true`},
		{"null", `[null]`, `[0]`, `$[0]: got 0, want null`},
		{"star is literal in actual", `["x"]`, `["*"]`, `$[0]: got "*", want "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Match(mustDecode(t, tt.want), mustDecode(t, tt.got))
			switch {
			case tt.err == "" && err != nil:
				t.Errorf("Match(%s, %s) = %v, want nil", tt.want, tt.got, err)
			case tt.err != "" && (err == nil || err.Error() != tt.err):
				t.Errorf("Match(%s, %s) = %v, want %q", tt.want, tt.got, err, tt.err)
			}
		})
	}
}

func TestMatchGoValues(t *testing.T) {
	// Values from a plain json.Unmarshal (float64) or built in Go compare by value too.
	var got any
	if err := json.Unmarshal([]byte(`{"task": 9, "params": 2.5}`), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"task": 9, "params": json.Number("2.5")}
	if err := Match(want, got); err != nil {
		t.Errorf("Match(%v, %v) = %v", want, got, err)
	}
	if err := Match(map[string]any{"task": int64(8)}, map[string]any{"task": uint64(8)}); err != nil {
		t.Errorf("Match(int64, uint64) = %v", err)
	}
	if err := Match(struct{}{}, 1); err == nil || !strings.Contains(err.Error(), "unsupported") {
		t.Errorf("Match(struct{}{}, 1) = %v, want unsupported", err)
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"emit defaults", `{"command": "emit", "tuple": [1]}`,
			`{"command": "emit", "tuple": [1], "stream": "default", "anchors": [], "need_task_ids": true}`},
		{"emit nulls", `{"command": "emit", "tuple": [1], "stream": null, "anchors": null, "need_task_ids": null, "task": null, "id": null}`,
			`{"command": "emit", "tuple": [1], "stream": "default", "anchors": [], "need_task_ids": true}`},
		{"single anchor", `{"command": "emit", "tuple": [], "anchors": "7", "stream": "s", "need_task_ids": false, "task": 3}`,
			`{"command": "emit", "tuple": [], "anchors": ["7"], "stream": "s", "need_task_ids": false, "task": 3}`},
		{"spout emit id kept", `{"command": "emit", "tuple": [0], "id": 0}`,
			`{"command": "emit", "tuple": [0], "id": 0, "stream": "default", "anchors": [], "need_task_ids": true}`},
		{"log level", `{"command": "log", "msg": "m"}`, `{"command": "log", "msg": "m", "level": 2}`},
		{"log level kept", `{"command": "log", "msg": "m", "level": 4}`, `{"command": "log", "msg": "m", "level": 4}`},
		{"ack untouched", `{"command": "ack", "id": null}`, `{"command": "ack", "id": null}`},
		{"pid untouched", `{"pid": 12}`, `{"pid": 12}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustDecode(t, tt.in).(map[string]any)
			Normalize(m)
			if want := mustDecode(t, tt.want); !reflect.DeepEqual(any(m), want) {
				t.Errorf("Normalize(%s) = %v, want %v", tt.in, m, want)
			}
		})
	}
}

func TestMatchMessage(t *testing.T) {
	tests := []struct {
		name, want, got string
		ok              bool
	}{
		{"spellings", `{"command": "emit", "tuple": ["a"], "stream": "default", "anchors": ["7"], "need_task_ids": true}`,
			`{"command":"emit","tuple":["a"],"anchors":"7"}`, true},
		{"need_task_ids differs", `{"command": "emit", "tuple": ["a"], "need_task_ids": false}`,
			`{"command":"emit","tuple":["a"]}`, false},
		{"direct emit, any need_task_ids", `{"command": "emit", "tuple": ["a"], "task": 9, "need_task_ids": "*"}`,
			`{"command":"emit","tuple":["a"],"task":9}`, true},
		{"log level", `{"command": "log", "msg": "hi", "level": 2}`, `{"command":"log","msg":"hi"}`, true},
		{"not json", `{"command": "sync"}`, `hello`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := MatchMessage([]byte(tt.want), []byte(tt.got))
			if (err == nil) != tt.ok {
				t.Errorf("MatchMessage(%s, %s) = %v, want ok %v", tt.want, tt.got, err, tt.ok)
			}
		})
	}
}
