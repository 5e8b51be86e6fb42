package logviewer

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// Config configures a logviewer.
type Config struct {
	// Addr is where a Server listens, host:port: DefaultConfig has Storm's
	// logviewer.port, 8000, on loopback. Port 0 picks a free port.
	Addr string
	// LogRoot is the directory of worker logs, laid out as Storm's:
	// <topology-id>/<port>/worker.log (and rotated worker.log.*). Required.
	LogRoot string
	// DaemonLogRoot is the directory of daemon logs (supervisor.log,
	// nimbus.log); "" serves none.
	DaemonLogRoot string
	// Authorize, if set, decides every request before it reads anything:
	// an error refuses it, with 401 if it wraps auth.ErrUnauthenticated,
	// else 403. Listings and deep searches ask once per topology and leave
	// out what is refused. AuthorizeWith makes one that decides as the
	// REST API does. nil allows everything, which is why Addr is loopback
	// by default.
	Authorize func(r *http.Request, a Access) error
	// TLS, if set, makes a Server serve HTTPS; with it, client
	// certificates reach Authorize (r.TLS). auth.CheckExposure says when
	// it is needed.
	TLS *tls.Config
	// DefaultPageBytes is how much of a log a page shows when the request
	// says nothing: Storm's 51200.
	DefaultPageBytes int64
	// MaxPageBytes bounds a page and a follow chunk (downloads stream):
	// Storm's 10 MiB.
	MaxPageBytes int64
	// MaxSearchBytes bounds what one search or deep search reads; past it
	// the answer says where to go on from.
	MaxSearchBytes int64
	// MaxMatches bounds num-matches.
	MaxMatches int
	// MaxSearches bounds the searches running at once; more get 503.
	MaxSearches int
	// MaxFollowers bounds the follow requests waiting at once; more get
	// 503.
	MaxFollowers int
	// DefaultFollowWait is how long a follow request waits for new lines
	// when it does not say; MaxFollowWait bounds what it may say.
	DefaultFollowWait, MaxFollowWait time.Duration
	// FollowPoll is how often a waiting follow request looks at its file.
	FollowPoll time.Duration
	// MaxListEntries bounds the files a listing returns.
	MaxListEntries int
	// ShutdownTimeout bounds how long a Server waits for requests in
	// flight when it stops.
	ShutdownTimeout time.Duration
	// Logger receives the server's own messages; nil discards them.
	Logger *slog.Logger
	// Metrics, if set, is served at GET /metrics once Authorize allows
	// Access{Op: OpMetrics}: a node's Prometheus exposition beside its
	// logs, on the same port and behind the same authentication.
	Metrics http.Handler
}

// DefaultConfig returns the defaults, with LogRoot still to set.
func DefaultConfig() Config {
	return Config{
		Addr:              "127.0.0.1:8000",
		DefaultPageBytes:  51200,
		MaxPageBytes:      10 << 20,
		MaxSearchBytes:    256 << 20,
		MaxMatches:        1000,
		MaxSearches:       4,
		MaxFollowers:      64,
		DefaultFollowWait: 30 * time.Second,
		MaxFollowWait:     60 * time.Second,
		FollowPoll:        250 * time.Millisecond,
		MaxListEntries:    10000,
		ShutdownTimeout:   5 * time.Second,
	}
}

// Validate names the first field that is unusable.
func (c Config) Validate() error {
	switch {
	case c.LogRoot == "":
		return fmt.Errorf("%w: LogRoot is empty", ErrConfig)
	case c.DefaultPageBytes <= 0 || c.DefaultPageBytes > c.MaxPageBytes:
		return fmt.Errorf("%w: DefaultPageBytes %d: want 1 to MaxPageBytes (%d)", ErrConfig, c.DefaultPageBytes, c.MaxPageBytes)
	case c.MaxSearchBytes <= 0:
		return fmt.Errorf("%w: MaxSearchBytes %d: want > 0", ErrConfig, c.MaxSearchBytes)
	case c.MaxMatches <= 0:
		return fmt.Errorf("%w: MaxMatches %d: want > 0", ErrConfig, c.MaxMatches)
	case c.MaxSearches <= 0:
		return fmt.Errorf("%w: MaxSearches %d: want > 0", ErrConfig, c.MaxSearches)
	case c.MaxFollowers <= 0:
		return fmt.Errorf("%w: MaxFollowers %d: want > 0", ErrConfig, c.MaxFollowers)
	case c.DefaultFollowWait <= 0 || c.DefaultFollowWait > c.MaxFollowWait:
		return fmt.Errorf("%w: DefaultFollowWait %v: want > 0 and at most MaxFollowWait (%v)", ErrConfig, c.DefaultFollowWait, c.MaxFollowWait)
	case c.FollowPoll <= 0:
		return fmt.Errorf("%w: FollowPoll %v: want > 0", ErrConfig, c.FollowPoll)
	case c.MaxListEntries <= 0:
		return fmt.Errorf("%w: MaxListEntries %d: want > 0", ErrConfig, c.MaxListEntries)
	case c.ShutdownTimeout <= 0:
		return fmt.Errorf("%w: ShutdownTimeout %v: want > 0", ErrConfig, c.ShutdownTimeout)
	}
	return nil
}

// Access is what a request asks of the logviewer, for Config.Authorize.
type Access struct {
	Op Op
	// Topology is the topology whose logs are asked for; "" for a daemon
	// log, or a listing of every topology (then Authorize is asked again
	// for each).
	Topology string
	// File is the log's path under its root ("wc-1-1/6700/worker.log",
	// "supervisor.log"), "" for listings and deep searches.
	File string
	// Daemon says File is a daemon log.
	Daemon bool
}

// Op is an operation on logs.
type Op string

const (
	OpRead       Op = "read"     // a page of a log, or a follow
	OpDownload   Op = "download" // a whole file
	OpSearch     Op = "search"   // search one file
	OpDeepSearch Op = "deepSearch"
	OpList       Op = "list"
	OpMetrics    Op = "metrics" // the node's /metrics (Config.Metrics)
)

var (
	// ErrConfig: a Config field is unusable.
	ErrConfig = errors.New("bad logviewer configuration")
	// ErrBadPath: a file name is not a log's path under the log directory.
	ErrBadPath = errors.New("not a log file path")
)
