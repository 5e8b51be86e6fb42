package logviewer

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/squallstream/squall/auth"
)

func TestPage(t *testing.T) {
	f := newFixture(t, nil)
	size := int64(len(workerLog))
	tests := []struct {
		name        string
		params      []string
		start, len_ int64
		want        string
	}{
		{"last page by default", nil, 0, size, workerLog},
		{"start and length", []string{"start", "10", "length", "20"}, 10, 20, workerLog[10:30]},
		{"length past the end", []string{"start", "100", "length", "100000"}, 100, size - 100, workerLog[100:]},
		{"last bytes", []string{"length", "5"}, size - 5, 5, workerLog[size-5:]},
		{"start at the end", []string{"start", strconv.FormatInt(size, 10)}, size, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.get(t, "/api/v1/log", append([]string{"file", "wc-1-1/6700/worker.log"}, tt.params...)...)
			if r.status != http.StatusOK || r.body != tt.want {
				t.Fatalf("status %d body %q, want %q", r.status, r.body, tt.want)
			}
			if got := r.header.Get("X-Log-Start"); got != strconv.FormatInt(tt.start, 10) {
				t.Errorf("X-Log-Start = %s, want %d", got, tt.start)
			}
			if got := r.header.Get("X-Log-Length"); got != strconv.FormatInt(tt.len_, 10) {
				t.Errorf("X-Log-Length = %s, want %d", got, tt.len_)
			}
			if got := r.header.Get("X-Log-File-Length"); got != strconv.FormatInt(size, 10) {
				t.Errorf("X-Log-File-Length = %s, want %d", got, size)
			}
			if !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") || r.header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("headers %v", r.header)
			}
		})
	}
}

func TestPageLengthBounded(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxPageBytes, c.DefaultPageBytes = 50, 30 })
	r := f.get(t, "/api/v1/log", "file", "wc-1-1/6700/worker.log", "start", "0", "length", "1000000")
	if r.status != http.StatusOK || int64(len(r.body)) != 50 {
		t.Errorf("status %d, %d bytes; want the 50 the page is bounded to", r.status, len(r.body))
	}
	r = f.get(t, "/api/v1/log", "file", "wc-1-1/6700/worker.log")
	if len(r.body) != 30 || r.body != workerLog[len(workerLog)-30:] {
		t.Errorf("default page %q, want the last 30 bytes", r.body)
	}
}

func TestPageFilters(t *testing.T) {
	f := newFixture(t, nil)
	lines := strings.SplitAfter(workerLog, "\n")
	tests := []struct {
		name   string
		params []string
		want   string
	}{
		{"grep, as Storm", []string{"grep", "word=snow"}, lines[1] + lines[3]},
		{"regex", []string{"regex", `task=[56] `}, lines[1] + lines[2]},
		{"component", []string{"component", "split"}, lines[1] + lines[2]},
		{"task", []string{"task", "6"}, lines[2]},
		{"component and grep", []string{"component", "count", "grep", "snow"}, lines[3]},
		{"since", []string{"since", "2026-12-07T10:00:02Z"}, lines[2] + lines[3]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.get(t, "/api/v1/log", append([]string{"file", "wc-1-1/6700/worker.log"}, tt.params...)...)
			if r.status != http.StatusOK || r.body != tt.want {
				t.Errorf("status %d body %q, want %q", r.status, r.body, tt.want)
			}
		})
	}
}

func TestPageJSON(t *testing.T) {
	f := newFixture(t, nil)
	r := f.do(t, "/api/v1/log", http.Header{"Accept": {"application/json"}}, "file", "wc-1-1/6700/worker.log", "start", "0", "length", "10")
	var p Page
	r.decode(t, &p)
	if p.File != "wc-1-1/6700/worker.log" || p.Start != 0 || p.Length != 10 || p.FileLength != int64(len(workerLog)) || p.Content != workerLog[:10] || p.FileID == "" {
		t.Errorf("page %+v", p)
	}
}

