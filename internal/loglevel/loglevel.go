// Package loglevel is Storm's dynamic log levels (set_log_level, the
// topology's logconfig) for squall: the level names Storm takes, their slog
// levels, and which level a worker runs at now.
package loglevel

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Root is the one logger squall's workers have (log4j's root logger):
// every line of a worker, its tasks and their children goes through it.
const Root = "ROOT"

// MaxTimeoutSecs bounds a level's timeout: a day.
const MaxTimeoutSecs = 86400

// ErrBadLevel: a level, logger or timeout that cannot be used.
var ErrBadLevel = errors.New("bad log level")

// Parse reads one of Storm's (log4j's) level names, in any case: ALL,
// TRACE, DEBUG, INFO, WARN, ERROR, FATAL, OFF.
func Parse(name string) (slog.Level, error) {
	switch strings.ToUpper(name) {
	case "ALL", "TRACE":
		return slog.LevelDebug - 4, nil
	case "DEBUG":
		return slog.LevelDebug, nil
	case "INFO":
		return slog.LevelInfo, nil
	case "WARN":
		return slog.LevelWarn, nil
	case "ERROR":
		return slog.LevelError, nil
	case "FATAL", "OFF":
		return slog.LevelError + 4, nil
	}
	return 0, fmt.Errorf("%w: %.40q: want ALL, TRACE, DEBUG, INFO, WARN, ERROR, FATAL or OFF", ErrBadLevel, name)
}

// Setting is a topology's level for a logger, as nimbus stores it.
type Setting struct {
	// Target is the level's name (see Parse).
	Target string `json:"targetLevel"`
	// ResetAt is when the workers go back to the level they started
	// with; zero: never.
	ResetAt time.Time `json:"resetAt,omitzero"`
}

// Check checks a logger's name and setting: squall has the root logger
// only.
func Check(logger string, s Setting) error {
	if logger != Root {
		return fmt.Errorf("%w: logger %.80q: squall's workers have one logger, %s", ErrBadLevel, logger, Root)
	}
	_, err := Parse(s.Target)
	return err
}

// Current returns the level a worker started at base runs at, at now,
// under the topology's settings, and when that changes next (zero: not
// by itself).
func Current(settings map[string]Setting, base slog.Level, now time.Time) (slog.Level, time.Time) {
	s, ok := settings[Root]
	if !ok || !s.ResetAt.IsZero() && !now.Before(s.ResetAt) {
		return base, time.Time{}
	}
	l, err := Parse(s.Target)
	if err != nil {
		return base, time.Time{}
	}
	return l, s.ResetAt
}
