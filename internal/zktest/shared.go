package zktest

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// shared is the server of Shared, one per test binary.
var shared struct {
	mu sync.Mutex
	// Guarded by mu:
	inMain bool    // Main is running the tests
	srv    *Server // started by the first Shared call
	dir    string  // srv's directory, removed by Main
	err    error   // why srv could not start; every Shared call reports it
}

// Main runs a package's tests and then stops the server Shared started, if
// any, printing its log if a test failed. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(zktest.Main(m)) }
func Main(m *testing.M) int {
	shared.mu.Lock()
	shared.inMain = true
	shared.mu.Unlock()

	code := m.Run()

	shared.mu.Lock()
	defer shared.mu.Unlock()
	shared.inMain = false
	if shared.srv != nil {
		shared.srv.Stop()
		if code != 0 {
			fmt.Fprintf(os.Stderr, "zookeeper log:\n%s", shared.srv.LogTail(200))
		}
		_ = os.RemoveAll(shared.dir)
		shared.srv = nil
	}
	return code
}

// Shared returns the server shared by the package's tests, starting it on
// first use; Main stops it after the last test. Tests sharing it should keep
// their data under their own path (see Root). Like Start, it skips t (or
// fails it under CI) if Java or ZooKeeper is missing.
func Shared(t testing.TB) *Server {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.inMain {
		t.Fatal("zktest.Shared needs the package's TestMain to call zktest.Main")
	}
	if shared.srv == nil && shared.err == nil {
		dir, err := os.MkdirTemp("", "zktest-")
		if err != nil {
			shared.err = fmt.Errorf("zktest: %w", err)
		} else if shared.srv, shared.err = start(dir); shared.err != nil {
			_ = os.RemoveAll(dir)
		} else {
			shared.dir = dir
		}
	}
	if shared.err != nil {
		fail(t, shared.err)
	}
	return shared.srv
}

var roots atomic.Int64

// Root returns a ZooKeeper path for t's data alone, such as
// "/TestElection_zookeeper-3", unique within the test binary.
func Root(t testing.TB) string {
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, t.Name())
	return fmt.Sprintf("/%s-%d", name, roots.Add(1))
}
