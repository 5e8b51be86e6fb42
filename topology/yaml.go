package topology

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// LoadOptions control how a YAML topology is read.
type LoadOptions struct {
	// Registry resolves `go:` components, CUSTOM groupings and the Java
	// class names it has aliases for. Nil means the file may only use
	// shell components and Flux's shell wrapper classes.
	Registry *Registry
	// Properties, when non-nil, replace ${key} placeholders, like Flux's
	// --filter FILE (see ParseProperties).
	Properties map[string]string
	// Env, when non-nil, replaces ${ENV-NAME} placeholders with
	// Env("NAME"), like Flux's --env-filter; pass os.LookupEnv.
	Env func(name string) (string, bool)
	// RelativeIncludes resolves a relative include path against the
	// directory of the file that includes it. By default it is resolved
	// against the working directory, as Flux does.
	RelativeIncludes bool
	// ReadInclude, when non-nil, reads an included file instead of
	// os.ReadFile: a loader of definitions it does not trust (nimbus)
	// confines includes to a directory with it.
	ReadInclude func(path string) ([]byte, error)
	// ResourcesDir is where Flux's classpath includes (resource: true)
	// are read: the topology's resources directory, which holds what a
	// Storm jar's classpath root held. Empty refuses them.
	ResourcesDir string
	// Included holds files included by path (resource: false), keyed as
	// the definition writes them (see IncludedFiles); they are read here
	// before the disk. A submission carries them to nimbus and workers.
	Included map[string][]byte
}

// LoadFile reads, validates and returns the topology defined in the YAML
// file at path, in squall's native form or Flux's. Problems in the
// definition are returned as a *ValidationError naming the file, line and
// component of each.
func LoadFile(path string, opts LoadOptions) (*Topology, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load topology: %w", err)
	}
	return load(data, path, opts)
}

// Load is LoadFile for YAML already in memory. Include paths are resolved
// against the working directory.
func Load(data []byte, opts LoadOptions) (*Topology, error) {
	return load(data, "", opts)
}

// LoadNamed is Load for YAML that came from file (which is not read):
// errors name it and, with RelativeIncludes, includes are resolved in its
// directory.
func LoadNamed(file string, data []byte, opts LoadOptions) (*Topology, error) {
	return load(data, file, opts)
}

// Flux's top-level keys squall cannot honour: they build Java objects.
// Each names the feature and says what to write instead.
var javaOnlyKeys = map[string]struct{ feature, why string }{
	"components":     {"Flux components are", "they build Java objects to pass to constructors; define shell components with `shell:` or Go ones with `go:` and give their settings as args"},
	"topologySource": {"Flux topologySource is", "it builds the topology in Java; list spouts, bolts and streams in the YAML instead"},
	"workerHooks":    {"Flux worker hooks are", "they are Java objects run inside the JVM worker; squall workers run no Java"},
}

var topLevelKeys = []string{"name", "config", "spouts", "bolts", "streams", "includes", "components", "drpc"}

// fileDef is one parsed YAML file, before includes are merged and
// components are resolved.
type fileDef struct {
	name      string
	namePos   pos
	hasName   bool
	config    Config
	configPos map[string]pos
	spouts    []*compDef
	bolts     []*compDef
	streams   []*streamDef
	includes  []includeDef
	// components are Flux's `components:`, by id; componentsPos is where
	// the key is.
	components    map[string]*fluxDef
	componentsPos pos
	// drpc is the `drpc:` section (drpc.go), nil when there is none.
	drpc *drpcDef
}

type includeDef struct {
	file     string
	override bool
	// resource marks Flux's classpath include, read from ResourcesDir.
	resource bool
	pos      pos
}

type loader struct {
	opts LoadOptions
	sub  substituter
	errs []*Error
}

func load(data []byte, file string, opts LoadOptions) (*Topology, error) {
	r := loadAll(data, file, opts)
	if err := newValidationError(r.errs); err != nil {
		return nil, err
	}
	return r.t, nil
}

// loaded is everything loading learnt about a file, for Load and Lint.
type loaded struct {
	// def is the parsed file with its includes merged, nil when the file
	// could not be read at all. Lint reads its config and its components'
	// config, with their lines, even when building failed.
	def *fileDef
	// t is the topology, nil when the definition has errors.
	t    *Topology
	errs []*Error
}