func TestPageRefuses(t *testing.T) {
	f := newFixture(t, nil)
	f.write(t, "logs/wc-1-1/6700/worker.log.1.gz", "\x1f\x8b")
	tests := []struct {
		name   string
		path   string
		params []string
		status int
	}{
		{"no file", "/api/v1/log", nil, http.StatusBadRequest},
		{"start past the end", "/api/v1/log", []string{"file", "wc-1-1/6700/worker.log", "start", "100000"}, http.StatusBadRequest},
		{"negative start", "/api/v1/log", []string{"file", "wc-1-1/6700/worker.log", "start", "-1"}, http.StatusBadRequest},
		{"zero length", "/api/v1/log", []string{"file", "wc-1-1/6700/worker.log", "length", "0"}, http.StatusBadRequest},
		{"length not a number", "/api/v1/log", []string{"file", "wc-1-1/6700/worker.log", "length", "lots"}, http.StatusBadRequest},
		{"bad regex", "/api/v1/log", []string{"file", "wc-1-1/6700/worker.log", "regex", "("}, http.StatusBadRequest},
		{"long regex", "/api/v1/log", []string{"file", "wc-1-1/6700/worker.log", "regex", strings.Repeat("a", MaxRegexBytes+1)}, http.StatusBadRequest},
		{"bad task", "/api/v1/log", []string{"file", "wc-1-1/6700/worker.log", "task", "five"}, http.StatusBadRequest},
		{"bad since", "/api/v1/log", []string{"file", "wc-1-1/6700/worker.log", "since", "10m"}, http.StatusBadRequest},
		{"missing file", "/api/v1/log", []string{"file", "wc-1-1/6700/nope.log"}, http.StatusNotFound},
		{"compressed", "/api/v1/log", []string{"file", "wc-1-1/6700/worker.log.1.gz"}, http.StatusBadRequest},
		{"compressed search", "/api/v1/search", []string{"file", "wc-1-1/6700/worker.log.1.gz", "search-string", "x"}, http.StatusBadRequest},
		{"compressed follow", "/api/v1/follow", []string{"file", "wc-1-1/6700/worker.log.1.gz"}, http.StatusBadRequest},
		{"unknown path", "/api/v1/logs", nil, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.get(t, tt.path, tt.params...).stormError(t, tt.status)
		})
	}
	r := f.get(t, "/api/v1/log", "file", "wc-1-1/6700/nope.log")
	if msg := r.stormError(t, http.StatusNotFound); msg != "The file was not found on this node." {
		t.Errorf("not found message %q, want Storm's", msg)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, f.srv.URL+"/api/v1/log?file=wc-1-1/6700/worker.log", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d, want 405", resp.StatusCode)
	}
}

func TestDaemonLog(t *testing.T) {
	f := newFixture(t, nil)
	r := f.get(t, "/api/v1/daemonlog", "file", "supervisor.log")
	if r.status != http.StatusOK || r.body != "supervisor started\n" {
		t.Errorf("daemon log: %d %q", r.status, r.body)
	}
	r = f.get(t, "/api/v1/daemondownload", "file", "supervisor.log")
	if r.status != http.StatusOK || r.body != "supervisor started\n" || !strings.Contains(r.header.Get("Content-Disposition"), `filename=supervisor.log`) {
		t.Errorf("daemon download: %d %q %v", r.status, r.body, r.header)
	}
	// Without a daemon log directory there are no daemon logs.
	g := newFixture(t, func(c *Config) { c.DaemonLogRoot = "" })
	g.get(t, "/api/v1/daemonlog", "file", "supervisor.log").stormError(t, http.StatusNotFound)
}

func TestDownload(t *testing.T) {
	f := newFixture(t, nil)
	r := f.get(t, "/api/v1/download", "file", "wc-1-1/6700/worker.log")
	if r.status != http.StatusOK || r.body != workerLog {
		t.Fatalf("download: %d %q", r.status, r.body)
	}
	if cd := r.header.Get("Content-Disposition"); cd != `attachment; filename=wc-1-1-6700-worker.log` {
		t.Errorf("Content-Disposition %q", cd)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/octet-stream" {
		t.Errorf("Content-Type %q", ct)
	}
	r = f.do(t, "/api/v1/download", http.Header{"Range": {"bytes=5-9"}}, "file", "wc-1-1/6700/worker.log")
	if r.status != http.StatusPartialContent || r.body != workerLog[5:10] {
		t.Errorf("range: %d %q, want 206 %q", r.status, r.body, workerLog[5:10])
	}
}

func TestListLogs(t *testing.T) {
	f := newFixture(t, nil)
	f.write(t, "logs/wc-1-1/6700/worker.log.1", "old\n")
	f.write(t, "logs/notaport/x/worker.log", "x\n") // not a slot: left out
	tests := []struct {
		params []string
		want   []string
	}{
		{nil, []string{"other-2-2/6700/worker.log", "wc-1-1/6700/worker.log", "wc-1-1/6700/worker.log.1", "wc-1-1/6701/worker.log"}},
		{[]string{"topoId", "wc-1-1"}, []string{"wc-1-1/6700/worker.log", "wc-1-1/6700/worker.log.1", "wc-1-1/6701/worker.log"}},
		{[]string{"port", "6700"}, []string{"other-2-2/6700/worker.log", "wc-1-1/6700/worker.log", "wc-1-1/6700/worker.log.1"}},
		{[]string{"topoId", "wc-1-1", "port", "6701"}, []string{"wc-1-1/6701/worker.log"}},
		{[]string{"topoId", "nope-9-9"}, []string{}},
	}
	for _, tt := range tests {
		var got []string
		f.get(t, "/api/v1/listLogs", tt.params...).decode(t, &got)
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("listLogs %v = %v, want %v", tt.params, got, tt.want)
		}
	}
	f.get(t, "/api/v1/listLogs", "port", "x").stormError(t, http.StatusBadRequest)
	g := newFixture(t, func(c *Config) { c.MaxListEntries = 2 })
	var got []string
	r := g.get(t, "/api/v1/listLogs")
	r.decode(t, &got)
	if len(got) != 2 || r.header.Get("X-Log-Truncated") != "true" {
		t.Errorf("bounded listing: %v, header %q", got, r.header.Get("X-Log-Truncated"))
	}
}

