// Package adapters ships squall's own multilang client libraries, Python's
// storm.py, Ruby's storm.rb and Node's storm.js, inside the squall binary and
// installs them where shell components' child processes find them:
// "import storm", "require 'storm'" and "require('storm')" work without the
// topology shipping a copy.
//
// A worker calls Install once for a directory it owns, then starts each
// child with Env.Apply(childEnv), or adds Env.Over(its own environment)
// after the environment the child inherits. The adapters only come last on the
// language's search path (PYTHONPATH, RUBYLIB, NODE_PATH), so a copy the
// topology ships still wins: a storm.py next to a component's script
// (Python puts the script's directory first on sys.path), a storm.rb or
// storm.js required relatively (require_relative 'storm', require './storm',
// require('./storm')), a node_modules/storm, or one on a search path the
// topology sets.
//
// Scripts written for Apache Storm's adapters load them from beside
// themselves (require('./storm'), require "./storm", require_relative
// 'storm'), because a Storm jar holds storm.js and storm.rb there. Install
// also writes a preload hook per language (beside/node.js, beside/ruby.rb)
// that Env names in NODE_OPTIONS and RUBYOPT: when such a load finds no
// file, it gets squall's adapter; a file the topology ships still wins.
//
// The adapters speak both wire formats, JSON and MessagePack
// (topology.multilang.serializer), and pick the host's from its first byte.
// Ruby and Node carry their own MessagePack code; Python uses the msgpack
// module, which the topology's Python must provide when it selects msgpack
// (squall does not install Python packages).
package adapters

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"
)

// files holds the adapter libraries needed at run time, one directory per
// language.
//
//go:embed python/storm.py ruby/storm.rb node/storm.js beside/node.js beside/ruby.rb
var files embed.FS

// searchPaths maps each language directory in files to the environment
// variable that lists its module search path.
var searchPaths = []struct{ dir, env string }{
	{"python", "PYTHONPATH"},
	{"ruby", "RUBYLIB"},
	{"node", "NODE_PATH"},
}

// Env is what a child process needs in its environment to find the installed
// adapters: "KEY=VALUE" entries whose values are lists of directories.
type Env []string

// Install writes the embedded adapter libraries under dir (dir/python/storm.py,
// dir/ruby/storm.rb, dir/node/storm.js) and returns the environment additions
// that make children find them.
//
// It is idempotent and safe to call concurrently, from several goroutines or
// processes, for the same dir: a file already holding the right bytes is left
// alone, any other is replaced atomically (temporary file, then rename), so
// a child never sees a partly written library.
func Install(dir string) (Env, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("install adapters in %s: %w", dir, err)
	}
	err = fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := files.ReadFile(name)
		if err != nil {
			return err
		}
		return writeFile(filepath.Join(abs, filepath.FromSlash(name)), data)
	})
	if err != nil {
		return nil, fmt.Errorf("install adapters in %s: %w", dir, err)
	}
	env := make(Env, 0, len(searchPaths)+2)
	for _, sp := range searchPaths {
		env = append(env, sp.env+"="+filepath.Join(abs, sp.dir))
	}
	return append(env, preloads(abs)...), nil
}

// preloads names the hooks under dir that serve Storm's relative adapter
// loads, in the variables holding the interpreters' start-up options.
// Ruby splits RUBYOPT at white space and knows no quoting, so a dir with
// white space in its path gets no Ruby hook.
func preloads(dir string) Env {
	hook := func(name string) string { return filepath.Join(dir, "beside", name) }
	env := Env{"NODE_OPTIONS=--require " + nodeQuote(hook("node.js"))}
	if ruby := hook("ruby.rb"); !strings.ContainsFunc(ruby, unicode.IsSpace) {
		env = append(env, "RUBYOPT=-r"+ruby)
	}
	return env
}

// nodeQuote quotes s as Node reads a value in NODE_OPTIONS: in double
// quotes, a backslash escapes the next character.
func nodeQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// optionVars hold interpreters' start-up options, separated by spaces,
// rather than lists of directories.
var optionVars = []string{"NODE_OPTIONS", "RUBYOPT"}

// writeFile makes path hold data, atomically, unless it already does.
func writeFile(name string, data []byte) error {
	if old, err := os.ReadFile(name); err == nil && bytes.Equal(old, data) {
		return nil
	}
	dir := filepath.Dir(name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(name)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}

// Apply returns environ (a child's environment, "KEY=VALUE" entries) with e
// added: each of e's directories is appended to the search path already set
// in environ, so that the topology's own entries keep precedence, and each
// of e's start-up options to the options already set; or set if there are
// none. environ itself is not modified.
func (e Env) Apply(environ []string) []string {
	out := make([]string, 0, len(environ)+len(e))
	out = append(out, environ...)
	for _, kv := range e {
		key, value, _ := strings.Cut(kv, "=")
		found := false
		for i, old := range out {
			k, v, ok := strings.Cut(old, "=")
			if !ok || k != key {
				continue
			}
			found = true
			out[i] = key + "=" + merge(key, v, value)
		}
		if !found {
			out = append(out, kv)
		}
	}
	return out
}

// Over returns e's entries with each value merged, as Apply merges it,
// into the value environ already gives its key: the entries to add after
// environ (as shell.Options.Env is added after the inherited
// environment), so that the adapters join the search paths and options
// set there instead of replacing them.
func (e Env) Over(environ []string) []string {
	out := make([]string, 0, len(e))
	for _, kv := range e {
		key, value, _ := strings.Cut(kv, "=")
		for _, old := range environ {
			if k, v, ok := strings.Cut(old, "="); ok && k == key {
				value = merge(key, v, value)
			}
		}
		out = append(out, key+"="+value)
	}
	return out
}

// merge adds value to old, the value of key already set.
func merge(key, old, value string) string {
	switch {
	case old == "":
		return value
	case slices.Contains(optionVars, key):
		if strings.Contains(old, value) {
			return old
		}
		return old + " " + value
	case containsPath(old, value):
		return old
	}
	return old + string(os.PathListSeparator) + value
}

func containsPath(list, dir string) bool {
	for _, p := range filepath.SplitList(list) {
		if p == dir {
			return true
		}
	}
	return false
}

// Files lists the embedded library files, slash-separated and relative to an
// installation directory (e.g. "python/storm.py").
func Files() []string {
	var names []string
	_ = fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, name)
		}
		return nil
	})
	return names
}
