package drpc

import (
	"errors"
	"testing"
)

func TestParseReturnInfo(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want returnInfo
		ok   bool
	}{
		{"spout's JSON", `{"id":"ab-1","host":"127.0.0.1","port":3773}`, returnInfo{"ab-1", "127.0.0.1", 3773}, true},
		{"Storm's key order", `{"port":3773,"host":"drpc1","id":"5"}`, returnInfo{"5", "drpc1", 3773}, true},
		{"decoded map", map[string]any{"id": "1", "host": "h", "port": float64(9)}, returnInfo{"1", "h", 9}, true},
		{"decoded map, int port", map[string]any{"id": "1", "host": "h", "port": int64(9)}, returnInfo{"1", "h", 9}, true},
		{"not JSON", `id=1`, returnInfo{}, false},
		{"no id", `{"host":"h","port":1}`, returnInfo{}, false},
		{"no host", `{"id":"1","port":1}`, returnInfo{}, false},
		{"bad port", `{"id":"1","host":"h","port":70000}`, returnInfo{}, false},
		{"a number", 42, returnInfo{}, false},
		{"null", nil, returnInfo{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseReturnInfo(tt.in)
			if tt.ok != (err == nil) || (tt.ok && got != tt.want) {
				t.Errorf("parseReturnInfo(%v) = %+v, %v; want %+v ok %v", tt.in, got, err, tt.want, tt.ok)
			}
			if err != nil && !errors.Is(err, errBadReturnInput) {
				t.Errorf("error %v is not errBadReturnInput", err)
			}
		})
	}
}

func TestResultString(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{"text", "text"},
		{[]byte("bytes"), "bytes"},
		{nil, ""},
		{int64(42), "42"},
		{3.5, "3.5"},
		{true, "true"},
		{[]any{"a", int64(1)}, `["a",1]`},
		{map[string]any{"reach": int64(7)}, `{"reach":7}`},
		{"bad \xff utf8", "bad \uFFFD utf8"},
	}
	for _, tt := range tests {
		if got, err := resultString(tt.in); err != nil || got != tt.want {
			t.Errorf("resultString(%#v) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := resultString(func() {}); !errors.Is(err, errBadReturnInput) {
		t.Errorf("resultString(func) = %v, want errBadReturnInput", err)
	}
}
