package logviewer

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/squallstream/squall/auth"
)

// tokens writes a token file for the principals and returns their tokens.
func tokens(t *testing.T, names ...string) (*auth.TokenStore, map[string]string) {
	t.Helper()
	out := map[string]string{}
	var lines []string
	for _, n := range names {
		tok, err := auth.NewToken()
		if err != nil {
			t.Fatal(err)
		}
		line, err := auth.TokenLine(tok, n, nil)
		if err != nil {
			t.Fatal(err)
		}
		out[n], lines = tok, append(lines, line)
	}
	path := filepath.Join(t.TempDir(), "tokens")
	must(t, os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600))
	store, err := auth.LoadTokens(path)
	if err != nil {
		t.Fatal(err)
	}
	return store, out
}

// TestAuthorizeWith checks the logviewer's authorization against the
// security layer's: bearer tokens, topology ACLs, admins.
func TestAuthorizeWith(t *testing.T) {
	store, tok := tokens(t, "alice", "bob", "root")
	pol := auth.Policy{Enforce: true, Admins: []string{"root"}, UIActionsEnabled: true}
	acls := func(_ context.Context, topology string) (auth.TopologyACL, error) {
		switch topology {
		case "wc-1-1":
			return auth.TopologyACL{ID: topology, Owner: "alice", ReadOnlyUsers: []string{"bob"}}, nil
		case "other-2-2":
			return auth.TopologyACL{ID: topology, Owner: "carol"}, nil
		}
		return auth.TopologyACL{}, fmt.Errorf("%s: %w", topology, auth.ErrUnknownTopology)
	}
	f := newFixture(t, func(c *Config) {
		c.Authorize = AuthorizeWith(auth.NewAuthenticator(store, false, pol), pol, acls)
		c.Metrics = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "squall_supervisor_slots 4\n") })
	})
	f.write(t, "logs/gone-3-3/6700/worker.log", "a killed topology's log\n")
	as := func(who string) http.Header {
		if who == "" {
			return nil
		}
		return http.Header{"Authorization": {"Bearer " + tok[who]}}
	}
	tests := []struct {
		who, path string
		params    []string
		status    int
	}{
		{"", "/api/v1/log", []string{"file", "wc-1-1/6700/worker.log"}, http.StatusUnauthorized},
		{"alice", "/api/v1/log", []string{"file", "wc-1-1/6700/worker.log"}, http.StatusOK},
		{"bob", "/api/v1/download", []string{"file", "wc-1-1/6700/worker.log"}, http.StatusOK},
		{"alice", "/api/v1/log", []string{"file", "other-2-2/6700/worker.log"}, http.StatusForbidden},
		{"alice", "/api/v1/log", []string{"file", "gone-3-3/6700/worker.log"}, http.StatusForbidden},
		{"alice", "/api/v1/daemonlog", []string{"file", "supervisor.log"}, http.StatusForbidden},
		{"alice", "/api/v1/deepSearch/other-2-2", []string{"search-string", "x"}, http.StatusForbidden},
		{"root", "/api/v1/log", []string{"file", "other-2-2/6700/worker.log"}, http.StatusOK},
		{"root", "/api/v1/log", []string{"file", "gone-3-3/6700/worker.log"}, http.StatusOK},
		{"root", "/api/v1/daemonlog", []string{"file", "supervisor.log"}, http.StatusOK},
		{"", "/metrics", nil, http.StatusUnauthorized},
		{"bob", "/metrics", nil, http.StatusOK}, // any authenticated caller
	}
	for _, tt := range tests {
		r := f.do(t, tt.path, as(tt.who), tt.params...)
		if r.status != tt.status {
			t.Errorf("%s as %q: status %d, want %d: %s", tt.path, tt.who, r.status, tt.status, r.body)
		}
		if tt.status == http.StatusUnauthorized && r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("401 without WWW-Authenticate")
		}
	}
	bad := f.do(t, "/api/v1/log", http.Header{"Authorization": {"Bearer sqt_nope"}}, "file", "wc-1-1/6700/worker.log")
	bad.stormError(t, http.StatusUnauthorized)

	var list []string
	f.do(t, "/api/v1/listLogs", as("alice")).decode(t, &list)
	if strings.Join(list, ",") != "wc-1-1/6700/worker.log,wc-1-1/6701/worker.log" {
		t.Errorf("alice lists %v, want wc-1-1's logs only", list)
	}
	f.do(t, "/api/v1/listLogs", as("root")).decode(t, &list)
	if len(list) != 4 {
		t.Errorf("root lists %v, want every log", list)
	}
}

func TestAuthorizeWithAuthenticationOff(t *testing.T) {
	pol := auth.Policy{UIActionsEnabled: true}
	unknown := func(context.Context, string) (auth.TopologyACL, error) {
		return auth.TopologyACL{}, auth.ErrUnknownTopology
	}
	f := newFixture(t, func(c *Config) { c.Authorize = AuthorizeWith(auth.NewAuthenticator(nil, false, pol), pol, unknown) })
	for _, path := range [][]string{{"/api/v1/log", "file", "other-2-2/6700/worker.log"}, {"/api/v1/daemonlog", "file", "supervisor.log"}} {
		if r := f.get(t, path[0], path[1:]...); r.status != http.StatusOK {
			t.Errorf("%s with authentication off: %d %s", path[0], r.status, r.body)
		}
	}
}