func TestAuthorize(t *testing.T) {
	var asked []Access
	f := newFixture(t, func(c *Config) {
		c.Authorize = func(r *http.Request, a Access) error {
			asked = append(asked, a)
			switch {
			case r.Header.Get("X-User") == "":
				return fmt.Errorf("no user: %w", auth.ErrUnauthenticated)
			case a.Topology == "other-2-2":
				return errors.New("user alice may not read topology other-2-2")
			}
			return nil
		}
	})
	alice := http.Header{"X-User": {"alice"}}
	if r := f.do(t, "/api/v1/log", alice, "file", "wc-1-1/6700/worker.log"); r.status != http.StatusOK {
		t.Errorf("allowed read: %d %s", r.status, r.body)
	}
	if a := asked[len(asked)-1]; a != (Access{Op: OpRead, Topology: "wc-1-1", File: "wc-1-1/6700/worker.log"}) {
		t.Errorf("asked %+v", a)
	}
	msg := f.do(t, "/api/v1/download", alice, "file", "other-2-2/6700/worker.log").stormError(t, http.StatusForbidden)
	if !strings.Contains(msg, "may not read") {
		t.Errorf("refusal message %q does not say why", msg)
	}
	f.get(t, "/api/v1/log", "file", "wc-1-1/6700/worker.log").stormError(t, http.StatusUnauthorized)
	f.do(t, "/api/v1/search", alice, "file", "other-2-2/6700/worker.log", "search-string", "x").stormError(t, http.StatusForbidden)
	f.do(t, "/api/v1/deepSearch/other-2-2", alice, "search-string", "x").stormError(t, http.StatusForbidden)
	f.do(t, "/api/v1/follow", alice, "file", "other-2-2/6700/worker.log", "wait", "0").stormError(t, http.StatusForbidden)
	f.do(t, "/api/v1/listLogs", alice, "topoId", "other-2-2").stormError(t, http.StatusForbidden)
	var list []string
	f.do(t, "/api/v1/listLogs", alice).decode(t, &list)
	if strings.Contains(strings.Join(list, ","), "other-2-2") || len(list) != 2 {
		t.Errorf("listing shows %v, want only wc-1-1's", list)
	}
	if r := f.do(t, "/api/v1/daemonlog", alice, "file", "supervisor.log"); r.status != http.StatusOK {
		t.Errorf("daemon log: %d", r.status)
	}
	if a := asked[len(asked)-1]; a != (Access{Op: OpRead, File: "supervisor.log", Daemon: true}) {
		t.Errorf("asked %+v for a daemon log", a)
	}
	// Refused before reading: a missing file of a refused topology is 403,
	// not 404, so a refusal tells nothing of what exists.
	f.do(t, "/api/v1/log", alice, "file", "other-2-2/6700/nope.log").stormError(t, http.StatusForbidden)
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		field string
		edit  func(*Config)
	}{
		{"LogRoot", func(c *Config) { c.LogRoot = "" }},
		{"DefaultPageBytes", func(c *Config) { c.DefaultPageBytes = c.MaxPageBytes + 1 }},
		{"MaxSearchBytes", func(c *Config) { c.MaxSearchBytes = 0 }},
		{"MaxMatches", func(c *Config) { c.MaxMatches = 0 }},
		{"MaxSearches", func(c *Config) { c.MaxSearches = -1 }},
		{"MaxFollowers", func(c *Config) { c.MaxFollowers = 0 }},
		{"DefaultFollowWait", func(c *Config) { c.DefaultFollowWait = c.MaxFollowWait + 1 }},
		{"FollowPoll", func(c *Config) { c.FollowPoll = 0 }},
		{"MaxListEntries", func(c *Config) { c.MaxListEntries = 0 }},
		{"ShutdownTimeout", func(c *Config) { c.ShutdownTimeout = 0 }},
	}
	for _, tt := range tests {
		c := DefaultConfig()
		c.LogRoot = "/var/squall/logs"
		tt.edit(&c)
		if err := c.Validate(); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("Validate with a bad %s = %v, want ErrConfig naming it", tt.field, err)
		}
	}
	c := DefaultConfig()
	c.LogRoot = "/var/squall/logs"
	if err := c.Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
	if host, _, _ := strings.Cut(c.Addr, ":"); host != "127.0.0.1" {
		t.Errorf("default address %q is not loopback", c.Addr)
	}
}

// query builds an encoded query for the tests that need one by hand.
func query(kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Add(kv[i], kv[i+1])
	}
	return q.Encode()
}

// TestMetricsPath: /metrics is served only when configured.
func TestMetricsPath(t *testing.T) {
	f := newFixture(t, nil)
	f.do(t, "/metrics", nil).stormError(t, http.StatusNotFound)
	f = newFixture(t, func(c *Config) {
		c.Metrics = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("squall_supervisor_slots 4\n")) })
	})
	if r := f.do(t, "/metrics", nil); r.status != http.StatusOK || r.body != "squall_supervisor_slots 4\n" {
		t.Errorf("GET /metrics = %d %q", r.status, r.body)
	}
}
