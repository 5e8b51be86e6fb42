package supervisor

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/squallstream/squall/auth"
	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/internal/layout"
	"github.com/squallstream/squall/internal/testenv"
	"github.com/squallstream/squall/logviewer"
)

// TestLogViewer: a supervisor with a logviewer publishes its address in
// its registration and serves the node's logs and /metrics there.
func TestLogViewer(t *testing.T) {
	h := newHarness(t)
	ts := h.startSupervisor(t.TempDir(), []int{6700, 6701}, func(c *Config) {
		lv := logviewer.DefaultConfig()
		lv.Addr = "127.0.0.1:0"
		c.LogViewer = &lv
	})
	addr := ts.LogViewerAddr()
	if addr == "" {
		t.Fatal("no logviewer address")
	}
	testenv.WaitUntil(t, testWaitDeadline, "the registration with the logviewer's address", func() bool {
		info, err := h.admin.GetSupervisor(t.Context(), ts.NodeID())
		return err == nil && info.Address == addr
	})
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	if m := families["squall_supervisor_slots"].GetMetric(); len(m) != 1 || m[0].GetGauge().GetValue() != 2 {
		t.Errorf("squall_supervisor_slots = %v, want 2", m)
	}
	resp, err = http.Get("http://" + addr + "/api/v1/listLogs")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var logs []string
	if err := json.NewDecoder(resp.Body).Decode(&logs); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("listLogs: %d, %v", resp.StatusCode, err)
	}
}

// TestLogViewerAuth: with LogViewerAuth, the node's logviewer answers a
// topology's logs to its owner, its topology.users/readonly users (from
// the cluster state) and admins only, /metrics to anyone authenticated,
// nothing without credentials.
func TestLogViewerAuth(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	var lines []string
	tokens := map[string]string{}
	for _, who := range []string{"alice", "bob", "carol", "admin"} {
		tok, err := auth.NewToken()
		if err != nil {
			t.Fatal(err)
		}
		line, err := auth.TokenLine(tok, who, nil)
		if err != nil {
			t.Fatal(err)
		}
		tokens[who], lines = tok, append(lines, line)
	}
	tokensFile := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokensFile, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	store, err := auth.LoadTokens(tokensFile)
	if err != nil {
		t.Fatal(err)
	}
	pol := auth.Policy{Admins: []string{"admin"}, UIActionsEnabled: true}
	local := filepath.Join(dir, "local")
	ts := h.startSupervisor(local, []int{6700}, func(c *Config) {
		lv := logviewer.DefaultConfig()
		lv.Addr = "127.0.0.1:0"
		c.LogViewer = &lv
		c.LogViewerAuth = &LogViewerAuth{Authenticator: auth.NewAuthenticator(store, false, pol), Policy: pol}
	})
	h.owner = "alice"
	h.submit("wc-1-1", map[string]string{"a.py": "\n"}, nil)
	rec, err := h.admin.GetTopology(t.Context(), "wc-1-1")
	if err != nil {
		t.Fatal(err)
	}
	rec.Viewers = &cluster.Viewers{ReadOnlyUsers: []string{"carol"}}
	if _, err := h.admin.SetTopology(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	logFile := layout.WorkerLog(local, "wc-1-1", 6700)
	if err := os.MkdirAll(filepath.Dir(logFile), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(logFile, []byte("a line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	get := func(who, path string) int {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+ts.LogViewerAddr()+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if who != "" {
			req.Header.Set("Authorization", "Bearer "+tokens[who])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tt := range []struct {
		who, path string
		want      int
	}{
		{"", "/api/v1/log?file=wc-1-1/6700/worker.log", http.StatusUnauthorized},
		{"alice", "/api/v1/log?file=wc-1-1/6700/worker.log", http.StatusOK},
		{"carol", "/api/v1/log?file=wc-1-1/6700/worker.log", http.StatusOK},
		{"bob", "/api/v1/log?file=wc-1-1/6700/worker.log", http.StatusForbidden},
		{"admin", "/api/v1/log?file=wc-1-1/6700/worker.log", http.StatusOK},
		{"", "/metrics", http.StatusUnauthorized},
		{"bob", "/metrics", http.StatusOK},
	} {
		if got := get(tt.who, tt.path); got != tt.want {
			t.Errorf("GET %s as %q = %d, want %d", tt.path, tt.who, got, tt.want)
		}
	}
}
