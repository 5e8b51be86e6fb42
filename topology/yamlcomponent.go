package topology

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// compDef is one spout or bolt as written in YAML.
type compDef struct {
	id          string
	kind        Kind
	pos         pos
	parallelism int
	numTasks    int // 0: default to parallelism
	config      Config
	configPos   map[string]pos

	// Exactly one implementation: a shell command with its outputs, a
	// registered Go component, or a Java class name (resolved through the
	// Registry's aliases).
	shell     *ShellSpec
	outputs   []Stream
	goName    string
	args      map[string]any
	className string
	ctorArgs  []any
	// flux is the whole Flux definition of a className component whose
	// class has a FluxTranslator.
	flux *fluxDef

	// window and state are the keys `window:` and `state:` stand for,
	// merged into config once the component is read; stateful is set by
	// `state:`.
	window, state       Config
	windowPos, statePos map[string]pos
	stateful            bool

	// hints are the keys read and ignored (Flux's resource-aware
	// scheduling hints), with their lines, for Lint.
	hints []hint
}

// hint is a key squall reads and ignores, where it was written.
type hint struct {
	key  string
	line int
}

// streamDef is one entry of `streams:`.
type streamDef struct {
	from, to, stream string
	grouping         Grouping
	// class and ctorArgs are Flux's customClass of a CUSTOM grouping,
	// resolved through the Registry's class aliases.
	class    string
	ctorArgs []any
	pos      pos
}

var componentKeys = []string{
	"id", "parallelism", "numTasks", "config",
	"shell", "go", "args",
	"className", "constructorArgs", "configMethods", "properties", "factory", "factoryArgs",
	"onHeapMemoryLoad", "offHeapMemoryLoad", "cpuLoad",
	"window", "state",
}

func (p *parser) components(n *yaml.Node, kind Kind) []*compDef {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.failf(n, ErrBadValue, "%ss must be a list of components, each starting with `- id: name`", kind)
		return nil
	}
	var out []*compDef
	for _, item := range n.Content {
		if c := p.component(item, kind); c != nil {
			out = append(out, c)
		}
	}
	return out
}

// component reads one spout or bolt, in the native form or Flux's. It
// returns nil if the definition has errors.
func (p *parser) component(n *yaml.Node, kind Kind) *compDef {
	defer func() { p.comp = "" }()
	n = deref(n)
	before := len(*p.errs)
	// Know the id before reporting anything about the mapping.
	if n != nil && n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k, v := deref(n.Content[i]), deref(n.Content[i+1]); k.Value == "id" && v.Kind == yaml.ScalarNode {
				p.comp = v.Value
				break
			}
		}
	}
	entries, ok := p.mapping(n, "a "+kind.String())
	if !ok {
		return nil
	}
	c := &compDef{kind: kind, pos: pos{p.file, n.Line}, parallelism: 1}
	byKey := make(map[string]kv, len(entries))
	for _, e := range entries {
		byKey[e.key] = e
	}
	if e, ok := byKey["id"]; ok {
		c.id, _ = p.str(e.v, "id")
		p.comp = c.id
	} else {
		p.failf(n, ErrMissingKey, "a %s has no id", kind)
	}

	impls := 0
	for _, k := range []string{"shell", "go", "className"} {
		if _, ok := byKey[k]; ok {
			impls++
		}
	}
	if impls != 1 {
		p.failf(n, ErrBadComponent, "a %s needs exactly one of `shell:` (a multilang command), `go:` (a registered Go component) or `className:` (Flux)", kind)
	}

	for _, e := range entries {
		switch e.key {
		case "id":
		case "parallelism":
			c.parallelism, _ = p.integer(e.v, "parallelism")
		case "numTasks":
			if n, ok := p.integer(e.v, "numTasks"); ok {
				if n < 1 {
					p.failf(e.v, ErrBadParallelism, "numTasks is %d, it must be at least 1", n)
				}
				c.numTasks = n
			}
		case "config":
			if c.config == nil {
				c.config, c.configPos = Config{}, map[string]pos{}
			}
			p.config(e.v, c.config, c.configPos)
		case "onHeapMemoryLoad", "offHeapMemoryLoad", "cpuLoad":
			// Flux's resource-aware scheduling hints; squall's scheduler
			// spreads executors evenly and ignores them (Lint says so).
			p.integer(e.v, e.key)
			c.hints = append(c.hints, hint{e.key, e.k.Line})
		case "shell":
			c.shell, c.outputs = p.shell(e.v)
		case "go":
			c.goName, _ = p.str(e.v, "go")
		case "args":
			if _, isGo := byKey["go"]; !isGo {
				p.failf(e.k, ErrBadComponent, "args are only for `go:` components (Flux classes take constructorArgs)")
				continue
			}
			if v, ok := p.value(e.v, "args"); ok && v != nil {
				m, isMap := v.(map[string]any)
				if !isMap {
					p.failf(e.v, ErrBadValue, "args must be a mapping of argument names to values")
					continue
				}
				c.args = m
			}
		case "className":
			c.className, _ = p.str(e.v, "className")
		case "window":
			if kind == KindSpout {
				p.failf(e.k, ErrBadComponent, "a spout cannot be windowed; only bolts take window:")
				continue
			}
			c.window, c.windowPos = p.window(e.v)
		case "state":
			if kind == KindSpout {
				p.failf(e.k, ErrBadComponent, "a spout cannot be stateful; only bolts take state:")
				continue
			}
			c.stateful, c.state, c.statePos = p.state(e.v)
		case "constructorArgs", "configMethods":
			if _, isClass := byKey["className"]; !isClass {
				p.failf(e.k, ErrBadComponent, "%s is only for Flux `className:` components", e.key)
			}
		case "properties":
			p.unsupported(e.k, "Flux properties are", "they set fields of a Java bean, and squall builds no Java objects; give the values as args of a `go:` component or in the component's config")
		case "factory", "factoryArgs":
			if _, both := byKey["factory"]; both && e.key == "factoryArgs" {
				continue // reported once, at factory
			}
			p.unsupported(e.k, "Flux factories are", "%s names a static Java method that builds the component; use `shell: {command: [...]}` for a multilang component or `go: name` for a registered Go component", e.key)
		default:
			p.failf(e.k, ErrUnknownKey, "%q in a %s%s", e.key, kind, suggest(e.key, componentKeys))
		}
	}
	if c.className != "" {
		p.fluxClass(c, byKey)
	}
	p.mergeDeclared(c, "window", c.window, c.windowPos)
	p.mergeDeclared(c, "state", c.state, c.statePos)
	if len(*p.errs) > before {
		return nil
	}
	return c
}

