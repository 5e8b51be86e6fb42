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
// them. When the file is not there, squall's adapters package serves the
// load with its own adapter, through a hook it preloads with the
// interpreter's start-up options, which an environment setting the same
// variable replaces.
var besideAdapterLoads = []struct {
	exts []string // of the scripts that load it so
	re   *regexp.Regexp
	// file is the adapter's file name; fromScript says whether it is
	// looked for beside the script (else in the working directory, the
	// resources directory).
	file       string
	fromScript bool
	// options is the variable that carries the hook; byName is how to
	// load squall's adapter without it.
	options, byName string
}{
	{[]string{".js", ".cjs"}, regexp.MustCompile(`require\(\s*['"]\./storm(\.js)?['"]\s*\)`), "storm.js", true, "NODE_OPTIONS", "require('storm')"},
	{[]string{".rb"}, regexp.MustCompile(`require\s*\(?\s*['"]\./storm(\.rb)?['"]`), "storm.rb", false, "RUBYOPT", "require 'storm'"},
	{[]string{".rb"}, regexp.MustCompile(`require_relative\s*\(?\s*['"](\./)?storm(\.rb)?['"]`), "storm.rb", true, "RUBYOPT", "require 'storm'"},
}

// maxAdapterScan bounds how much of a script is searched for an adapter
// load: they come first.
const maxAdapterScan = 64 << 10

// adapterBeside reports a script that loads Storm's adapter from beside
// it, when the adapter is not there and env, the variables the component's
// environment sets, replaces the hook that would serve the load: the child
// would die at its first line.
func (l *linter) adapterBeside(id string, at pos, script string, env []string) {
	if l.opts.Resources == nil || filepath.IsAbs(script) {
		return
	}
	rel := path.Clean(filepath.ToSlash(script))
	ext := strings.ToLower(path.Ext(rel))
	var head []byte
	for _, load := range besideAdapterLoads {
		if !slices.Contains(load.exts, ext) || !slices.Contains(env, load.options) {
			continue
		}
		if head == nil {
			var ok bool
			if head, ok = l.scriptHead(rel); !ok {
				return
			}
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
		l.add(SeverityError, at, id, fmt.Errorf("%w: script %q loads Storm's adapter from beside it (%s), and the resources directory has no %s; "+
			"squall serves such a load through %s, which the component's environment sets, replacing squall's: "+
			"copy Storm's or squall's %s there (squall new --adapters-only DIR writes squall's under DIR/.squall), "+
			"or load squall's by name, %s: the workers put it on the interpreter's path",
			ErrMissingResource, script, m, want, load.options, load.file, load.byName))
	}
}

// scriptHead reads the start of a script in the resources, where adapter
// loads are; false if it cannot (resource reports why).
func (l *linter) scriptHead(rel string) ([]byte, bool) {
	f, err := l.opts.Resources.Open(rel)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	head, err := io.ReadAll(io.LimitReader(f, maxAdapterScan))
	return head, err == nil
}

// environment lists the variables a shell component's children get from
// the topology: the component's own and topology.environment's.
func environment(spec *ShellSpec, conf Config) []string {
	var keys []string
	for k := range spec.Env {
		keys = append(keys, k)
	}
	if m, ok := conf[KeyTopologyEnvironment].(map[string]any); ok {
		for k := range m {
			keys = append(keys, k)
		}
	}
	return keys
}
