// Package redistest gives a test its own real Redis server (package
// redisserver: Debian's redis-server on a free port of 127.0.0.1, data in
// t.TempDir), stopped when the test ends. Without redis-server a test is
// skipped, or fails if the CI environment variable is set.
package redistest

import (
	"errors"
	"os"
	"testing"

	"github.com/squallstream/squall/internal/redisserver"
)

// Server is a running Redis server for one test.
type Server struct {
	*redisserver.Server
	dir     string
	persist bool
}

// Start starts a server that keeps nothing on disk.
func Start(t testing.TB) *Server {
	t.Helper()
	return start(t, redisserver.Options{Dir: t.TempDir()})
}

// StartPersistent starts a server that syncs every write to an append-only
// file, so that Restart after a kill -9 finds every acknowledged write.
func StartPersistent(t testing.TB) *Server {
	t.Helper()
	return start(t, redisserver.Options{Dir: t.TempDir(), Persist: true})
}

// Restart kills the server with SIGKILL, as a crash would, and starts it
// again on the same port and directory.
func (s *Server) Restart(t testing.TB) *Server {
	t.Helper()
	s.Stop()
	return start(t, redisserver.Options{Dir: s.dir, Port: s.Port(), Persist: s.persist})
}

func start(t testing.TB, o redisserver.Options) *Server {
	t.Helper()
	srv, err := redisserver.Start(o)
	if err != nil {
		var missing *redisserver.MissingError
		if errors.As(err, &missing) && os.Getenv("CI") == "" {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Stop()
		if t.Failed() {
			t.Logf("redis log:\n%s", srv.LogTail(100))
		}
	})
	return &Server{Server: srv, dir: o.Dir, persist: o.Persist}
}
