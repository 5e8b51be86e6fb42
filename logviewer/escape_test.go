package logviewer

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestPathEscapes asks every path of the logviewer for files outside the
// log directory, or inside it by a way that crosses topologies, and
// checks that none answers with them.
func TestPathEscapes(t *testing.T) {
	f := newFixture(t, nil)
	// Links a worker could plant in its own log directory.
	must(t, os.Symlink(filepath.Join(f.base, "secret.txt"), filepath.Join(f.logs, "wc-1-1/6700/out.log")))
	must(t, os.Symlink("../../other-2-2/6700/worker.log", filepath.Join(f.logs, "wc-1-1/6700/cross.log")))
	must(t, os.Symlink(filepath.Join(f.logs, "other-2-2/6700"), filepath.Join(f.logs, "wc-1-1/6702")))
	must(t, os.Symlink(f.base, filepath.Join(f.logs, "wc-1-1/6703")))
	must(t, os.Symlink(filepath.Join(f.base, "secret.txt"), filepath.Join(f.daemon, "link.log")))
	must(t, syscall.Mkfifo(filepath.Join(f.logs, "wc-1-1/6700/fifo.log"), 0o644))
	must(t, os.Symlink("other-2-2", filepath.Join(f.logs, "linked-3-3")))

	workerNames := []string{
		"../secret.txt",
		"../../secret.txt",
		"/etc/passwd",
		filepath.Join(f.base, "secret.txt"),
		"wc-1-1/6700/../../../secret.txt",
		"wc-1-1/6700/../../other-2-2/6700/worker.log",
		"wc-1-1/../other-2-2/6700/worker.log",
		"wc-1-1/6700/worker.log/..",
		"./wc-1-1/6700/worker.log",
		"wc-1-1//6700/worker.log",
		"wc-1-1/6700/./worker.log",
		"wc-1-1\\6700\\worker.log",
		"wc-1-1/6700/worker.log\x00.txt",
		"wc-1-1/6700",
		"wc-1-1/6700/",
		"wc-1-1/abc/worker.log",
		"wc-1-1/06700/worker.log",
		"..",
		"",
		strings.Repeat("a/", 600) + "worker.log",
		"wc-1-1/6700/out.log",
		"wc-1-1/6700/cross.log",
		"wc-1-1/6702/worker.log",
		"wc-1-1/6703/secret.txt",
		"wc-1-1/6700/fifo.log",
		"wc-1-1/6700/missing.log",
		"linked-3-3/6700/worker.log",
	}
	daemonNames := []string{
		"../secret.txt",
		"../logs/wc-1-1/6700/worker.log",
		"/etc/passwd",
		"sub/supervisor.log",
		"link.log",
		".",
	}
	type ask struct {
		path, param string
		extra       []string
	}
	worker := []ask{
		{"/api/v1/log", "file", nil},
		{"/api/v1/download", "file", nil},
		{"/api/v1/search", "file", []string{"search-string", "SECRET"}},
		{"/api/v1/follow", "file", []string{"offset", "0", "wait", "0"}},
	}
	daemon := []ask{
		{"/api/v1/daemonlog", "file", nil},
		{"/api/v1/daemondownload", "file", nil},
		{"/api/v1/search", "file", []string{"search-string", "SECRET", "is-daemon", "yes"}},
	}
	check := func(a ask, name string) {
		t.Helper()
		r := f.get(t, a.path, append([]string{a.param, name}, a.extra...)...)
		if r.status != http.StatusBadRequest && r.status != http.StatusNotFound {
			t.Errorf("%s?%s=%q: status %d, want 400 or 404: %.200s", a.path, a.param, name, r.status, r.body)
		}
		if strings.Contains(r.body, secret) || strings.Contains(r.body, "root:") {
			t.Errorf("%s?%s=%q leaked: %.200s", a.path, a.param, name, r.body)
		}
	}
	for _, a := range worker {
		for _, name := range workerNames {
			check(a, name)
		}
	}
	for _, a := range daemon {
		for _, name := range daemonNames {
			check(a, name)
		}
	}

	// The topology of deep searches and listings is one name.
	for _, topo := range []string{"..", "../logs", "wc-1-1/6700", ".", "a\\b"} {
		r := f.get(t, "/api/v1/deepSearch/"+strings.ReplaceAll(topo, "/", "%2F"), "search-string", "SECRET")
		if r.status == http.StatusOK && strings.Contains(r.body, secret) || strings.Contains(r.body, secret) {
			t.Errorf("deepSearch/%q leaked: %.200s", topo, r.body)
		}
		r = f.get(t, "/api/v1/listLogs", "topoId", topo)
		if r.status != http.StatusBadRequest && r.status != http.StatusNotFound {
			t.Errorf("listLogs?topoId=%q: status %d, want 400: %s", topo, r.status, r.body)
		}
	}
	// Deep searches and listings do not follow links either.
	r := f.get(t, "/api/v1/deepSearch/wc-1-1", "search-string", "SECRET", "search-archived", "true")
	if strings.Contains(r.body, secret) || strings.Contains(r.body, "6702") || strings.Contains(r.body, "6703") {
		t.Errorf("deep search followed a link: %s", r.body)
	}
	r = f.get(t, "/api/v1/deepSearch/linked-3-3", "search-string", "SECRET")
	if strings.Contains(r.body, secret) {
		t.Errorf("deep search through a linked topology directory leaked: %s", r.body)
	}
	if r = f.get(t, "/api/v1/listLogs", "topoId", "linked-3-3"); r.body != "[]\n" {
		t.Errorf("listing of a linked topology directory: %s", r.body)
	}
	if r = f.get(t, "/api/v1/listLogs"); strings.Contains(r.body, "linked-3-3") {
		t.Errorf("listing shows a linked topology directory: %s", r.body)
	}
	r = f.get(t, "/api/v1/listLogs", "topoId", "wc-1-1")
	if strings.Contains(r.body, "out.log") || strings.Contains(r.body, "6702") || strings.Contains(r.body, "fifo") {
		t.Errorf("listing shows links or FIFOs: %s", r.body)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// FuzzWorkerPath: whatever name a request gives, what passes the check is
// a plain relative path of three names, which the root then confines.
func FuzzWorkerPath(f *testing.F) {
	for _, s := range []string{"wc/6700/worker.log", "../x", "a/1/..", "a/1/b\x00", "a//1/b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		topo, err := workerPath(name)
		if err != nil {
			return
		}
		if !filepath.IsLocal(name) || filepath.Clean(name) != name || strings.Count(name, "/") != 2 || topo != strings.Split(name, "/")[0] {
			t.Fatalf("workerPath accepted %q", name)
		}
		for _, part := range strings.Split(name, "/") {
			if part == ".." || part == "." {
				t.Fatalf("workerPath accepted %q", name)
			}
		}
	})
}
