// Package testenv holds what tests of many packages need about the
// machine they run on: whether CI runs them, how patient to be on a busy
// machine, polling for a condition with a deadline, ports that stay free
// for a child to listen on, and a logger for a test.
package testenv

import (
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
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

// WaitUntil polls cond until it holds, and fails the test if it does not
// within Patience(timeout). It polls often at first, then every 100 ms.
func WaitUntil(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	timeout = Patience(timeout)
	deadline := time.Now().Add(timeout)
	pause := 5 * time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(pause)
		pause = min(2*pause, 100*time.Millisecond)
	}
}

// WaitErr is WaitUntil for a condition that says why it does not hold
// yet: it polls cond until it returns nil, and on timeout fails the test
// with cond's last error.
func WaitErr(tb testing.TB, timeout time.Duration, what string, cond func() error) {
	tb.Helper()
	timeout = Patience(timeout)
	deadline := time.Now().Add(timeout)
	pause := 5 * time.Millisecond
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s: %v", timeout, what, err)
		}
		time.Sleep(pause)
		pause = min(2*pause, 100*time.Millisecond)
	}
}

// ephemeralLow returns where the machine's ephemeral port range starts
// (net.ipv4.ip_local_port_range; Linux's default, 32768, if unreadable).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	low, err := strconv.Atoi(strings.Fields(string(b) + " x")[0])
	if err != nil || low <= 1024 {
		return 32768
	}
	return low
}

// handedOut holds the ports FreePorts gave this process: their
// listeners start long after (a worker's slot port, when it launches).
var handedOut struct {
	sync.Mutex
	ports map[int]bool
}

// FreePorts returns n ports, free now, for a process the test starts to
// listen on later. They lie below the ephemeral range: a port picked with
// 127.0.0.1:0 and released goes back to the pool from which every
// listener on port 0 and every outgoing connection takes its local port,
// and one of those took it before the child listened (a dev-cluster's
// ZooKeeper took a worker's slot port: TestDevClusterDRPC failed so in CI).
// A port is handed out once per test binary; test binaries running at
// once start at random points, which makes a clash between them unlikely,
// not impossible.
func FreePorts(tb testing.TB, n int) []int {
	tb.Helper()
	handedOut.Lock()
	defer handedOut.Unlock()
	if handedOut.ports == nil {
		handedOut.ports = map[int]bool{}
	}
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	below := min(ephemeralLow(), 65536)
	start := max(below-12768, 1025)
	for p := start + rand.IntN(max((below-start)/2, 1)); len(ports) < n && p < below; p++ {
		if handedOut.ports[p] {
			continue
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue // in use
		}
		ls = append(ls, l)
		ports = append(ports, p)
	}
	if len(ports) < n {
		tb.Fatalf("found %d free ports below %d, want %d", len(ports), below, n)
	}
	for _, p := range ports {
		handedOut.ports[p] = true
	}
	return ports
}

// Logger returns a logger for a test: everything, on stderr, when the
// tests run verbose (go test -v); otherwise warnings and errors, in the
// test's log (shown when it fails), until the test ends.
func Logger(tb testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	w := &testLog{tb: tb}
	tb.Cleanup(w.end)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// testLog writes to a test's log until the test ends; then (goroutines
// the test left behind still logging) it drops what it is given, which
// testing would refuse.
type testLog struct {
	tb testing.TB
	mu sync.Mutex
	// ended is set when the test ended; guarded by mu.
	ended bool
}

func (w *testLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.ended {
		w.tb.Helper()
		w.tb.Log(string(trimNewline(p)))
	}
	return len(p), nil
}

func (w *testLog) end() {
	w.mu.Lock()
	w.ended = true
	w.mu.Unlock()
}

func trimNewline(p []byte) []byte {
	if n := len(p); n > 0 && p[n-1] == '\n' {
		return p[:n-1]
	}
	return p
}

var _ io.Writer = (*testLog)(nil)
