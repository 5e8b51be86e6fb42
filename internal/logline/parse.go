package logline

import (
	"bytes"
	"regexp"
	"strconv"
	"time"
)

// Record is what a line says about where and when it comes from. Fields
// a line lacks are zero.
type Record struct {
	Time      time.Time
	Level     string
	Msg       string
	Topology  string
	Component string
	// Task is the task id; HasTask says the line had one (task ids may be
	// -1, the system task).
	Task    int
	HasTask bool
	Pid     int
	Port    int
}

// Parse reads a line of this format. It returns false for a line that is
// not one (it does not start with a time key), such as what a worker
// wrote to its stderr before its logger existed, or a Go panic.
func Parse(line []byte) (Record, bool) {
	var r Record
	if !bytes.HasPrefix(line, []byte("time=")) {
		return r, false
	}
	rest := line
	for len(rest) > 0 {
		var key, val []byte
		var quoted, ok bool
		key, rest, ok = token(rest, '=')
		if !ok {
			break
		}
		val, quoted, rest, ok = value(rest)
		if !ok {
			break
		}
		switch string(key) {
		case "time":
			t, err := time.Parse(time.RFC3339Nano, string(val))
			if err != nil {
				return r, false
			}
			r.Time = t
		case "level":
			r.Level = string(val)
		case "msg":
			r.Msg = text(val, quoted)
		case KeyTopology:
			r.Topology = text(val, quoted)
		case KeyComponent:
			r.Component = text(val, quoted)
		case KeyTask:
			if n, err := strconv.Atoi(string(val)); err == nil {
				r.Task, r.HasTask = n, true
			}
		case KeyPid:
			r.Pid, _ = strconv.Atoi(string(val))
		case KeyPort:
			r.Port, _ = strconv.Atoi(string(val))
		}
	}
	return r, !r.Time.IsZero()
}

// token returns the key before sep at the start of b, skipping spaces,
// and what follows sep.
func token(b []byte, sep byte) (key, rest []byte, ok bool) {
	b = bytes.TrimLeft(b, " ")
	if len(b) > 0 && b[0] == '"' { // a quoted key
		k, _, r, ok := value(b)
		if !ok || len(r) == 0 || r[0] != sep {
			return nil, nil, false
		}
		return []byte(text(k, true)), r[1:], true
	}
	i := bytes.IndexByte(b, sep)
	if i <= 0 || bytes.IndexByte(b[:i], ' ') >= 0 {
		return nil, nil, false
	}
	return b[:i], b[i+1:], true
}

// value returns the value at the start of b: a Go-quoted string (still
// quoted), or the bytes up to the next space.
func value(b []byte) (val []byte, quoted bool, rest []byte, ok bool) {
	if len(b) == 0 || b[0] != '"' {
		i := bytes.IndexByte(b, ' ')
		if i < 0 {
			i = len(b)
		}
		return b[:i], false, b[i:], true
	}
	for i := 1; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return b[:i+1], true, b[i+1:], true
		}
	}
	return nil, false, nil, false
}

// text returns a value as text, unquoting it if it was quoted.
func text(val []byte, quoted bool) string {
	if !quoted {
		return string(val)
	}
	s, err := strconv.Unquote(string(val))
	if err != nil {
		return string(val)
	}
	return s
}

// Filter selects lines of a worker's log: those of a component, of a task,
// since a time, matching a regular expression. Zero fields select
// everything.
type Filter struct {
	Component string
	// Task selects one task when HasTask is set.
	Task    int
	HasTask bool
	// Since selects lines at or after it.
	Since time.Time
	// Grep selects lines it matches (anywhere in the raw line).
	Grep *regexp.Regexp
}

// Matcher applies a Filter to the lines of one log, in order. Lines that
// are not of this format (a panic's stack trace, say) go with the line
// before them, so a selected record keeps its continuation; Grep alone
// judges them on their own. A Matcher is not safe for concurrent use.
type Matcher struct {
	f Filter
	// last is the verdict on the last line of this format, before Grep.
	last bool
}

// NewMatcher returns a matcher of f. Lines before the first line of this
// format are selected unless the filter names a component or task, or a
// time.
func NewMatcher(f Filter) *Matcher {
	return &Matcher{f: f, last: f.Component == "" && !f.HasTask && f.Since.IsZero()}
}

// Match reports whether line is selected.
func (m *Matcher) Match(line []byte) bool {
	if r, ok := Parse(line); ok {
		m.last = (m.f.Component == "" || r.Component == m.f.Component) &&
			(!m.f.HasTask || r.HasTask && r.Task == m.f.Task) &&
			(m.f.Since.IsZero() || !r.Time.Before(m.f.Since))
	}
	return m.last && (m.f.Grep == nil || m.f.Grep.Match(line))
}

// Selective reports whether the filter selects by anything but Grep, so
// that a reader knows lines must be parsed.
func (f Filter) Selective() bool { return f.Component != "" || f.HasTask || !f.Since.IsZero() }
