// Package logline is the format of a worker's log lines: the slog handler
// that writes them and the parser that the logviewer's filters and
// `squall logs` read them with.
//
// A line is logfmt, as slog's TextHandler writes it, with the time first,
// in UTC with microseconds so that lines of several workers interleave by
// time when sorted as text:
//
//	time=2026-12-07T10:11:12.123456Z level=INFO msg="child stderr" topology=wc-1-1732186000 port=6700 component=split task=5 pid=81234 line="Traceback ..."
//
// Every line a task's code causes carries the task's identity under the
// keys below: the worker narrows its logger with Task, and a shell task's
// logger with Child once its child runs. Values with newlines are quoted
// onto one line, so a line never spills into the next, and long string
// values are cut at MaxValueBytes, so a line stays bounded.
package logline

import (
	"fmt"
	"io"
	"log/slog"
)

// Keys of the attributes that say where a line comes from.
const (
	KeyTopology  = "topology"
	KeyComponent = "component"
	KeyTask      = "task"
	// KeyPid is the pid of the task's child process.
	KeyPid = "pid"
	// KeyPort is the worker's slot port.
	KeyPort = "port"
)

// TimeFormat is the format of the time key.
const TimeFormat = "2006-01-02T15:04:05.000000Z"

// MaxValueBytes bounds a string value in a line; longer ones are cut and
// marked with how long they were.
const MaxValueBytes = 16 << 10

// NewHandler returns a handler writing lines of this format to w. opts may
// be nil; a ReplaceAttr in it runs after the handler's own.
func NewHandler(w io.Writer, opts *slog.HandlerOptions) slog.Handler {
	var o slog.HandlerOptions
	if opts != nil {
		o = *opts
	}
	next := o.ReplaceAttr
	o.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.TimeKey && a.Value.Kind() == slog.KindTime {
			a.Value = slog.StringValue(a.Value.Time().UTC().Format(TimeFormat))
		} else if a.Value.Kind() == slog.KindString && len(a.Value.String()) > MaxValueBytes {
			s := a.Value.String()
			a.Value = slog.StringValue(fmt.Sprintf("%s...(%d bytes)", validPrefix(s, MaxValueBytes), len(s)))
		}
		if next != nil {
			a = next(groups, a)
		}
		return a
	}
	return slog.NewTextHandler(w, &o)
}

// validPrefix returns the longest prefix of s of at most n bytes that does
// not cut a UTF-8 sequence.
func validPrefix(s string, n int) string {
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// Task narrows a worker's logger to one task of a component.
func Task(l *slog.Logger, component string, task int) *slog.Logger {
	return l.With(KeyComponent, component, KeyTask, task)
}

// Child narrows a task's logger to its child process.
func Child(l *slog.Logger, pid int) *slog.Logger { return l.With(KeyPid, pid) }
