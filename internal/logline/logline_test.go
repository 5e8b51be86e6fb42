package logline

import (
	"bytes"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestHandlerRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	worker := slog.New(NewHandler(&buf, nil)).With(KeyTopology, "wc-1-1732186000", KeyPort, 6700)
	task := Child(Task(worker, "split", 5), 81234)
	task.Warn("child stderr", "line", "Traceback (most recent call last):\n  File \"split.py\"")
	Task(worker, "__system", -1).Info(`odd "msg" with = signs`)

	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2 (a value's newline must stay quoted):\n%s", len(lines), buf.String())
	}
	if !regexp.MustCompile(`^time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z level=WARN msg="child stderr" `).MatchString(lines[0]) {
		t.Errorf("line does not start as the format says: %s", lines[0])
	}
	r, ok := Parse([]byte(lines[0]))
	want := Record{Level: "WARN", Msg: "child stderr", Topology: "wc-1-1732186000", Component: "split", Task: 5, HasTask: true, Pid: 81234, Port: 6700}
	r.Time, want.Time = time.Time{}, time.Time{}
	if !ok || r != want {
		t.Errorf("Parse = %+v, %v\nwant %+v", r, ok, want)
	}
	r, ok = Parse([]byte(lines[1]))
	if !ok || r.Msg != `odd "msg" with = signs` || r.Task != -1 || !r.HasTask || r.Component != "__system" {
		t.Errorf("Parse = %+v, %v", r, ok)
	}
}

func TestHandlerTime(t *testing.T) {
	var buf bytes.Buffer
	h := NewHandler(&buf, nil)
	at := time.Date(2026, 12, 7, 11, 11, 12, 100, time.FixedZone("CET", 3600))
	rec := slog.NewRecord(at, slog.LevelInfo, "m", 0)
	if err := h.Handle(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	if want := "time=2026-12-07T10:11:12.000000Z level=INFO msg=m\n"; buf.String() != want {
		t.Errorf("line %q, want %q", buf.String(), want)
	}
	r, ok := Parse(buf.Bytes())
	if !ok || !r.Time.Equal(at.Truncate(time.Microsecond)) {
		t.Errorf("Parse time = %v, %v; want %v", r.Time, ok, at)
	}
}

func TestHandlerBoundsValues(t *testing.T) {
	var buf bytes.Buffer
	chained := false
	l := slog.New(NewHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		chained = true
		return a
	}}))
	long := strings.Repeat("é", MaxValueBytes) // two bytes each
	l.Info("m", "line", long)
	if buf.Len() > MaxValueBytes+200 {
		t.Errorf("line of %d bytes, want about %d", buf.Len(), MaxValueBytes)
	}
	if !strings.Contains(buf.String(), "...(32768 bytes)") || !utf8.Valid(buf.Bytes()) {
		t.Errorf("cut value not marked or not UTF-8: ...%s", buf.String()[buf.Len()-40:])
	}
	if !chained {
		t.Errorf("the caller's ReplaceAttr did not run")
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		line string
		ok   bool
		want Record
	}{
		{`time=2026-12-07T10:11:12.123456Z level=INFO msg=hi component=split task=3`, true,
			Record{Time: time.Date(2026, 12, 7, 10, 11, 12, 123456000, time.UTC), Level: "INFO", Msg: "hi", Component: "split", Task: 3, HasTask: true}},
		{`time=2026-12-07T10:11:12.123456Z level=INFO msg="a \"quoted\" msg" "odd key"=1 component="a b"`, true,
			Record{Time: time.Date(2026, 12, 7, 10, 11, 12, 123456000, time.UTC), Level: "INFO", Msg: `a "quoted" msg`, Component: "a b"}},
		{`time=2026-12-07T10:11:12Z msg="unterminated component=x`, true,
			Record{Time: time.Date(2026, 12, 7, 10, 11, 12, 0, time.UTC)}},
		{`time=2026-12-07T10:11:12Z task=x pid=y`, true, Record{Time: time.Date(2026, 12, 7, 10, 11, 12, 0, time.UTC)}},
		{`panic: runtime error: index out of range`, false, Record{}},
		{`	goroutine 1 [running]:`, false, Record{}},
		{`time=yesterday level=INFO`, false, Record{}},
		{``, false, Record{}},
	}
	for _, tt := range tests {
		r, ok := Parse([]byte(tt.line))
		if ok != tt.ok || ok && r != tt.want {
			t.Errorf("Parse(%q) = %+v, %v\nwant %+v, %v", tt.line, r, ok, tt.want, tt.ok)
		}
	}
}

