package nimbus

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestUIMounted checks that nimbus serves the web UI beside the REST API
// on its HTTP port, and that the API keeps its own answers.
func TestUIMounted(t *testing.T) {
	t.Parallel()
	n, _ := memNimbus(t, withHTTP())
	base := "http://" + n.HTTPAddr()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tests := []struct {
		path        string
		status      int
		contentType string
		body        string // a part of the body
		location    string
	}{
		{"/", http.StatusOK, "text/html; charset=utf-8", "<script", ""},
		{"/assets/js/app.js", http.StatusOK, "text/javascript; charset=utf-8", "", ""},
		{"/assets/style.css", http.StatusOK, "text/css; charset=utf-8", "", ""},
		{"/topology.html?id=wc-1-2", http.StatusFound, "", "", "/#/topology/wc-1-2"},
		{"/no/such/page", http.StatusNotFound, "text/plain; charset=utf-8", "the UI starts at /", ""},
		// The API's paths stay the gateway's, JSON 404 included.
		{"/api/v1/cluster/summary", http.StatusOK, "application/json", `"supervisors"`, ""},
		{"/api/v1/no/such/route", http.StatusNotFound, "application/json", `"errorMessage"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, err := noRedirect.Get(base + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("GET %s: status %d, want %d: %s", tt.path, resp.StatusCode, tt.status, body)
			}
			if ct := resp.Header.Get("Content-Type"); tt.contentType != "" && ct != tt.contentType {
				t.Errorf("GET %s: Content-Type %q, want %q", tt.path, ct, tt.contentType)
			}
			if !strings.Contains(string(body), tt.body) {
				t.Errorf("GET %s: body lacks %q: %.200s", tt.path, tt.body, body)
			}
			if loc := resp.Header.Get("Location"); loc != tt.location {
				t.Errorf("GET %s: Location %q, want %q", tt.path, loc, tt.location)
			}
			if !strings.HasPrefix(tt.path, "/api/") && resp.Header.Get("Content-Security-Policy") == "" {
				t.Errorf("GET %s: no Content-Security-Policy", tt.path)
			}
		})
	}
}
