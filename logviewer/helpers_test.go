package logviewer

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// fixture is a node's log directories with a few logs and some bait
// outside them, served by a Handler.
type fixture struct {
	base, logs, daemon string
	srv                *httptest.Server
	h                  *Handler
}

const secret = "SECRET-OUTSIDE-THE-LOGS"

// workerLog is a log of this format with three tasks' lines.
const workerLog = `time=2026-12-07T10:00:00.000000Z level=INFO msg="worker starting" topology=wc-1-1 port=6700
time=2026-12-07T10:00:01.000000Z level=INFO msg=emit topology=wc-1-1 port=6700 component=split task=5 pid=10 word=snow
time=2026-12-07T10:00:02.000000Z level=ERROR msg="child stderr" topology=wc-1-1 port=6700 component=split task=6 pid=11 line=boom
time=2026-12-07T10:00:03.000000Z level=INFO msg=count topology=wc-1-1 port=6700 component=count task=2 word=snow
`

func newFixture(t *testing.T, edit func(*Config)) *fixture {
	t.Helper()
	base := t.TempDir()
	f := &fixture{base: base, logs: filepath.Join(base, "logs"), daemon: filepath.Join(base, "daemon")}
	f.write(t, "logs/wc-1-1/6700/worker.log", workerLog)
	f.write(t, "logs/wc-1-1/6701/worker.log", "time=2026-12-07T10:00:00.000000Z level=INFO msg=\"other slot\" word=snow\n")
	f.write(t, "logs/other-2-2/6700/worker.log", "other topology's "+secret+"\n")
	f.write(t, "daemon/supervisor.log", "supervisor started\n")
	f.write(t, "secret.txt", secret+"\n")
	cfg := DefaultConfig()
	cfg.LogRoot, cfg.DaemonLogRoot = f.logs, f.daemon
	cfg.FollowPoll = 10 * time.Millisecond
	if edit != nil {
		edit(&cfg)
	}
	h, err := NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.h = h
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) write(t *testing.T, name, content string) {
	t.Helper()
	p := filepath.Join(f.base, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) append(t *testing.T, name, content string) {
	t.Helper()
	w, err := os.OpenFile(filepath.Join(f.base, name), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.WriteString(content); err != nil {
		t.Fatal(err)
	}
}

// response is an answer read whole.
type response struct {
	status int
	header http.Header
	body   string
}

// get requests path with the query params (pairs of name and value).
func (f *fixture) get(t *testing.T, path string, params ...string) response {
	t.Helper()
	return f.do(t, path, nil, params...)
}

func (f *fixture) do(t *testing.T, path string, header http.Header, params ...string) response {
	t.Helper()
	q := url.Values{}
	for i := 0; i+1 < len(params); i += 2 {
		q.Add(params[i], params[i+1])
	}
	u := f.srv.URL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

// decode reads a JSON answer of status 200 into v.
func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", r.status, r.body)
	}
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// stormError reads Storm's {"error", "errorMessage"} answer.
func (r response) stormError(t *testing.T, status int) string {
	t.Helper()
	var e struct{ Error, ErrorMessage string }
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if err := json.Unmarshal([]byte(r.body), &e); err != nil || e.Error == "" || e.ErrorMessage == "" {
		t.Fatalf("error body %q, want {error, errorMessage}", r.body)
	}
	return e.ErrorMessage
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func osChtimes(name string, t time.Time) error { return os.Chtimes(name, t, t) }
