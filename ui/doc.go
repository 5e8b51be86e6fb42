// Package ui is squall's web UI: HTML, CSS and JavaScript embedded in the
// binary (no CDN, no framework: it works on an air-gapped cluster), and the
// http.Handler that serves them. nimbus mounts the handler at "/" beside
// the REST API under "/api/"; the pages are built only on that REST API, in
// the browser, so everything they show a script can read too.
//
// The handler serves the single page (index.html) at "/", its assets under
// "/assets/", and redirects Storm UI addresses (topology.html?id=…) to the
// matching page, so that bookmarks and links made for Storm keep working.
// docs/ui.md describes the pages and how nimbus mounts the handler.
package ui
