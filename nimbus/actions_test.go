package nimbus

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/auth"
)

// TestCallerPermissionsInPages: GET /api/v1/topology/{id} says whether the
// caller may operate the topology (topologyActionsAllowed, which the UI
// obeys) and who the caller is (user), as does the cluster summary; with
// authentication off everyone may, and ui.actions.enabled false says no
// over REST.
func TestCallerPermissionsInPages(t *testing.T) {
	t.Parallel()
	ts := makeTokens(t, "alice", "carol", "dave", "admin")
	n, mem := memNimbus(t, withHTTP(), withTokens(ts))
	addSupervisor(t, mem, nil, "a", 6700)
	ctx := t.Context()
	req := wordsRequest("words")
	req.Config = mustStruct(t, map[string]any{auth.KeyTopologyReadOnlyUsers: []any{"carol"}, auth.KeyTopologyUsers: []any{"dave"}})
	resp, err := clientAs(t, n, ts, "alice").SubmitTopology(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	id := resp.GetTopologyId()
	for _, c := range []struct {
		who     string
		allowed bool
	}{{"alice", true}, {"carol", false}, {"dave", true}, {"admin", true}} {
		var page struct {
			User                   string `json:"user"`
			TopologyActionsAllowed *bool  `json:"topologyActionsAllowed"`
		}
		restGet(t, n.HTTPAddr(), "/api/v1/topology/"+id, ts.tokens[c.who], &page)
		if page.User != c.who || page.TopologyActionsAllowed == nil || *page.TopologyActionsAllowed != c.allowed {
			t.Errorf("topology page as %s: user %q, topologyActionsAllowed %v; want %s, %v", c.who, page.User, page.TopologyActionsAllowed, c.who, c.allowed)
		}
		var sum struct {
			User string `json:"user"`
		}
		restGet(t, n.HTTPAddr(), "/api/v1/cluster/summary", ts.tokens[c.who], &sum)
		if sum.User != c.who {
			t.Errorf("cluster summary as %s: user %q", c.who, sum.User)
		}
	}
	got, err := clientAs(t, n, ts, "carol").GetTopology(ctx, &api.GetTopologyRequest{Id: id})
	if err != nil || got.GetTopologyActionsAllowed() || got.GetUser() != "carol" {
		t.Errorf("gRPC GetTopology as carol: allowed %v user %q, %v; want false carol", got.GetTopologyActionsAllowed(), got.GetUser(), err)
	}

	// Without authentication everyone may; read-only REST says no.
	for _, c := range []struct {
		actions bool
		want    bool
	}{{true, true}, {false, false}} {
		open, openMem := memNimbus(t, withHTTP(), func(cfg *Config) { cfg.Security.Policy.UIActionsEnabled = c.actions })
		addSupervisor(t, openMem, nil, "a", 6700)
		r, err := clientAs(t, open, tokenSet{}, "").SubmitTopology(ctx, wordsRequest("words"))
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			User                   string `json:"user"`
			TopologyActionsAllowed *bool  `json:"topologyActionsAllowed"`
		}
		restGet(t, open.HTTPAddr(), "/api/v1/topology/"+r.GetTopologyId(), "", &page)
		if page.TopologyActionsAllowed == nil || *page.TopologyActionsAllowed != c.want || page.User != "" {
			t.Errorf("open cluster (ui.actions.enabled %v): topologyActionsAllowed %v user %q, want %v and no user", c.actions, page.TopologyActionsAllowed, page.User, c.want)
		}
	}
}

// restGet GETs path with token ("" for none) and decodes the answer.
func restGet(t *testing.T, addr, path, token string, into any) {
	t.Helper()
	r, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, res.StatusCode, body)
	}
	if err := json.Unmarshal(body, into); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, body)
	}
}
