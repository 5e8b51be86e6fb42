package nimbus

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/logviewer"
)

// startLogviewer serves a real logviewer over a logs directory holding
// files (name -> content) and returns its address.
func startLogviewer(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := logviewer.DefaultConfig()
	cfg.LogRoot = root
	h, err := logviewer.NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// TestLogProxy reads workers' logs through nimbus: from a supervisor that
// advertises its logviewer's address and from one reached on its host
// and logviewer.port; and refuses what is not a worker log of a live
// supervisor's host.
func TestLogProxy(t *testing.T) {
	t.Parallel()
	log := "time=2026-12-06T11:45:00Z level=INFO msg=a task=7 line=seven\ntime=2026-12-06T11:45:01Z level=INFO msg=b task=70 line=seventy\n"
	advertised := startLogviewer(t, map[string]string{"wc-1-1/6700/worker.log": log})
	byPort := startLogviewer(t, map[string]string{"wc-1-1/6701/worker.log": "on the second node\n"})
	_, port, _ := net.SplitHostPort(byPort)
	p, _ := strconv.Atoi(port)
	n, mem := memNimbus(t, withHTTP(), withConf("logviewer.port", p))
	sess := mem.Session()
	t.Cleanup(func() { sess.Close() })
	now := time.Now()
	for _, s := range []cluster.SupervisorInfo{
		{ID: "a", Host: "host-a", Ports: []int{6700}, StartTime: now, Time: now, Address: advertised},
		{ID: "b", Host: "127.0.0.1", Ports: []int{6701}, StartTime: now, Time: now},
	} {
		if err := sess.RegisterSupervisor(t.Context(), s); err != nil {
			t.Fatal(err)
		}
	}
	base := "http://" + n.HTTPAddr()
	logURL := func(kv ...string) string {
		q := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			q.Set(kv[i], kv[i+1])
		}
		return LogProxyPath + "log?" + q.Encode()
	}
	tests := []struct {
		name   string
		method string
		path   string
		status int
		body   string // the whole body for 200, a part of the error message otherwise
		start  string // X-Log-Start
	}{
		{"the last page", "GET", logURL("host", "host-a", "file", "wc-1-1/6700/worker.log"), 200, log, "0"},
		{"a range", "GET", logURL("host", "host-a", "file", "wc-1-1/6700/worker.log", "start", "5", "length", "4"), 200, log[5:9], "5"},
		{"a task's lines", "GET", logURL("host", "host-a", "file", "wc-1-1/6700/worker.log", "task", "7"), 200, strings.SplitAfter(log, "\n")[0], "0"},
		{"host and logviewer.port", "GET", logURL("host", "127.0.0.1", "file", "wc-1-1/6701/worker.log"), 200, "on the second node\n", "0"},
		{"no host", "GET", logURL("file", "wc-1-1/6700/worker.log"), 400, "host", ""},
		{"not a supervisor's host", "GET", logURL("host", "evil.example", "file", "wc-1-1/6700/worker.log"), 404, "evil.example", ""},
		{"parent directory", "GET", logURL("host", "host-a", "file", "../../etc/passwd"), 400, "file", ""},
		{"dot-dot inside", "GET", logURL("host", "host-a", "file", "wc-1-1/../../passwd"), 400, "file", ""},
		{"absolute path", "GET", logURL("host", "host-a", "file", "/etc/passwd"), 400, "file", ""},
		{"not a worker log", "GET", logURL("host", "host-a", "file", "supervisor.log"), 400, "file", ""},
		{"too long a page", "GET", logURL("host", "host-a", "file", "wc-1-1/6700/worker.log", "length", "20000000"), 400, "length", ""},
		{"negative start", "GET", logURL("host", "host-a", "file", "wc-1-1/6700/worker.log", "start", "-1"), 400, "start", ""},
		{"no such log", "GET", logURL("host", "host-a", "file", "wc-1-1/6799/worker.log"), 404, "", ""},
		{"another endpoint", "GET", LogProxyPath + "download?host=host-a&file=wc-1-1/6700/worker.log", 404, "log proxy", ""},
		{"a write", "POST", logURL("host", "host-a", "file", "wc-1-1/6700/worker.log"), 405, "POST", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tt.method, base+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Accept", "text/plain")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			data, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("%s %s: status %d, want %d: %s", tt.method, tt.path, resp.StatusCode, tt.status, data)
			}
			if tt.status == 200 {
				if string(data) != tt.body || resp.Header.Get("X-Log-Start") != tt.start ||
					resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" || resp.Header.Get("X-Log-File-Length") == "" {
					t.Errorf("%s: %q with %v, want %q from %s", tt.path, data, resp.Header, tt.body, tt.start)
				}
				return
			}
			if !strings.Contains(string(data), tt.body) || !strings.Contains(string(data), "errorMessage") {
				t.Errorf("%s: error body %s, want Storm's naming %q", tt.path, data, tt.body)
			}
		})
	}
}
