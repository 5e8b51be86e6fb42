package ui

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func serve(t *testing.T, method, target string, header http.Header) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, vs := range header {
		req.Header[k] = vs
	}
	rec := httptest.NewRecorder()
	New().ServeHTTP(rec, req)
	return rec.Result()
}

func TestHandlerServesAssets(t *testing.T) {
	tests := []struct {
		method, target string
		status         int
		contentType    string
		bodyHas        string
	}{
		{"GET", "/", http.StatusOK, "text/html; charset=utf-8", `<script type="module" src="/assets/js/app.js">`},
		{"HEAD", "/", http.StatusOK, "text/html; charset=utf-8", ""},
		{"GET", "/assets/js/app.js", http.StatusOK, "text/javascript; charset=utf-8", "refreshNow"},
		{"GET", "/assets/style.css", http.StatusOK, "text/css; charset=utf-8", ":root"},
		{"GET", "/assets/favicon.svg", http.StatusOK, "image/svg+xml", "<svg"},
		{"GET", "/assets/index.html", http.StatusNotFound, "", ""},
		{"GET", "/assets/nope.js", http.StatusNotFound, "", "the UI starts at /"},
		{"GET", "/assets/../handler.go", http.StatusNotFound, "", ""},
		{"POST", "/", http.StatusMethodNotAllowed, "", "POST is not allowed on /"},
		{"DELETE", "/assets/js/app.js", http.StatusMethodNotAllowed, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			resp := serve(t, tt.method, tt.target, nil)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("%s %s = %d, want %d: %s", tt.method, tt.target, resp.StatusCode, tt.status, body)
			}
			if tt.contentType != "" && resp.Header.Get("Content-Type") != tt.contentType {
				t.Errorf("Content-Type = %q, want %q", resp.Header.Get("Content-Type"), tt.contentType)
			}
			if !strings.Contains(string(body), tt.bodyHas) {
				t.Errorf("body lacks %q:\n%.300s", tt.bodyHas, body)
			}
			// Every answer, errors included, carries the security headers.
			for k, v := range securityHeaders {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if resp.StatusCode == http.StatusMethodNotAllowed && resp.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow = %q", resp.Header.Get("Allow"))
			}
		})
	}
}

func TestHandlerRevalidates(t *testing.T) {
	first := serve(t, "GET", "/assets/js/app.js", nil)
	etag := first.Header.Get("ETag")
	if etag == "" || first.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("ETag %q, Cache-Control %q: want an ETag and no-cache", etag, first.Header.Get("Cache-Control"))
	}
	again := serve(t, "GET", "/assets/js/app.js", http.Header{"If-None-Match": {etag}})
	if again.StatusCode != http.StatusNotModified {
		t.Errorf("GET with If-None-Match = %d, want 304", again.StatusCode)
	}
	other := serve(t, "GET", "/assets/style.css", nil).Header.Get("ETag")
	if other == etag {
		t.Errorf("two assets share the ETag %s", etag)
	}
}

func TestStormAddressesRedirect(t *testing.T) {
	tests := []struct{ target, location string }{
		{"/index.html", "/"},
		{"/topology.html?id=wc-1-1700000000", "/#/topology/wc-1-1700000000"},
		{"/topology.html?id=word%20count-1-2", "/#/topology/word%20count-1-2"},
		{"/component.html?id=a%2Fb&topology_id=wc-1-2", "/#/topology/wc-1-2/component/a%2Fb"},
		{"/component.html?id=x%3Fy%23z&topology_id=wc-1-2", "/#/topology/wc-1-2/component/x%3Fy%23z"},
		{"/visualize.html?id=wc-1-2", "/#/topology/wc-1-2"},
		{"/logviewer.html?file=wc-1-2%2F6700%2Fworker.log", "/#/logs?file=wc-1-2%2F6700%2Fworker.log"},
		{"/supervisor.html?host=h", "/"},
		{"/owner.html?id=alice", "/"},
	}
	for _, tt := range tests {
		resp := serve(t, "GET", tt.target, nil)
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != tt.location {
			t.Errorf("GET %s = %d Location %q, want 302 %q", tt.target, resp.StatusCode, resp.Header.Get("Location"), tt.location)
		}
	}
	// Without the id the page has no counterpart: not found, no redirect.
	if resp := serve(t, "GET", "/topology.html", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /topology.html = %d, want 404", resp.StatusCode)
	}
}

// FuzzStormRedirect checks that whatever a Storm address carries, the
// redirect stays on this origin and the ids round-trip.
func FuzzStormRedirect(f *testing.F) {
	for _, s := range []string{"wc-1-2", "a/b", "x?y#z", "../../etc", "//evil.example", "\r\nSet-Cookie: a=b", "é"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, id, topo string) {
		u := &url.URL{Path: "/component.html", RawQuery: url.Values{"id": {id}, "topology_id": {topo}}.Encode()}
		loc, ok := stormRedirect(u)
		if id == "" || topo == "" {
			return
		}
		if !ok || !strings.HasPrefix(loc, "/#/topology/") {
			t.Fatalf("stormRedirect(%q, %q) = %q, %v: want /#/topology/…", id, topo, loc, ok)
		}
		if strings.ContainsAny(loc, "\r\n\x00 ") {
			t.Fatalf("stormRedirect(%q, %q) = %q: unescaped control character or space", id, topo, loc)
		}
		segs := strings.Split(strings.TrimPrefix(loc, "/#/"), "/")
		if len(segs) != 4 {
			t.Fatalf("stormRedirect(%q, %q) = %q: want 4 segments", id, topo, loc)
		}
		gotTopo, err1 := url.PathUnescape(segs[1])
		gotID, err2 := url.PathUnescape(segs[3])
		if err1 != nil || err2 != nil || gotTopo != topo || gotID != id {
			t.Fatalf("stormRedirect(%q, %q) = %q: decodes to %q, %q", id, topo, loc, gotTopo, gotID)
		}
	})
}

// Every file index.html and the modules name is embedded, and every
// embedded script is reached: nothing is missing or dead.
func TestAssetsReferenced(t *testing.T) {
	h := New()
	index := string(h.files["/"].data)
	refs := regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`).FindAllStringSubmatch(index, -1)
	reached := map[string]bool{}
	var walk func(path string)
	walk = func(path string) {
		if reached[path] {
			return
		}
		a, ok := h.files[path]
		if !ok {
			t.Errorf("%s is referenced but not embedded", path)
			return
		}
		reached[path] = true
		if strings.HasSuffix(path, ".js") {
			for _, m := range regexp.MustCompile(`(?m)^(?:import|export)\b[^'"]*from '(\.[^']+)'`).FindAllStringSubmatch(string(a.data), -1) {
				walk(filepath.Join(filepath.Dir(path), m[1]))
			}
		}
	}
	for _, r := range refs {
		walk(r[1])
	}
	for path := range h.files {
		if path != "/" && !reached[path] {
			t.Errorf("%s is embedded but nothing loads it", path)
		}
	}
}

// The pure JavaScript (layout, tar, formatting) has unit tests for node's
// test runner in testdata/js.
func TestJavaScript(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("node is required for the UI's JavaScript tests: %v", err)
		}
		t.Skipf("node not found: %v", err)
	}
	files, _ := filepath.Glob("testdata/js/*.test.mjs")
	if len(files) == 0 {
		t.Fatal("no JavaScript tests in testdata/js")
	}
	cmd := exec.CommandContext(t.Context(), node, append([]string{"--test"}, files...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "# fail 0") {
		t.Fatalf("node --test did not report its results:\n%s", out)
	}
}
