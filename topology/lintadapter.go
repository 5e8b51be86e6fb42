package topology

import (
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// An adapter load that needs the file beside the script: storm-starter's
// Node and Ruby scripts load Storm's adapter as require('./storm') and
// require "./storm", and a Storm jar holds storm.js and storm.rb beside
// them. squall puts its own adapters on the interpreters' paths, which
// serve require('storm') and require 'storm', not these.
var besideAdapterLoads = []struct {
	exts []string // of the scripts that load it so
	re   *regexp.Regexp
	// file is the adapter's file name; fromScript says whether it is
	// looked for beside the script (else in the working directory, the
	// resources directory).
	file       string
	fromScript bool
	// byName is how to load squall's adapter instead.
	byName string
}{
	{[]string{".js", ".cjs"}, regexp.MustCompile(`require\(\s*['"]\./storm(\.js)?['"]\s*\)`), "storm.js", true, "require('storm')"},
	{[]string{".rb"}, regexp.MustCompile(`require\s*\(?\s*['"]\./storm(\.rb)?['"]`), "storm.rb", false, "require 'storm'"},
	{[]string{".rb"}, regexp.MustCompile(`require_relative\s*\(?\s*['"](\./)?storm(\.rb)?['"]`), "storm.rb", true, "require 'storm'"},
}

// maxAdapterScan bounds how much of a script is searched for an adapter
// load: they come first.
const maxAdapterScan = 64 << 10

// adapterBeside reports a script that loads Storm's adapter from beside
// it when the adapter is not there: the child would die at its first line.
func (l *linter) adapterBeside(id string, at pos, script string) {
	if l.opts.Resources == nil || filepath.IsAbs(script) {
		return
	}
	rel := path.Clean(filepath.ToSlash(script))
	f, err := l.opts.Resources.Open(rel)
	if err != nil {
		return // resource reports it
	}
	head, err := io.ReadAll(io.LimitReader(f, maxAdapterScan))
	f.Close()
	if err != nil {
		return
	}
	ext := strings.ToLower(path.Ext(rel))
	for _, load := range besideAdapterLoads {
		if !slices.Contains(load.exts, ext) {
			continue
		}
		m := load.re.Find(head)
		if m == nil {
			continue
		}
		want := load.file
		if load.fromScript {
			want = path.Join(path.Dir(rel), load.file)
		}
		if _, err := fs.Stat(l.opts.Resources, want); err == nil {
			continue
		}
		l.add(SeverityError, at, id, fmt.Errorf("%w: script %q loads Storm's adapter from beside it (%s), and the resources directory has no %s: "+
			"copy Storm's or squall's %s there (squall new --adapters-only DIR writes squall's under DIR/.squall), "+
			"or load squall's by name, %s: the workers put it on the interpreter's path",
			ErrMissingResource, script, m, want, load.file, load.byName))
	}
}