// shell reads `shell: {command, fields, streams, env}`.
func (p *parser) shell(n *yaml.Node) (*ShellSpec, []Stream) {
	entries, ok := p.mapping(n, "shell")
	if !ok {
		return nil, nil
	}
	spec := &ShellSpec{}
	var outs []Stream
	haveCommand := false
	declared := make(map[string]int)
	declare := func(at *yaml.Node, id string, fields []string) {
		if line, dup := declared[id]; dup {
			p.failf(at, ErrBadStream, "stream %q is declared twice (also at line %d); `fields` is the same as `streams: {default: ...}`", id, line)
			return
		}
		if !p.checkStream(at, id, fields) {
			return
		}
		declared[id] = at.Line
		outs = append(outs, Stream{ID: id, Fields: fields})
	}
	for _, e := range entries {
		switch e.key {
		case "command":
			haveCommand = true
			if argv, ok := p.strList(e.v, "shell.command (the argv to run)"); ok {
				if len(argv) == 0 {
					p.failf(e.v, ErrBadComponent, "the shell command is empty")
				}
				spec.Command = argv
			}
		case "fields":
			if fields, ok := p.strList(e.v, "shell.fields"); ok {
				declare(e.k, DefaultStream, fields)
			}
		case "streams":
			streams, _ := p.mapping(e.v, "shell.streams")
			for _, s := range streams {
				if fields, ok := p.strList(s.v, fmt.Sprintf("the fields of stream %q", s.key)); ok {
					declare(s.k, s.key, fields)
				}
			}
		case "env":
			env, _ := p.mapping(e.v, "shell.env")
			for _, kv := range env {
				v, ok := p.str(kv.v, "env "+kv.key)
				if !ok {
					continue
				}
				if spec.Env == nil {
					spec.Env = make(map[string]string, len(env))
				}
				spec.Env[kv.key] = v
			}
		default:
			p.failf(e.k, ErrUnknownKey, "%q in shell (known: command, fields, streams, env)%s", e.key, suggest(e.key, []string{"command", "fields", "streams", "env"}))
		}
	}
	if !haveCommand {
		p.failf(n, ErrMissingKey, "shell needs a command, like command: [python3, split.py]")
	}
	return spec, outs
}

func (p *parser) streams(n *yaml.Node) []*streamDef {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.failf(n, ErrBadValue, "streams must be a list of {from, to, grouping}")
		return nil
	}
	var out []*streamDef
	for _, item := range n.Content {
		if s := p.stream(item); s != nil {
			out = append(out, s)
		}
	}
	return out
}

var streamKeys = []string{"name", "from", "to", "grouping"}

