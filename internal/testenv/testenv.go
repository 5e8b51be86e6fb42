// Package testenv holds what tests of many packages need about the
// machine they run on: whether CI runs them, how patient to be on a busy
// machine, and a logger that is quiet unless asked.
package testenv

import (
	"log/slog"
	"os"
	"testing"
	"time"
)

// CI reports whether the tests run in CI (the CI environment variable is
// set), where everything a test needs is installed and a missing
// prerequisite fails the test instead of skipping it.
func CI() bool { return os.Getenv("CI") != "" }

// Patience scales a test's deadline d: the machine may be loaded, and CI
// runs every package at once.
func Patience(d time.Duration) time.Duration {
	if CI() {
		return 2 * d
	}
	return d
}

// Logger returns a logger for a test: debug lines on stderr when the tests
// run verbose (go test -v) and the environment variable named env, if
// any, is set; nothing otherwise.
func Logger(tb testing.TB, env string) *slog.Logger {
	tb.Helper()
	if testing.Verbose() && (env == "" || os.Getenv(env) != "") {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}
