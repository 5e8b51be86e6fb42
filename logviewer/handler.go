package logviewer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/squallstream/squall/auth"
)

// Handler serves Storm's logviewer paths. It is safe for concurrent use.
type Handler struct {
	cfg Config
	log *slog.Logger
	mux *http.ServeMux
	// searches and followers hold a token per request running.
	searches  chan struct{}
	followers chan struct{}
}

// NewHandler returns a handler serving the logs cfg names:
//
//	GET /api/v1/log?file=&start=&length=&grep=   a page of a worker log
//	GET /api/v1/daemonlog?file=&start=&length=&grep=
//	GET /api/v1/download?file=                    a worker log, whole
//	GET /api/v1/daemondownload?file=
//	GET /api/v1/search?file=&search-string=&num-matches=&start-byte-offset=&is-daemon=
//	GET /api/v1/deepSearch/{topoId}?search-string=&num-matches=&port=&start-file-offset=&start-byte-offset=&search-archived=
//	GET /api/v1/listLogs?topoId=&port=
//	GET /api/v1/follow?file=&offset=&fileId=&wait=   (squall)
//
// Pages and follows also filter lines by grep (a substring, as Storm's),
// regex, component, task and since (RFC 3339), reading them as
// internal/logline writes them.
func NewHandler(cfg Config) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	h := &Handler{
		cfg:       cfg,
		log:       cfg.Logger,
		mux:       http.NewServeMux(),
		searches:  make(chan struct{}, cfg.MaxSearches),
		followers: make(chan struct{}, cfg.MaxFollowers),
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.mux.HandleFunc("GET /api/v1/log", func(w http.ResponseWriter, r *http.Request) { h.page(w, r, false) })
	h.mux.HandleFunc("GET /api/v1/daemonlog", func(w http.ResponseWriter, r *http.Request) { h.page(w, r, true) })
	h.mux.HandleFunc("GET /api/v1/download", func(w http.ResponseWriter, r *http.Request) { h.download(w, r, false) })
	h.mux.HandleFunc("GET /api/v1/daemondownload", func(w http.ResponseWriter, r *http.Request) { h.download(w, r, true) })
	h.mux.HandleFunc("GET /api/v1/search", h.search)
	h.mux.HandleFunc("GET /api/v1/deepSearch/{topoId}", h.deepSearch)
	h.mux.HandleFunc("GET /api/v1/listLogs", h.list)
	h.mux.HandleFunc("GET /api/v1/follow", h.follow)
	if cfg.Metrics != nil {
		h.mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
			if err := h.authorize(r, Access{Op: OpMetrics}); err != nil {
				h.fail(w, r, err)
				return
			}
			cfg.Metrics.ServeHTTP(w, r)
		})
	}
	h.mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "Not Found", "no such logviewer path: "+r.URL.Path)
	})
	return h, nil
}

// ServeHTTP serves a request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Logs hold whatever components print: never let a browser read them
	// as anything but what they are declared as.
	w.Header().Set("X-Content-Type-Options", "nosniff")
	h.mux.ServeHTTP(w, r)
}

// apiError is an error with the HTTP status it answers with.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &apiError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

var errBusy = &apiError{http.StatusServiceUnavailable, "too many requests of this kind at once; try again"}

// fail answers err: Storm's {"error": ..., "errorMessage": ...} with the
// fitting status.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		writeError(w, ae.status, http.StatusText(ae.status), ae.msg)
	case errors.Is(err, ErrBadPath):
		writeError(w, http.StatusBadRequest, "Bad Request", err.Error())
	case errors.Is(err, fs.ErrNotExist):
		h.log.Debug("log not found", "path", r.URL.RequestURI(), "err", err)
		writeError(w, http.StatusNotFound, "Not Found", "The file was not found on this node.")
	case errors.Is(err, auth.ErrUnauthenticated):
		w.Header().Set("WWW-Authenticate", `Bearer realm="squall"`)
		writeError(w, http.StatusUnauthorized, "Unauthorized", err.Error())
	case errors.Is(err, errDenied):
		writeError(w, http.StatusForbidden, "Forbidden", err.Error())
	default:
		h.log.Warn("logviewer request failed", "path", r.URL.RequestURI(), "err", err)
		writeError(w, http.StatusInternalServerError, "Internal Server Error", "reading the log failed")
	}
}

func writeError(w http.ResponseWriter, status int, title, msg string) {
	writeJSON(w, status, map[string]string{"error": title, "errorMessage": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}

// errDenied wraps what Authorize refused.
var errDenied = errors.New("forbidden")

// authorize asks Config.Authorize about a.
func (h *Handler) authorize(r *http.Request, a Access) error {
	if h.cfg.Authorize == nil {
		return nil
	}
	err := h.cfg.Authorize(r, a)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, auth.ErrUnauthenticated):
		return err
	}
	return fmt.Errorf("%w: %v", errDenied, err)
}

// allowed returns whether Authorize allows op on a topology's logs, for
// listings and deep searches, which leave out what it refuses.
func (h *Handler) allowed(r *http.Request, op Op) func(string) bool {
	return func(topology string) bool { return h.authorize(r, Access{Op: op, Topology: topology}) == nil }
}

// resolve checks a requested file and asks whether the request may have
// it, returning the directory it is in.
func (h *Handler) resolve(r *http.Request, op Op, file string, daemon bool) (dir string, err error) {
	if file == "" {
		return "", badRequest("the file parameter is missing")
	}
	a := Access{Op: op, File: file, Daemon: daemon}
	if daemon {
		if h.cfg.DaemonLogRoot == "" {
			return "", fmt.Errorf("daemon logs: %w (none served)", fs.ErrNotExist)
		}
		if err := daemonPath(file); err != nil {
			return "", err
		}
		dir = h.cfg.DaemonLogRoot
	} else {
		if a.Topology, err = workerPath(file); err != nil {
			return "", err
		}
		dir = h.cfg.LogRoot
	}
	if err := h.authorize(r, a); err != nil {
		return "", err
	}
	return dir, nil
}

// readable refuses a compressed log for the paths that read text: it can
// only be downloaded.
func readable(file string) error {
	if strings.HasSuffix(file, ".gz") {
		return badRequest("%s is compressed: download it", truncate(file, 100))
	}
	return nil
}

// intParam reads an optional integer parameter within [lo, hi].
func intParam(r *http.Request, name string, def, lo, hi int64) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, badRequest("%s %q: want a whole number from %d to %d", name, truncate(s, 40), lo, hi)
	}
	return n, nil
}

// durationParam reads an optional wait, in seconds (Storm's unit) or as a
// Go duration.
func durationParam(r *http.Request, name string, def, hi time.Duration) (time.Duration, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		secs, serr := strconv.ParseFloat(s, 64)
		if serr != nil {
			return 0, badRequest("%s %q: want seconds or a duration such as 30s", name, truncate(s, 40))
		}
		d = time.Duration(secs * float64(time.Second))
	}
	if d < 0 || d > hi {
		return 0, badRequest("%s %v: want at most %v", name, d, hi)
	}
	return d, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "..."
}

// acquire takes a token from sem, or fails with 503 if there is none.
func acquire(sem chan struct{}) (release func(), err error) {
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	default:
		return nil, errBusy
	}
}
