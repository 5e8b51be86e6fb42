package topology

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Severity says how much a lint finding matters.
type Severity int

const (
	// SeverityWarning: worth a look, the topology runs as written (an
	// unknown or ignored key, a value Storm would refuse but squall takes).
	SeverityWarning Severity = iota + 1
	// SeverityError: the topology cannot work as written (it does not
	// load, a script is missing, a value makes no sense).
	SeverityError
)

func (s Severity) String() string {
	if s == SeverityError {
		return "error"
	}
	return "warning"
}

// Finding is one result of Lint, located like an *Error.
type Finding struct {
	Severity  Severity
	File      string
	Line      int
	Component string
	// Err wraps a sentinel: ErrUnknownConfigKey, ErrIgnoredConfigKey,
	// ErrStormRefuses, ErrBadConfig, ErrMissingResource, ErrBadArgs, or
	// one of a loading error's.
	Err error
}

func (f *Finding) Error() string {
	e := Error{File: f.File, Line: f.Line, Component: f.Component, Err: f.Err}
	return e.Error()
}

func (f *Finding) Unwrap() error { return f.Err }

// Checker is implemented by Go components that can check, before anything
// runs, what their arguments refer to: a file under the resources
// directory, the fields of their input streams. Lint calls Check on an
// instance made by the component's factory (which, by the factory's
// contract, starts nothing).
type Checker interface {
	Check(ctx *CheckContext) error
}

// CheckContext is what a Checker may look at.
type CheckContext struct {
	Topology    *Topology
	ComponentID string
	// Resources is the topology's resources directory, nil when unknown;
	// a component's relative paths are relative to it.
	Resources fs.FS
}

// LintOptions control Lint.
type LintOptions struct {
	LoadOptions
	// Resources is the directory shell components run in (the topology's
	// resources/), to check that their scripts exist. Nil skips the
	// checks of files.
	Resources fs.FS
	// LookPath finds a program on this machine's PATH (exec.LookPath);
	// nil skips the check of shell components' interpreters.
	LookPath func(file string) (string, error)
	// Overrides are configuration values given on the command line (-c),
	// checked like the file's.
	Overrides Config
}

// LintFile lints the topology file at path; see Lint. The error is only
// for a file that cannot be read.
func LintFile(file string, opts LintOptions) (*Topology, []*Finding, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, fmt.Errorf("lint topology: %w", err)
	}
	t, findings := Lint(data, file, opts)
	return t, findings, nil
}

// Lint loads a topology as LoadNamed does and checks what loading lets
// pass: configuration keys that neither Storm nor squall knows (with a
// suggestion), Storm keys that squall ignores (with the reason), values
// Storm's ConfigValidation would refuse, scripts missing from the
// resources directory, and Go components' own checks (Checker). Every
// loading error is a finding too. The topology is nil when it does not
// load. Findings are sorted by file, line and component.
func Lint(data []byte, file string, opts LintOptions) (*Topology, []*Finding) {
	r := loadAll(data, file, opts.LoadOptions)
	l := &linter{opts: opts, defined: map[string]pos{}}
	for _, e := range r.errs {
		l.add(SeverityError, pos{e.File, e.Line}, e.Component, e.Err)
	}
	if r.def != nil {
		for _, cd := range slices.Concat(r.def.spouts, r.def.bolts) {
			l.defined[cd.id] = cd.pos
		}
		l.config(r.def)
	}
	for _, key := range slices.Sorted(maps.Keys(opts.Overrides)) {
		l.key(key, opts.Overrides[key], pos{file: "-c"}, "")
	}
	if r.def != nil {
		// Shell components are checked as written, so that a missing
		// script shows even when something else keeps the topology from
		// loading.
		for _, cd := range slices.Concat(r.def.spouts, r.def.bolts) {
			if cd.shell != nil && len(cd.shell.Command) > 0 {
				l.shell(cd.id, cd.shell, r.def.config.Merge(cd.config))
			}
		}
	}
	if r.t != nil {
		for _, c := range r.t.Components {
			if c.Go != nil {
				l.goComponent(r.t, c)
			}
		}
	}
	slices.SortStableFunc(l.findings, func(a, b *Finding) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Component, b.Component))
	})
	return r.t, l.findings
}

type linter struct {
	opts     LintOptions
	findings []*Finding
	// defined is where each component is defined.
	defined map[string]pos
	known   []string // knownKeyNames, once needed
	files   []string // files under Resources, once needed
}

func (l *linter) add(sev Severity, at pos, component string, err error) {
	l.findings = append(l.findings, &Finding{Severity: sev, File: at.file, Line: at.line, Component: component, Err: err})
}

// config checks the topology's and every component's configuration.
func (l *linter) config(def *fileDef) {
	for key, v := range def.config {
		l.key(key, v, def.configPos[key], "")
	}
	for _, cd := range slices.Concat(def.spouts, def.bolts) {
		for key, v := range cd.config {
			at := cd.configPos[key]
			if at.line == 0 {
				at = cd.pos
			}
			l.key(key, v, at, cd.id)
		}
		for _, h := range cd.hints {
			l.add(SeverityWarning, pos{cd.pos.file, h.line}, cd.id, fmt.Errorf("%s is %w: %s", h.key, ErrIgnoredConfigKey, whyFluxHint))
		}
	}
}