func loadAll(data []byte, file string, opts LoadOptions) loaded {
	l := &loader{opts: opts, sub: substituter{props: opts.Properties, env: opts.Env}}
	main := l.parseFile(data, file)
	if main != nil {
		for _, inc := range main.includes {
			l.include(main, inc, file)
		}
	}
	if len(l.errs) > 0 {
		return loaded{def: main, errs: l.errs}
	}
	t, src, broken := l.build(main, file)
	normalize(t)
	errs := append(l.errs, validate(t, src, broken)...)
	if len(errs) > 0 {
		return loaded{def: main, errs: errs}
	}
	wireCheckpoints(t)
	return loaded{def: main, t: t}
}

// include merges one included file into main with Flux's rules: with
// override, the included file's name, config keys and components (by id)
// replace main's; without, main's win. Streams are always added. Includes
// inside an included file are ignored, as in Flux.
func (l *loader) include(main *fileDef, inc includeDef, mainFile string) {
	if inc.resource && l.opts.ResourcesDir == "" {
		l.errs = append(l.errs, &Error{File: inc.pos.file, Line: inc.pos.line, Err: fmt.Errorf("%s %w here: %s",
			"Flux classpath includes (resource: true) are", ErrUnsupported,
			"they are read from the topology's resources directory, and this load has none; give the included file's path with resource: false")})
		return
	}
	path, data, err := l.readInclude(inc, mainFile)
	if err != nil {
		l.errs = append(l.errs, includeError(inc, err))
		return
	}
	f := l.parseFile(data, path)
	if f == nil {
		return
	}
	if f.hasName && (!main.hasName || inc.override) {
		main.name, main.namePos, main.hasName = f.name, f.namePos, true
	}
	for k, v := range f.config {
		if _, exists := main.config[k]; exists && !inc.override {
			continue
		}
		main.config[k] = v
		main.configPos[k] = f.configPos[k]
	}
	main.spouts = mergeComponents(main.spouts, f.spouts, inc.override)
	main.bolts = mergeComponents(main.bolts, f.bolts, inc.override)
	main.streams = append(main.streams, f.streams...)
	if f.drpc != nil && (main.drpc == nil || inc.override) {
		main.drpc = f.drpc
	}
	for id, d := range f.components {
		if _, exists := main.components[id]; exists && !inc.override {
			continue
		}
		if main.components == nil {
			main.components, main.componentsPos = map[string]*fluxDef{}, f.componentsPos
		}
		main.components[id] = d
	}
}

// includePath is where an include is read. A classpath resource's name is
// absolute on the classpath, so it is taken from the resources directory
// with or without its leading slash, and may not leave it.
func (l *loader) includePath(inc includeDef, mainFile string) (string, error) {
	if inc.resource {
		name := strings.TrimPrefix(inc.file, "/")
		if !filepath.IsLocal(name) {
			return "", errors.New("a classpath resource must name a file inside the topology's resources directory")
		}
		return filepath.Join(l.opts.ResourcesDir, name), nil
	}
	if l.opts.RelativeIncludes && mainFile != "" && !filepath.IsAbs(inc.file) {
		return filepath.Join(filepath.Dir(mainFile), inc.file), nil
	}
	return inc.file, nil
}

// IncludedFiles reads the files the definition data (from file) includes
// by path, as loading it with opts would, keyed as the definition writes
// them: what LoadOptions.Included needs to load it where those files are
// not. Classpath includes are left out: they are in the resources
// directory. Problems are a *ValidationError naming file and line.
func IncludedFiles(file string, data []byte, opts LoadOptions) (map[string][]byte, error) {
	l := &loader{opts: opts, sub: substituter{props: opts.Properties, env: opts.Env}}
	files := map[string][]byte{}
	if main := l.parseFile(data, file); main != nil {
		for _, inc := range main.includes {
			if inc.resource {
				continue
			}
			if _, b, err := l.readInclude(inc, file); err != nil {
				l.errs = append(l.errs, includeError(inc, err))
			} else {
				files[inc.file] = b
			}
		}
	}
	if err := newValidationError(l.errs); err != nil {
		return nil, err
	}
	return files, nil
}

func includeError(inc includeDef, err error) *Error {
	return &Error{File: inc.pos.file, Line: inc.pos.line, Err: fmt.Errorf("%w %s: %w", ErrInclude, inc.file, err)}
}

// readInclude reads one included file, from Included or else from its
// path (through ReadInclude when set), and returns that path, which names
// the file in errors either way.
func (l *loader) readInclude(inc includeDef, mainFile string) (string, []byte, error) {
	path, err := l.includePath(inc, mainFile)
	if err != nil {
		return "", nil, err
	}
	if b, ok := l.opts.Included[inc.file]; ok && !inc.resource {
		return path, b, nil
	}
	read := os.ReadFile
	if l.opts.ReadInclude != nil {
		read = l.opts.ReadInclude
	}
	b, err := read(path)
	return path, b, err
}

