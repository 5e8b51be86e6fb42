// Package transcript reads multilang transcripts: recorded conversations
// between a host and a reference component, kept in
// multilang/testdata/transcripts (its README defines the format), compares
// what a child wrote with what a transcript expects, and replays
// transcripts against real child processes for tests.
//
// Replay plays a transcript against a child process: it writes each Send
// step to the child (after ExpandPidDir), reads one message for each Expect
// step and checks it with MatchMessage, closes the child's stdin at
// CloseStdin, checks the pid file at PidFile and the exit status at Exit.
// It does so in either wire format: in MessagePack the JSON of the
// transcript is converted, both ways, by a small MessagePack codec of this
// package, written apart from package multilang's so that each checks the
// other. This package must not import multilang: multilang's tests use it.
//
// Messages are decoded with Decode, which keeps numbers as json.Number;
// Match compares numbers by value, so 7, 7.0 and 7e0 are equal.
//
// The rest helps tests that run interpreters: StartProc runs a child in its
// own process group and kills it when the test ends, Interpreter and
// Missing skip a test (or fail it when CI is set) when something is not
// installed, PythonMsgpack finds the msgpack module for a Python, and
// CPUMeter reports the processor use of a benchmark's child.
package transcript

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Kind says what a step does.
type Kind int

// The kinds of steps.
const (
	// Send is "> JSON": the host writes JSON to the child.
	Send Kind = iota + 1
	// Expect is "< JSON": the next message the child writes must match JSON.
	Expect
	// CloseStdin is "> EOF": the host closes the child's stdin.
	CloseStdin
	// Exit is "exit: N": the child must exit with status N.
	Exit
	// PidFile is "pidfile": the child must have created an empty file named
	// after its pid in the pid directory.
	PidFile
)

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case Send:
		return "send"
	case Expect:
		return "expect"
	case CloseStdin:
		return "close-stdin"
	case Exit:
		return "exit"
	case PidFile:
		return "pidfile"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// PidDirPlaceholder is the JSON string that ExpandPidDir replaces in Send
// steps.
const PidDirPlaceholder = `"$PIDDIR"`

// Step is one line of a transcript that does something.
type Step struct {
	// Kind says what the step does.
	Kind Kind
	// Line is the step's line number in the file, from 1.
	Line int
	// JSON is the message of a Send or Expect step, exactly as written in
	// the transcript (one line, valid JSON).
	JSON json.RawMessage
	// ExitCode is the status an Exit step expects.
	ExitCode int
}

// String returns the step as it is written in a transcript.
func (s Step) String() string {
	switch s.Kind {
	case Send:
		return "> " + string(s.JSON)
	case Expect:
		return "< " + string(s.JSON)
	case CloseStdin:
		return "> EOF"
	case Exit:
		return "exit: " + strconv.Itoa(s.ExitCode)
	case PidFile:
		return "pidfile"
	}
	return s.Kind.String()
}

// Transcript is a parsed transcript file.
type Transcript struct {
	// Name is the file name without directory and extension.
	Name string
	// Path is the file the transcript was read from, if any.
	Path string
	// Component names the reference component the child runs.
	Component string
	// Steps are the steps in file order.
	Steps []Step
}

// ParseFile reads and parses the transcript at path.
func ParseFile(path string) (*Transcript, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read transcript: %w", err)
	}
	defer f.Close()
	t, err := Parse(f, path)
	if err != nil {
		return nil, err
	}
	t.Path = path
	return t, nil
}

// ParseDir parses every *.txt file in dir, in file name order.
func ParseDir(dir string) ([]*Transcript, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil {
		return nil, fmt.Errorf("list transcripts in %s: %w", dir, err)
	}
	sort.Strings(paths)
	ts := make([]*Transcript, 0, len(paths))
	for _, p := range paths {
		t, err := ParseFile(p)
		if err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	return ts, nil
}

// Parse parses a transcript read from r; name is used in errors and, without
// directory and extension, as the transcript's Name.
func Parse(r io.Reader, name string) (*Transcript, error) {
	t := &Transcript{Name: strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		if t.Component == "" {
			rest, ok := strings.CutPrefix(stripComment(text), "component:")
			component := strings.TrimSpace(rest)
			if !ok || component == "" {
				return nil, fmt.Errorf("%s:%d: want a header %q first, got %q", name, line, "component: NAME", snippet(text))
			}
			t.Component = component
			continue
		}
		step, err := parseStep(text, line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		t.Steps = append(t.Steps, step)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read transcript %s: %w", name, err)
	}
	if t.Component == "" {
		return nil, fmt.Errorf("%s: no %q header", name, "component: NAME")
	}
	return t, nil
}

func parseStep(text string, line int) (Step, error) {
	switch {
	case strings.HasPrefix(text, ">"):
		body := strings.TrimSpace(text[1:])
		if stripComment(body) == "EOF" {
			return Step{Kind: CloseStdin, Line: line}, nil
		}
		return jsonStep(Send, body, line)
	case strings.HasPrefix(text, "<"):
		return jsonStep(Expect, strings.TrimSpace(text[1:]), line)
	}
	text = stripComment(text)
	if rest, ok := strings.CutPrefix(text, "exit:"); ok {
		code, err := strconv.Atoi(strings.TrimSpace(rest))
		if err != nil {
			return Step{}, fmt.Errorf("bad exit status %q", strings.TrimSpace(rest))
		}
		return Step{Kind: Exit, Line: line, ExitCode: code}, nil
	}
	if text == "pidfile" {
		return Step{Kind: PidFile, Line: line}, nil
	}
	return Step{}, fmt.Errorf("unknown step %q", snippet(text))
}

func jsonStep(kind Kind, body string, line int) (Step, error) {
	if _, err := Decode([]byte(body)); err != nil {
		return Step{}, fmt.Errorf("%s message %q: %w", kind, snippet(body), err)
	}
	return Step{Kind: kind, Line: line, JSON: json.RawMessage(body)}, nil
}

// stripComment removes a trailing "# comment" from a line that holds no JSON.
func stripComment(s string) string {
	if i := strings.Index(s, "#"); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

func snippet(s string) string {
	const max = 60
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

// ExpandPidDir returns msg with every JSON string "$PIDDIR" replaced by dir
// as a JSON string.
func ExpandPidDir(msg []byte, dir string) []byte {
	quoted, _ := json.Marshal(dir) // a string always marshals
	return bytes.ReplaceAll(msg, []byte(PidDirPlaceholder), quoted)
}

// Decode decodes one JSON value, keeping numbers as json.Number. Trailing
// data other than white space is an error.
func Decode(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode json: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("decode json: data after the value")
	}
	return v, nil
}
