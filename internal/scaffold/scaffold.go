// Package scaffold writes a new topology project from templates embedded
// in the binary: what squall new does. Each language's project runs with
// squall local at once and its unit tests pass at once.
package scaffold

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

//go:embed all:templates
var templates embed.FS

// Languages are the languages a project can be written in.
var Languages = []string{"python", "ruby", "node", "go"}

var (
	// ErrExists: the project directory exists and is not empty.
	ErrExists = errors.New("already exists")
	// ErrBadName: the name cannot name a topology, a directory and a
	// package at once.
	ErrBadName = errors.New("bad project name")
	// ErrUnknownLanguage: no templates for the language.
	ErrUnknownLanguage = errors.New("unknown language")
)

// validName is what every place the name goes accepts: Storm's topology
// names, directories, Go module paths, npm and registry names.
var validName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,63}$`)

// Options describe the project to write.
type Options struct {
	// Name is the topology's name, also the Go module's and the npm
	// package's.
	Name string
	// Lang is one of Languages.
	Lang string
	// SquallVersion, when a released version (v1.2.3), is what the Go
	// project's go.mod requires; otherwise go mod tidy picks one.
	SquallVersion string
}

// Validate checks the options.
func (o Options) Validate() error {
	if !validName.MatchString(o.Name) {
		return fmt.Errorf("%w %q: use a letter, then letters, digits, '-' or '_' (at most 64)", ErrBadName, o.Name)
	}
	if !slices.Contains(Languages, o.Lang) {
		return fmt.Errorf("%w %q (choose %s)", ErrUnknownLanguage, o.Lang, strings.Join(Languages, ", "))
	}
	return nil
}

// released matches the versions a go.mod can require as they are.
var released = regexp.MustCompile(`^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$`)

// Create writes the project into dir, which must not exist or be empty,
// and returns the files it wrote, relative to dir and sorted.
func Create(dir string, o Options) ([]string, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("%s %w and is not empty", dir, ErrExists)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	require := ""
	if released.MatchString(o.SquallVersion) {
		require = "\nrequire github.com/squallstream/squall " + o.SquallVersion + "\n"
	}
	replacer := strings.NewReplacer(
		"@@NAME@@", o.Name,
		"@@NPMNAME@@", strings.ToLower(o.Name),
		"@@REQUIRE@@", require,
	)
	var written []string
	for _, root := range []string{path.Join("templates", "common"), path.Join("templates", o.Lang)} {
		if err := writeTree(dir, root, replacer, &written); err != nil {
			return written, fmt.Errorf("create %s: %w", dir, err)
		}
	}
	slices.Sort(written)
	return written, nil
}

// writeTree writes the templates under root into dir.
func writeTree(dir, root string, replacer *strings.Replacer, written *[]string) error {
	return fs.WalkDir(templates, root, func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := templates.ReadFile(name)
		if err != nil {
			return err
		}
		rel := strings.TrimSuffix(strings.TrimPrefix(name, root+"/"), ".tmpl")
		if base := path.Base(rel); base == "gitignore" {
			rel = path.Join(path.Dir(rel), ".gitignore")
		}
		to := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(to, []byte(replacer.Replace(string(data))), 0o644); err != nil {
			return err
		}
		*written = append(*written, rel)
		return nil
	})
}