// key checks one configuration key and its value.
func (l *linter) key(key string, v any, at pos, component string) {
	spec, squallReads := KnownKeys[key]
	if squallReads && v != nil && !checkKind(v, spec.Kind) {
		return // loading reported it
	}
	squallReads = squallReads || squallKeys[key]
	rule, isStorm := stormKeys[key]
	if isStorm && !rule.accepts(v) {
		sev := SeverityError
		if squallReads {
			sev = SeverityWarning
		}
		l.add(sev, at, component, &StormConfigError{Key: key, Value: v, Want: rule.want(), Accepted: squallReads})
	}
	if why, ignored := ignoredKeys[key]; ignored && !squallReads {
		l.add(SeverityWarning, at, component, fmt.Errorf("%s is %w: %s", key, ErrIgnoredConfigKey, why))
	}
	if isStorm || squallReads {
		return
	}
	if l.known == nil {
		l.known = knownKeyNames()
	}
	switch hint := suggest(key, l.known); {
	case hint != "":
		l.add(SeverityWarning, at, component, fmt.Errorf("%w %q%s", ErrUnknownConfigKey, key, hint))
	case inStormNamespace(key):
		l.add(SeverityWarning, at, component, fmt.Errorf("%w %q: neither Storm nor squall reads it (a setting of your own components is clearer outside Storm's namespaces)", ErrUnknownConfigKey, key))
	}
}

// scriptExtensions are the file name extensions of the scripts shell
// components run: an argument ending in one names a file.
var scriptExtensions = []string{
	".py", ".pyc", ".rb", ".js", ".mjs", ".cjs", ".ts", ".sh", ".bash", ".pl", ".php",
	".lua", ".r", ".jl", ".tcl", ".exs", ".awk", ".jar",
}

// shell checks that a shell component's program and scripts are where the
// task will look for them. conf is the component's configuration.
func (l *linter) shell(id string, spec *ShellSpec, conf Config) {
	at := l.defined[id]
	argv := spec.Command
	prog := argv[0]
	switch {
	case strings.Contains(prog, "/"):
		l.resource(id, at, prog, "program", true)
	case l.opts.LookPath != nil && spec.Env["PATH"] == "":
		if _, err := l.opts.LookPath(prog); err != nil {
			l.add(SeverityWarning, at, id, fmt.Errorf("%w: program %q is not on this machine's PATH; every machine that runs the topology needs it", ErrMissingResource, prog))
		}
	}
	for _, arg := range argv[1:] {
		if strings.HasPrefix(arg, "-") || !slices.Contains(scriptExtensions, strings.ToLower(filepath.Ext(arg))) {
			continue
		}
		l.resource(id, at, arg, "script", false)
		l.adapterBeside(id, at, arg, environment(spec, conf))
	}
}

// resource checks that name, relative to the resources directory, is a
// file (executable if exec). Absolute paths are the machines' business.
func (l *linter) resource(id string, at pos, name, what string, exec bool) {
	if l.opts.Resources == nil || filepath.IsAbs(name) {
		return
	}
	rel := path.Clean(filepath.ToSlash(name))
	if rel == ".." || strings.HasPrefix(rel, "../") {
		l.add(SeverityError, at, id, fmt.Errorf("%w: %s %q is outside the resources directory, and only that directory travels with the topology", ErrMissingResource, what, name))
		return
	}
	fi, err := fs.Stat(l.opts.Resources, rel)
	switch {
	case err != nil:
		l.add(SeverityError, at, id, fmt.Errorf("%w: %s %q is not in the resources directory%s", ErrMissingResource, what, name, suggest(rel, l.resourceFiles())))
	case !fi.Mode().IsRegular():
		l.add(SeverityError, at, id, fmt.Errorf("%w: %s %q is not a file", ErrMissingResource, what, name))
	case exec && fi.Mode()&0o111 == 0:
		l.add(SeverityError, at, id, fmt.Errorf("%w: %s %q is not executable (chmod +x it)", ErrMissingResource, what, name))
	}
}

// maxSuggestFiles bounds how many resource files are read for suggestions.
const maxSuggestFiles = 10000

// resourceFiles lists the files under Resources, for suggestions.
func (l *linter) resourceFiles() []string {
	if l.files != nil {
		return l.files
	}
	l.files = []string{}
	errStop := errors.New("enough")
	_ = fs.WalkDir(l.opts.Resources, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if !d.IsDir() {
			l.files = append(l.files, p)
		}
		if len(l.files) >= maxSuggestFiles {
			return errStop
		}
		return nil
	})
	return l.files
}

// goComponent runs a Go component's own check, if it has one.
func (l *linter) goComponent(t *Topology, c *Component) {
	var inst any
	var err error
	switch {
	case c.IsCheckpointSpout():
		return // built by the worker, from the topology's own parts
	case c.Kind == KindSpout && c.Go.NewSpout != nil:
		inst, err = c.Go.NewSpout()
	case c.Kind == KindBolt && c.Go.NewBolt != nil:
		inst, err = c.Go.NewBolt()
	}
	if err == nil {
		if ch, ok := inst.(Checker); ok {
			err = ch.Check(&CheckContext{Topology: t, ComponentID: c.ID, Resources: l.opts.Resources})
		}
	}
	if err != nil {
		l.add(SeverityError, l.defined[c.ID], c.ID, err)
	}
}
