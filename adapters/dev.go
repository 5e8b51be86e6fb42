package adapters

import (
	"embed"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
)

// devFiles are the adapters with their test harnesses, for a project's own
// unit tests (InstallDev).
//
//go:embed python/storm.py python/storm_testing.py ruby/storm.rb ruby/storm/testing.rb node/storm.js node/testing.js node/package.json
var devFiles embed.FS

// devLayout maps each embedded file to where InstallDev puts it: for Node,
// a package directory named storm, so that require('storm') and
// require('storm/testing') resolve through NODE_PATH.
var devLayout = map[string]string{
	"python/storm.py":         "python/storm.py",
	"python/storm_testing.py": "python/storm_testing.py",
	"ruby/storm.rb":           "ruby/storm.rb",
	"ruby/storm/testing.rb":   "ruby/storm/testing.rb",
	"node/storm.js":           "node/storm/storm.js",
	"node/testing.js":         "node/storm/testing.js",
	"node/package.json":       "node/storm/package.json",
}

// InstallDev writes the adapters and their test harnesses under dir, for
// unit tests run outside squall (the projects squall new writes keep them
// in .squall/):
//
//	dir/python   storm.py, storm_testing.py      (PYTHONPATH, sys.path)
//	dir/ruby     storm.rb, storm/testing.rb      (RUBYLIB, -I)
//	dir/node     storm/ with storm.js, testing.js (NODE_PATH)
//
// Files are replaced atomically, as Install does, so it also refreshes an
// older copy.
func InstallDev(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("install adapters for tests in %s: %w", dir, err)
	}
	err = fs.WalkDir(devFiles, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		to, ok := devLayout[name]
		if !ok {
			return fmt.Errorf("no place for %s", name)
		}
		data, err := devFiles.ReadFile(name)
		if err != nil {
			return err
		}
		return writeFile(filepath.Join(abs, filepath.FromSlash(to)), data)
	})
	if err != nil {
		return fmt.Errorf("install adapters for tests in %s: %w", dir, err)
	}
	return nil
}

// DevFiles lists the files InstallDev writes, slash-separated and relative
// to its directory.
func DevFiles() []string {
	var out []string
	for _, to := range devLayout {
		out = append(out, to)
	}
	slices.Sort(out)
	return out
}