func (p *parser) stream(n *yaml.Node) *streamDef {
	defer func() { p.comp = "" }()
	n = deref(n)
	before := len(*p.errs)
	entries, ok := p.mapping(n, "a stream")
	if !ok {
		return nil
	}
	s := &streamDef{pos: pos{p.file, n.Line}, stream: DefaultStream}
	// Label errors with the subscribing component.
	for _, e := range entries {
		if e.key == "to" {
			p.comp, _ = p.str(e.v, "to")
		}
	}
	var grouping *yaml.Node
	for _, e := range entries {
		switch e.key {
		case "name": // Flux: a label, unused.
		case "from":
			s.from, _ = p.str(e.v, "from")
		case "to":
			s.to = p.comp
		case "grouping":
			grouping = e.v
		default:
			p.failf(e.k, ErrUnknownKey, "%q in a stream (known: name, from, to, grouping)%s", e.key, suggest(e.key, streamKeys))
		}
	}
	switch {
	case s.from == "" && len(*p.errs) == before:
		p.failf(n, ErrMissingKey, "a stream needs from: (the emitting component)")
	case s.to == "" && len(*p.errs) == before:
		p.failf(n, ErrMissingKey, "a stream needs to: (the subscribing bolt)")
	case grouping == nil:
		p.failf(n, ErrMissingKey, "a stream needs a grouping, like grouping: {type: SHUFFLE}")
	default:
		p.grouping(grouping, s)
	}
	if len(*p.errs) > before {
		return nil
	}
	return s
}

var groupingKeys = []string{"type", "args", "streamId", "go", "customClass"}

// grouping reads `grouping: {type, args, streamId}`, plus `go: name` (or
// `args: [name]`) for a CUSTOM grouping and Flux's customClass.
func (p *parser) grouping(n *yaml.Node, s *streamDef) {
	entries, ok := p.mapping(n, "grouping")
	if !ok {
		return
	}
	var args, custom, class *yaml.Node
	haveType := false
	for _, e := range entries {
		switch e.key {
		case "type":
			if t, ok := p.str(e.v, "grouping type"); ok {
				s.grouping.Type = GroupingType(strings.ToUpper(t))
				haveType = true
			}
		case "streamId":
			s.stream, _ = p.str(e.v, "streamId")
		case "args":
			args = e.v
		case "go":
			custom = e.v
		case "customClass":
			class = e.v
		default:
			p.failf(e.k, ErrUnknownKey, "%q in a grouping (known: type, args, streamId, go)%s", e.key, suggest(e.key, groupingKeys))
		}
	}
	if !haveType {
		p.failf(n, ErrMissingKey, "a grouping needs a type (SHUFFLE, FIELDS, ALL, GLOBAL, NONE, DIRECT, LOCAL_OR_SHUFFLE, PARTIAL_KEY or CUSTOM)")
		return
	}
	if s.grouping.Type != Custom {
		for _, extra := range []*yaml.Node{custom, class} {
			if extra != nil {
				p.failf(extra, ErrBadGrouping, "only a CUSTOM grouping names a custom grouping")
			}
		}
		if args != nil && !isNull(args) {
			s.grouping.Fields, _ = p.strList(args, "grouping args (field names)")
		}
		return
	}
	switch {
	case class != nil:
		p.customClass(class, s)
	case custom != nil:
		s.grouping.Custom, _ = p.str(custom, "the custom grouping name (go)")
		if args != nil && !isNull(args) {
			v, _ := p.value(args, "grouping args")
			if m, ok := v.(map[string]any); ok {
				s.grouping.CustomArgs = m
			} else {
				p.failf(args, ErrBadValue, "the args of a `go:` custom grouping must be a mapping")
			}
		}
	case args != nil:
		if names, ok := p.strList(args, "CUSTOM grouping args"); ok {
			if len(names) != 1 {
				p.failf(args, ErrBadGrouping, "a CUSTOM grouping's args name one registered grouping, got %q", names)
				return
			}
			s.grouping.Custom = names[0]
		}
	default:
		p.failf(n, ErrBadGrouping, "a CUSTOM grouping needs the name of a registered Go grouping: go: name")
	}
}

// checkStream reports, at the declaration's line, the stream problems
// validation would otherwise report at the component's.
func (p *parser) checkStream(at *yaml.Node, id string, fields []string) bool {
	switch {
	case id == "":
		p.failf(at, ErrBadID, "a declared stream has an empty id")
		return false
	case strings.HasPrefix(id, "__"):
		p.failf(at, ErrBadID, "stream %q: stream ids starting with \"__\" are reserved for system streams", id)
		return false
	}
	seen := make(map[string]bool, len(fields))
	for _, f := range fields {
		switch {
		case f == "":
			p.failf(at, ErrBadStream, "stream %q has an empty field name", id)
			return false
		case seen[f]:
			p.failf(at, ErrBadStream, "stream %q declares field %q twice", id, f)
			return false
		}
		seen[f] = true
	}
	return true
}