func mergeComponents(into, from []*compDef, override bool) []*compDef {
	for _, c := range from {
		i := slices.IndexFunc(into, func(x *compDef) bool { return x.id == c.id })
		switch {
		case i < 0:
			into = append(into, c)
		case override:
			into[i] = c
		}
	}
	return into
}

// parseFile parses one YAML document, substituting placeholders. It
// returns nil if the document could not be read at all.
func (l *loader) parseFile(data []byte, file string) *fileDef {
	p := &parser{file: file, errs: &l.errs, reg: l.opts.Registry}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.failf(nil, ErrSyntax, "the file is empty")
		} else {
			l.errs = append(l.errs, syntaxError(file, err))
		}
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		p.failf(&extra, ErrSyntax, "the file holds more than one YAML document")
		return nil
	} else if !errors.Is(err, io.EOF) {
		l.errs = append(l.errs, syntaxError(file, err))
		return nil
	}
	if l.sub.enabled() {
		l.sub.walk(&doc)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	entries, ok := p.mapping(root, "the topology file")
	if !ok {
		return nil
	}
	f := &fileDef{config: Config{}, configPos: map[string]pos{}}
	for _, e := range entries {
		switch e.key {
		case "name":
			if s, ok := p.str(e.v, "name"); ok {
				f.name, f.namePos, f.hasName = s, pos{file, e.v.Line}, true
			}
		case "config":
			p.config(e.v, f.config, f.configPos)
		case "spouts":
			f.spouts = p.components(e.v, KindSpout)
		case "bolts":
			f.bolts = p.components(e.v, KindBolt)
		case "streams":
			f.streams = p.streams(e.v)
		case "includes":
			f.includes = p.includes(e.v)
		case "drpc":
			f.drpc = p.drpcSection(e.v)
		case "components":
			// Only what classes squall translates refer to is used;
			// build reports the rest.
			f.components, f.componentsPos = p.fluxComponents(e.v), pos{file, e.k.Line}
		default:
			if j, ok := javaOnlyKeys[e.key]; ok {
				p.unsupported(e.k, j.feature, "%s", j.why)
				continue
			}
			p.failf(e.k, ErrUnknownKey, "%q at the top level (known: name, config, spouts, bolts, streams, includes, drpc)%s", e.key, suggest(e.key, topLevelKeys))
		}
	}
	return f
}

// config reads a `config:` mapping into c, recording each key's place.
func (p *parser) config(n *yaml.Node, c Config, at map[string]pos) {
	entries, _ := p.mapping(n, "config")
	for _, e := range entries {
		if v, ok := p.value(e.v, "config "+e.key); ok {
			c[e.key] = v
			at[e.key] = pos{p.file, e.k.Line}
		}
	}
}

func (p *parser) includes(n *yaml.Node) []includeDef {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.failf(n, ErrBadValue, "includes must be a list of {file: ..., override: ...}")
		return nil
	}
	var out []includeDef
	for _, item := range n.Content {
		entries, ok := p.mapping(item, "an include")
		if !ok {
			continue
		}
		inc := includeDef{pos: pos{p.file, deref(item).Line}}
		good := true
		for _, e := range entries {
			switch e.key {
			case "file":
				inc.file, ok = p.str(e.v, "include file")
				good = good && ok
			case "override":
				inc.override, ok = p.boolean(e.v, "include override")
				good = good && ok
			case "resource":
				inc.resource, ok = p.boolean(e.v, "include resource")
				good = good && ok
			default:
				p.failf(e.k, ErrUnknownKey, "%q in an include (known: file, override, resource)", e.key)
				good = false
			}
		}
		if inc.file == "" && good {
			p.failf(item, ErrMissingKey, "an include needs a file")
			good = false
		}
		if good {
			out = append(out, inc)
		}
	}
	return out
}

