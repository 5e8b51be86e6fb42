// Package adapters ships squall's own multilang client libraries, Python's
// storm.py, Ruby's storm.rb and Node's storm.js, inside the squall binary and
// installs them where shell components' child processes find them:
// "import storm", "require 'storm'" and "require('storm')" work without the
// topology shipping a copy.
//
// A worker calls Install once for a directory it owns, then starts each
// child with Env.Apply(childEnv). The adapters only come last on the
// language's search path (PYTHONPATH, RUBYLIB, NODE_PATH), so a copy the
// topology ships still wins: a storm.py next to a component's script
// (Python puts the script's directory first on sys.path), a storm.rb or
// storm.js required relatively (require_relative 'storm', require './storm',
// require('./storm')), a node_modules/storm, or one on a search path the
// topology sets.
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
	"strings"
)

// files holds the adapter libraries needed at run time, one directory per
// language.
//
//go:embed python/storm.py ruby/storm.rb node/storm.js
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
	env := make(Env, 0, len(searchPaths))
	for _, sp := range searchPaths {
		env = append(env, sp.env+"="+filepath.Join(abs, sp.dir))
	}
	return env, nil
}

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
// in environ, so that the topology's own entries keep precedence, or set if
// there is none. environ itself is not modified.
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
			if v != "" && !containsPath(v, value) {
				out[i] = key + "=" + v + string(os.PathListSeparator) + value
			} else if v == "" {
				out[i] = kv
			}
		}
		if !found {
			out = append(out, kv)
		}
	}
	return out
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
