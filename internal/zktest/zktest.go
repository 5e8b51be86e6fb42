// Package zktest runs real ZooKeeper servers for tests: Start gives a test
// its own server; Shared gives every test of a package one server, started
// on first use, when the package's TestMain calls Main. Each test using the
// shared server keeps its data under its own path (Root).
//
// The server is started by package zkserver: Debian's ZooKeeper on a free
// port of 127.0.0.1, data in a temporary directory, short ticks, no fsync.
// Without Java or ZooKeeper a test is skipped, or fails if the CI
// environment variable is set.
//
// SessionRecorder and Server.ExpireSession expire a client's session on
// demand, the way ZooKeeper's own tests do: a second connection takes over
// the session with its id and password and closes it.
package zktest

import (
	"errors"
	"os"
	"testing"

	"github.com/squallstream/squall/internal/zkserver"
)

// Server is a running ZooKeeper server for tests.
type Server struct {
	*zkserver.Server
}

// Start starts a ZooKeeper server for t in t.TempDir and stops it when t
// ends, printing its log if t failed.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := start(t.TempDir())
	if err != nil {
		fail(t, err)
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("zookeeper log:\n%s", s.LogTail(200))
		}
	})
	return s
}

func start(dir string) (*Server, error) {
	s, err := zkserver.Start(zkserver.Options{Dir: dir, Test: true})
	if err != nil {
		return nil, err
	}
	return &Server{s}, nil
}

// fail skips t, or fails it under CI, if err says something is missing, and
// fails it otherwise.
func fail(t testing.TB, err error) {
	t.Helper()
	var missing *zkserver.MissingError
	if errors.As(err, &missing) && os.Getenv("CI") == "" {
		t.Skip(err)
	}
	t.Fatal(err)
}
