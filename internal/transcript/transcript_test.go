package transcript

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	const text = `# a comment
   # an indented comment

component: splitsentence     # header comment
> {"pidDir": "$PIDDIR", "conf": {}, "context": {}}
< {"pid": "*"}
pidfile   # the pid file exists
> {"id": "7", "comp": "s", "stream": "default", "task": 4, "tuple": ["a # not a comment"]}
<   {"command": "ack", "id": "7"}
> [3, 7]
> EOF
exit: 0
`
	tr, err := Parse(strings.NewReader(text), "dir/split.txt")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if tr.Name != "split" || tr.Component != "splitsentence" {
		t.Errorf("Parse: Name %q, Component %q, want %q, %q", tr.Name, tr.Component, "split", "splitsentence")
	}
	want := []Step{
		{Kind: Send, Line: 5, JSON: json.RawMessage(`{"pidDir": "$PIDDIR", "conf": {}, "context": {}}`)},
		{Kind: Expect, Line: 6, JSON: json.RawMessage(`{"pid": "*"}`)},
		{Kind: PidFile, Line: 7},
		{Kind: Send, Line: 8, JSON: json.RawMessage(`{"id": "7", "comp": "s", "stream": "default", "task": 4, "tuple": ["a # not a comment"]}`)},
		{Kind: Expect, Line: 9, JSON: json.RawMessage(`{"command": "ack", "id": "7"}`)},
		{Kind: Send, Line: 10, JSON: json.RawMessage(`[3, 7]`)},
		{Kind: CloseStdin, Line: 11},
		{Kind: Exit, Line: 12, ExitCode: 0},
	}
	if !reflect.DeepEqual(tr.Steps, want) {
		t.Errorf("Parse steps:\n got %v\nwant %v", tr.Steps, want)
	}
	if got := tr.Steps[8-1].String(); got != "exit: 0" {
		t.Errorf("Step.String() = %q, want %q", got, "exit: 0")
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"no header", "> {}\n", `x.txt:1: want a header`},
		{"empty", "# nothing\n", `x.txt: no "component: NAME" header`},
		{"empty component", "component:\n", `x.txt:1: want a header`},
		{"bad json", "component: c\n> {\"a\": }\n", `x.txt:2: send message`},
		{"trailing data", "component: c\n< {} {}\n", `x.txt:2: expect message`},
		{"comment after json", "component: c\n< {} # no\n", `x.txt:2: expect message`},
		{"bad exit", "component: c\nexit: zero\n", `x.txt:2: bad exit status "zero"`},
		{"unknown", "component: c\nsleep 1\n", `x.txt:2: unknown step "sleep 1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.text), "x.txt")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse(%q) error = %v, want it to contain %q", tt.text, err, tt.want)
			}
		})
	}
}

func TestParseDir(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"b.txt":      "component: two\n> EOF\n",
		"a.txt":      "component: one\nexit: 3\n",
		"README.md":  "not a transcript",
		"notes.json": "{}",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ts, err := ParseDir(dir)
	if err != nil {
		t.Fatalf("ParseDir: %v", err)
	}
	var got []string
	for _, tr := range ts {
		got = append(got, tr.Name+":"+tr.Component+":"+tr.Steps[0].String())
		if tr.Path != filepath.Join(dir, tr.Name+".txt") {
			t.Errorf("ParseDir: Path = %q", tr.Path)
		}
	}
	want := []string{"a:one:exit: 3", "b:two:> EOF"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseDir = %v, want %v", got, want)
	}

	if _, err := ParseFile(filepath.Join(dir, "missing.txt")); err == nil {
		t.Error("ParseFile(missing) succeeded")
	}
}

// TestRepositoryTranscripts parses the transcripts every adapter replays, so
// a malformed one fails here first.
func TestRepositoryTranscripts(t *testing.T) {
	ts, err := ParseDir(filepath.Join("..", "..", "multilang", "testdata", "transcripts"))
	if err != nil {
		t.Fatalf("ParseDir: %v", err)
	}
	if len(ts) == 0 {
		t.Fatal("no transcripts")
	}
	for _, tr := range ts {
		t.Run(tr.Name, func(t *testing.T) {
			if len(tr.Steps) == 0 || tr.Steps[0].Kind != Send {
				t.Fatalf("first step %v, want the handshake", tr.Steps)
			}
			for _, s := range tr.Steps {
				if s.Kind == Expect {
					v, _ := Decode(s.JSON)
					if m, ok := v.(map[string]any); !ok || (m["command"] == nil && m["pid"] == nil) {
						t.Errorf("line %d: child message %s has neither command nor pid", s.Line, s.JSON)
					}
				}
			}
		})
	}
}

func TestExpandPidDir(t *testing.T) {
	got := ExpandPidDir([]byte(`{"pidDir": "$PIDDIR", "x": "$PIDDIRS", "y": "$PIDDIR"}`), `/tmp/a "b"`)
	want := `{"pidDir": "/tmp/a \"b\"", "x": "$PIDDIRS", "y": "/tmp/a \"b\""}`
	if string(got) != want {
		t.Errorf("ExpandPidDir = %s, want %s", got, want)
	}
}

func TestDecode(t *testing.T) {
	v, err := Decode([]byte(" {\"n\": 12345678901234567890}\n"))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if got := v.(map[string]any)["n"]; got != json.Number("12345678901234567890") {
		t.Errorf("Decode number = %#v, want json.Number", got)
	}
	for _, bad := range []string{"", "{", "{} []", "nul"} {
		if _, err := Decode([]byte(bad)); err == nil {
			t.Errorf("Decode(%q) succeeded", bad)
		}
	}
}