func TestMatcher(t *testing.T) {
	log := `written before the logger existed
time=2026-12-07T10:00:00.000000Z level=INFO msg="worker starting" topology=wc port=6700
time=2026-12-07T10:00:01.000000Z level=INFO msg=emit topology=wc component=split task=5 pid=10
time=2026-12-07T10:00:02.000000Z level=ERROR msg="child stderr" component=split task=5 pid=10 line=boom
panic: boom
	goroutine 1 [running]:
time=2026-12-07T10:00:03.000000Z level=INFO msg=emit component=split task=6 pid=11
time=2026-12-07T10:00:04.000000Z level=INFO msg=count component=count task=2
time=2026-12-07T10:00:05.000000Z level=INFO msg=tick component=__system task=-1
`
	tests := []struct {
		name string
		f    Filter
		want []int // selected line numbers, from 0
	}{
		{"everything", Filter{}, []int{0, 1, 2, 3, 4, 5, 6, 7, 8}},
		{"component", Filter{Component: "split"}, []int{2, 3, 4, 5, 6}},
		{"task", Filter{Component: "split", HasTask: true, Task: 5}, []int{2, 3, 4, 5}},
		{"task without component", Filter{HasTask: true, Task: 6}, []int{6}},
		{"system task", Filter{HasTask: true, Task: -1}, []int{8}},
		{"task 0 is not no task", Filter{HasTask: true, Task: 0}, nil},
		{"since", Filter{Since: time.Date(2026, 12, 7, 10, 0, 3, 0, time.UTC)}, []int{6, 7, 8}},
		{"grep", Filter{Grep: regexp.MustCompile(`boom`)}, []int{3, 4}},
		{"grep in a component", Filter{Component: "split", Grep: regexp.MustCompile(`goroutine|emit`)}, []int{2, 5, 6}},
	}
	lines := strings.Split(strings.TrimSuffix(log, "\n"), "\n")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMatcher(tt.f)
			var got []int
			for i, l := range lines {
				if m.Match([]byte(l)) {
					got = append(got, i)
				}
			}
			if !equal(got, tt.want) {
				t.Errorf("selected lines %v, want %v", got, tt.want)
			}
		})
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FuzzRoundTrip: whatever a task logs, the parser reads back where it came
// from, and the line stays one line.
func FuzzRoundTrip(f *testing.F) {
	f.Add("split", "hello", -1, 42)
	f.Add("a b=c\"d", "line\nbreak", 7, 0)
	f.Add("\xff\x00é", "\\\"", 0, -3)
	f.Fuzz(func(t *testing.T, component, msg string, task, pid int) {
		if len(component) > 1000 || len(msg) > 1000 {
			return
		}
		var buf bytes.Buffer
		Child(Task(slog.New(NewHandler(&buf, nil)).With(KeyTopology, "t"), component, task), pid).Info(msg)
		line := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		if bytes.IndexByte(line, '\n') >= 0 {
			t.Fatalf("one record wrote several lines: %q", buf.Bytes())
		}
		r, ok := Parse(line)
		if !ok || r.Topology != "t" || r.Task != task || !r.HasTask || r.Pid != pid || !sameText(r.Component, component) || !sameText(r.Msg, msg) {
			t.Fatalf("Parse(%q) = %+v, %v; want component %q task %d pid %d msg %q", line, r, ok, component, task, pid, msg)
		}
	})
}

// sameText compares what slog wrote with what was logged: slog writes
// invalid UTF-8 as replacement characters.
func sameText(got, logged string) bool {
	return got == strings.ToValidUTF8(logged, "\uFFFD") || got == logged
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`time=2026-12-07T10:11:12.123456Z level=INFO msg="a \"b\"" component=x task=1`))
	f.Add([]byte(`time="2026" "k`))
	f.Fuzz(func(t *testing.T, line []byte) {
		Parse(line)
		NewMatcher(Filter{Component: "x"}).Match(line)
	})
}