// build turns the merged file into a Topology, resolving Go components and
// custom groupings through the Registry. Components whose Go factory
// failed are returned as broken, with a stub implementation, so that
// validation still checks the rest of the topology.
func (l *loader) build(f *fileDef, file string) (*Topology, *sources, map[string]bool) {
	t := &Topology{Name: f.name, Config: f.config}
	src := &sources{file: file, name: f.namePos, config: f.configPos, comps: make(map[*Component]*compSource)}
	broken := make(map[string]bool)
	byID := make(map[string]*Component)
	flux := &fluxResolver{defs: f.components, used: map[string]bool{}}
	for _, cd := range slices.Concat(f.spouts, f.bolts) {
		c, err := l.component(cd, flux)
		if err != nil {
			l.errs = append(l.errs, &Error{File: cd.pos.file, Line: cd.pos.line, Component: cd.id, Err: err})
			broken[cd.id] = true
		}
		t.Components = append(t.Components, c)
		src.comps[c] = &compSource{file: cd.pos.file, config: cd.configPos}
		if _, dup := byID[c.ID]; !dup {
			byID[c.ID] = c
		}
	}
	if f.drpc != nil {
		n := len(t.Components)
		l.expandDRPC(f.drpc, t, src, flux)
		for _, c := range t.Components[n:] {
			if _, dup := byID[c.ID]; !dup {
				byID[c.ID] = c
			}
		}
	}
	for _, sd := range f.streams {
		to := byID[sd.to]
		if to == nil {
			l.errs = append(l.errs, &Error{File: sd.pos.file, Line: sd.pos.line, Component: sd.to,
				Err: fmt.Errorf("%w (stream from %q)%s", ErrUnknownComponent, sd.from, suggest(sd.to, slices.Collect(maps.Keys(byID))))})
			continue
		}
		g := sd.grouping
		var err error
		if sd.class != "" {
			g.Custom, g.CustomArgs, err = resolveClass(l.opts.Registry, sd.class, sd.ctorArgs,
				"register a Go grouping and use `grouping: {type: CUSTOM, go: name}`")
		}
		if err == nil && g.Type == Custom && g.Custom != "" {
			g.NewCustom, err = l.opts.Registry.newCustom(g.Custom, g.CustomArgs)
		}
		if err != nil {
			l.errs = append(l.errs, &Error{File: sd.pos.file, Line: sd.pos.line, Component: sd.to, Err: err})
			g.NewCustom = func() (CustomGrouping, error) { return nil, err }
			if g.Custom == "" {
				g.Custom = sd.class
			}
		}
		to.Inputs = append(to.Inputs, Input{From: sd.from, Stream: sd.stream, Grouping: g, Line: sd.pos.line})
		cs := src.comps[to]
		cs.inputs = append(cs.inputs, sd.pos)
	}
	if unused := flux.unused(); len(unused) > 0 {
		j := javaOnlyKeys["components"]
		l.errs = append(l.errs, &Error{File: f.componentsPos.file, Line: f.componentsPos.line,
			Err: fmt.Errorf("%s %w: %s (only the classes squall translates may refer to them, and nothing does to %s)", j.feature, ErrUnsupported, j.why, strings.Join(unused, ", "))})
	}
	return t, src, broken
}

// component resolves one component definition. On error it still returns
// a component, with a stub Go implementation.
func (l *loader) component(cd *compDef, flux *fluxResolver) (*Component, error) {
	c := &Component{
		ID:          cd.id,
		Kind:        cd.kind,
		Parallelism: cd.parallelism,
		NumTasks:    cd.numTasks,
		Config:      cd.config,
		Line:        cd.pos.line,
		Stateful:    cd.stateful,
	}
	if cd.shell != nil {
		c.Shell = cd.shell
		c.Outputs = cd.outputs
		return c, nil
	}
	name, args := cd.goName, cd.args
	if cd.flux != nil {
		tr, _ := l.opts.Registry.FluxTranslator(cd.className)
		obj, err := flux.object(cd.flux)
		if err == nil {
			name, args, err = tr(obj)
		}
		if err != nil {
			return stub(c), fmt.Errorf("class %s: %w", cd.className, err)
		}
	} else if cd.className != "" {
		var err error
		name, args, err = resolveClass(l.opts.Registry, cd.className, cd.ctorArgs,
			"use `shell: {command: [...]}` for a multilang component or `go: name` for a registered Go component")
		if err != nil {
			return stub(c), err
		}
	}
	var (
		spec *GoSpec
		outs []Stream
		err  error
	)
	if c.Kind == KindSpout {
		spec, outs, err = l.opts.Registry.newSpoutSpec(name, args)
	} else {
		spec, outs, err = l.opts.Registry.newBoltSpec(name, args)
	}
	if err != nil {
		return stub(c), err
	}
	c.Go, c.Outputs = spec, outs
	if c.Kind == KindBolt && c.Stateful && !spec.stateful {
		return c, fmt.Errorf("%w: it declares state:, but its Go bolt %s does not implement topology.StatefulBolt (InitState)", ErrBadComponent, name)
	}
	c.Stateful = c.Stateful || spec.stateful
	return c, nil
}

func stub(c *Component) *Component {
	err := fmt.Errorf("component %q could not be constructed", c.ID)
	c.Go = &GoSpec{
		NewSpout: func() (Spout, error) { return nil, err },
		NewBolt:  func() (Bolt, error) { return nil, err },
	}
	return c
}
