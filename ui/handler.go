package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"time"
)

//go:embed assets
var assets embed.FS

// Handler serves the web UI. Build it with New; it is safe for concurrent
// use.
type Handler struct {
	files map[string]asset // by URL path: "/" and "/assets/…"
}

type asset struct {
	data        []byte
	etag        string
	contentType string
}

// contentTypes are the assets' types, fixed here rather than taken from
// the system's MIME tables: browsers run modules only with a JavaScript type.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
}

// securityHeaders go on every answer. The content security policy allows
// only the UI's own scripts, styles and API: no inline script, no
// third-party origin, no framing.
var securityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'self'; font-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'",
	"X-Content-Type-Options": "nosniff",
	"X-Frame-Options":        "DENY",
	"Referrer-Policy":        "no-referrer",
}

// New returns the UI handler, its assets read and hashed once.
func New() *Handler {
	h := &Handler{files: make(map[string]asset)}
	err := fs.WalkDir(assets, "assets", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := assets.ReadFile(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		ctype, ok := contentTypes[path.Ext(name)]
		if !ok {
			ctype = http.DetectContentType(data)
		}
		urlPath := "/" + name
		if name == "assets/index.html" {
			urlPath = "/"
		}
		h.files[urlPath] = asset{data: data, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, contentType: ctype}
		return nil
	})
	if err != nil {
		// The assets are compiled in: failing to read them is a build bug.
		panic(fmt.Sprintf("ui: read embedded assets: %v", err))
	}
	return h
}

// ServeHTTP serves one request for the UI.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for k, v := range securityHeaders {
		w.Header().Set(k, v)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, fmt.Sprintf("%s is not allowed on %s", r.Method, r.URL.Path), http.StatusMethodNotAllowed)
		return
	}
	if target, ok := stormRedirect(r.URL); ok {
		http.Redirect(w, r, target, http.StatusFound)
		return
	}
	a, ok := h.files[r.URL.Path]
	if !ok {
		http.Error(w, fmt.Sprintf("no page at %s: the UI starts at /", r.URL.Path), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", a.contentType)
	// Revalidate every time: the asset names carry no version, and a
	// conditional request costs a 304 only.
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("ETag", a.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.data))
}

// stormRedirect maps the addresses of Storm's UI pages to the UI's own:
// /topology.html?id=X is /#/topology/X, and so on.
func stormRedirect(u *url.URL) (string, bool) {
	q := u.Query()
	switch u.Path {
	case "/index.html":
		return "/", true
	case "/topology.html":
		if id := q.Get("id"); id != "" {
			return "/#/topology/" + fragmentEscape(id), true
		}
	case "/component.html":
		if id, topo := q.Get("id"), q.Get("topology_id"); id != "" && topo != "" {
			return "/#/topology/" + fragmentEscape(topo) + "/component/" + fragmentEscape(id), true
		}
	case "/logviewer.html":
		// Storm's links carry the logviewer's own address; the file is
		// enough to find the log through nimbus.
		if file := q.Get("file"); file != "" {
			return "/#/logs?file=" + url.QueryEscape(file), true
		}
	case "/visualize.html":
		if id := q.Get("id"); id != "" {
			return "/#/topology/" + fragmentEscape(id), true
		}
	case "/supervisor.html", "/owner.html", "/flux.html", "/search_result.html", "/deep_search_result.html":
		// Pages the UI has no counterpart of yet: the cluster page lists
		// supervisors and owners.
		return "/", true
	}
	return "", false
}

// fragmentEscape escapes an id as one path segment of the UI's routes
// ("/", "?" and "#" included), which the UI decodes with
// decodeURIComponent.
func fragmentEscape(s string) string { return url.PathEscape(s) }
