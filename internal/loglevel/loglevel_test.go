package loglevel

import (
	"errors"
	"log/slog"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		want slog.Level
		ok   bool
	}{
		{"DEBUG", slog.LevelDebug, true},
		{"debug", slog.LevelDebug, true},
		{"TRACE", slog.LevelDebug - 4, true},
		{"INFO", slog.LevelInfo, true},
		{"WARN", slog.LevelWarn, true},
		{"ERROR", slog.LevelError, true},
		{"OFF", slog.LevelError + 4, true},
		{"", 0, false},
		{"VERBOSE", 0, false},
	}
	for _, tt := range tests {
		got, err := Parse(tt.name)
		if (err == nil) != tt.ok || err != nil && !errors.Is(err, ErrBadLevel) || tt.ok && got != tt.want {
			t.Errorf("Parse(%q) = %v, %v; want %v, ok %v", tt.name, got, err, tt.want, tt.ok)
		}
	}
}

func TestCheck(t *testing.T) {
	if err := Check(Root, Setting{Target: "DEBUG"}); err != nil {
		t.Errorf("Check(ROOT, DEBUG) = %v", err)
	}
	if err := Check("org.apache.storm", Setting{Target: "DEBUG"}); !errors.Is(err, ErrBadLevel) {
		t.Errorf("Check(another logger) = %v, want ErrBadLevel", err)
	}
	if err := Check(Root, Setting{Target: "LOUD"}); !errors.Is(err, ErrBadLevel) {
		t.Errorf("Check(bad level) = %v, want ErrBadLevel", err)
	}
}

func TestCurrent(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	later := now.Add(30 * time.Second)
	tests := []struct {
		name     string
		settings map[string]Setting
		want     slog.Level
		next     time.Time
	}{
		{"none", nil, slog.LevelInfo, time.Time{}},
		{"debug for 30s", map[string]Setting{Root: {Target: "DEBUG", ResetAt: later}}, slog.LevelDebug, later},
		{"debug for ever", map[string]Setting{Root: {Target: "DEBUG"}}, slog.LevelDebug, time.Time{}},
		{"expired", map[string]Setting{Root: {Target: "DEBUG", ResetAt: now}}, slog.LevelInfo, time.Time{}},
		{"bad stored level", map[string]Setting{Root: {Target: "LOUD"}}, slog.LevelInfo, time.Time{}},
	}
	for _, tt := range tests {
		got, next := Current(tt.settings, slog.LevelInfo, now)
		if got != tt.want || !next.Equal(tt.next) {
			t.Errorf("%s: Current() = %v, %v; want %v, %v", tt.name, got, next, tt.want, tt.next)
		}
	}
}
