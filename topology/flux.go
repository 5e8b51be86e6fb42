package topology

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Flux's generic multilang wrappers, which squall runs as shell components.
const (
	fluxShellSpout = "org.apache.storm.flux.wrappers.spouts.FluxShellSpout"
	fluxShellBolt  = "org.apache.storm.flux.wrappers.bolts.FluxShellBolt"
)

// fluxShellMethods are the config methods of FluxShellSpout and
// FluxShellBolt (and of Storm's ShellSpout/ShellBolt they extend) that
// squall honours.
var fluxShellMethods = []string{"setDefaultStream", "setNamedStream", "addComponentConfig", "setEnv", "changeChildCWD"}

// fluxClass reads the Flux parts of a `className:` component: the shell
// wrappers become shell components; any other class keeps its
// constructorArgs, to be mapped to a Go component through the Registry's
// class aliases when the topology is built.
func (p *parser) fluxClass(c *compDef, byKey map[string]kv) {
	ctor, haveCtor := byKey["constructorArgs"]
	methods, haveMethods := byKey["configMethods"]
	switch c.className {
	case fluxShellSpout, fluxShellBolt:
		want := KindSpout
		if c.className == fluxShellBolt {
			want = KindBolt
		}
		if c.kind != want {
			p.failf(byKey["className"].v, ErrBadComponent, "%s is a %s class, but it is listed under %ss", c.className, want, c.kind)
			return
		}
		if !haveCtor {
			p.failf(byKey["className"].k, ErrMissingKey, "%s needs constructorArgs: [[command, args...], [fields...]]", c.className)
			return
		}
		p.fluxShell(c, ctor.v, methods.v)
	default:
		if _, translated := p.reg.FluxTranslator(c.className); translated {
			// The translator sees the whole definition: references to
			// Flux components and config methods included.
			d := &fluxDef{id: c.id, className: c.className, pos: c.pos}
			if haveCtor {
				d.ctorArgs = p.fluxList(ctor.v, "constructorArgs")
			}
			if haveMethods {
				d.methods = p.fluxMethods(methods.v)
			}
			c.flux = d
			return
		}
		if haveCtor {
			c.ctorArgs = p.ctorArgs(ctor.v)
		}
		// A class squall does not map is reported as unknown when the
		// topology is built; only a mapped class has arguments to name.
		if alias, mapped := p.reg.Class(c.className); haveMethods && mapped {
			p.unsupported(methods.k, "Flux configMethods are", "%s is squall's Go component %q, which has no Java methods to call; give its arguments as constructorArgs: %s",
				c.className, alias.Name, ctorForm(alias.Params))
		}
	}
}

// ctorArgs decodes Flux constructorArgs, rejecting references to Flux
// components (`ref:`, `reflist:`).
func (p *parser) ctorArgs(n *yaml.Node) []any {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.failf(n, ErrBadValue, "constructorArgs must be a list")
		return nil
	}
	out := make([]any, 0, len(n.Content))
	for _, item := range n.Content {
		v, ok := p.value(item, "constructorArgs")
		if !ok {
			return nil
		}
		if m, isMap := v.(map[string]any); isMap && len(m) == 1 && (m["ref"] != nil || m["reflist"] != nil) {
			p.unsupported(item, "Flux references (ref, reflist) are", "they pass Java objects built by `components:`; give plain values")
			return nil
		}
		out = append(out, v)
	}
	return out
}

// fluxShell reads FluxShellSpout/FluxShellBolt constructorArgs
// ([[argv...]] or [[argv...], [fields...]]) and configMethods.
func (p *parser) fluxShell(c *compDef, ctor, methods *yaml.Node) {
	ctor = deref(ctor)
	if ctor.Kind != yaml.SequenceNode || len(ctor.Content) < 1 || len(ctor.Content) > 2 {
		p.failf(ctor, ErrBadValue, "constructorArgs of %s must be [[command, args...]] or [[command, args...], [fields...]]", c.className)
		return
	}
	argv, ok := p.strList(ctor.Content[0], "the command (first constructor argument)")
	if !ok {
		return
	}
	if len(argv) == 0 {
		p.failf(ctor.Content[0], ErrBadComponent, "the shell command is empty")
		return
	}
	c.shell = &ShellSpec{Command: argv}
	// Streams by id, in declaration order; later declarations replace
	// earlier ones, as Flux's map does.
	var streams []Stream
	setStream := func(at *yaml.Node, id string, fields []string) {
		if !p.checkStream(at, id, fields) {
			return
		}
		if i := slices.IndexFunc(streams, func(s Stream) bool { return s.ID == id }); i >= 0 {
			streams[i].Fields = fields
			return
		}
		streams = append(streams, Stream{ID: id, Fields: fields})
	}
	if len(ctor.Content) == 2 {
		if fields, ok := p.strList(ctor.Content[1], "the output fields (second constructor argument)"); ok {
			setStream(ctor.Content[1], DefaultStream, fields)
		}
	}
	if methods = deref(methods); methods != nil && !isNull(methods) {
		if methods.Kind != yaml.SequenceNode {
			p.failf(methods, ErrBadValue, "configMethods must be a list of {name, args}")
		} else {
			for _, m := range methods.Content {
				p.fluxShellMethod(c, m, setStream)
			}
		}
	}
	c.outputs = streams
}

func (p *parser) fluxShellMethod(c *compDef, n *yaml.Node, setStream func(*yaml.Node, string, []string)) {
	entries, ok := p.mapping(n, "a config method")
	if !ok {
		return
	}
	var name string
	var args []*yaml.Node
	var argsNode *yaml.Node
	for _, e := range entries {
		switch e.key {
		case "name":
			name, _ = p.str(e.v, "config method name")
		case "args":
			argsNode = deref(e.v)
			if argsNode.Kind != yaml.SequenceNode {
				p.failf(e.v, ErrBadValue, "config method args must be a list")
				return
			}
			args = argsNode.Content
		default:
			p.failf(e.k, ErrUnknownKey, "%q in a config method (known: name, args)", e.key)
			return
		}
	}
	at := argsNode
	if at == nil {
		at = deref(n)
	}
	want := func(count int, form string) bool {
		if len(args) != count {
			p.failf(at, ErrBadValue, "%s takes %s", name, form)
			return false
		}
		return true
	}
	switch name {
	case "":
		p.failf(n, ErrMissingKey, "a config method needs a name")
	case "setDefaultStream":
		if want(1, "one argument: [fields...]") {
			if fields, ok := p.strList(args[0], "setDefaultStream fields"); ok {
				setStream(args[0], DefaultStream, fields)
			}
		}
	case "setNamedStream":
		if want(2, "two arguments: stream id, [fields...]") {
			id, ok1 := p.str(args[0], "setNamedStream stream id")
			fields, ok2 := p.strList(args[1], "setNamedStream fields")
			if ok1 && ok2 {
				setStream(args[0], id, fields)
			}
		}
	case "addComponentConfig":
		if want(2, "two arguments: key, value") {
			key, ok1 := p.str(args[0], "addComponentConfig key")
			v, ok2 := p.value(args[1], "addComponentConfig value")
			if ok1 && ok2 {
				if c.config == nil {
					c.config, c.configPos = Config{}, map[string]pos{}
				}
				c.config[key] = v
				c.configPos[key] = pos{p.file, deref(args[0]).Line}
			}
		}
	case "setEnv":
		if want(1, "one argument: {NAME: value, ...}") {
			env, _ := p.mapping(args[0], "setEnv argument")
			for _, e := range env {
				if v, ok := p.str(e.v, "env "+e.key); ok {
					if c.shell.Env == nil {
						c.shell.Env = make(map[string]string, len(env))
					}
					c.shell.Env[e.key] = v
				}
			}
		}
	case "changeChildCWD":
		if want(1, "one argument: true or false") {
			if change, ok := p.boolean(args[0], "changeChildCWD argument"); ok && !change {
				p.unsupported(args[0], "Flux changeChildCWD(false) is", "squall always runs shell components in the topology's resources directory")
			}
		}
	default:
		p.unsupported(n, fmt.Sprintf("Flux config method %q of %s is", name, c.className), "squall supports %s%s", strings.Join(fluxShellMethods, ", "), suggest(name, fluxShellMethods))
	}
}

// customClass reads Flux's customClass of a CUSTOM grouping; the class is
// resolved through the Registry's class aliases when the topology is built.
func (p *parser) customClass(n *yaml.Node, s *streamDef) {
	entries, ok := p.mapping(n, "customClass")
	if !ok {
		return
	}
	for _, e := range entries {
		switch e.key {
		case "className":
			s.class, _ = p.str(e.v, "customClass className")
		case "constructorArgs":
			s.ctorArgs = p.ctorArgs(e.v)
		case "properties", "configMethods":
			p.unsupported(e.k, "Flux "+e.key+" of a custom grouping class are", "they call Java methods; give the grouping's arguments as constructorArgs")
		default:
			p.failf(e.k, ErrUnknownKey, "%q in customClass (known: className, constructorArgs)", e.key)
		}
	}
	if s.class == "" {
		p.failf(n, ErrMissingKey, "customClass needs a className")
	}
}

// resolveClass maps a Java class name and its positional constructor
// arguments to a registry name and Args, through the Registry's aliases.
func resolveClass(r *Registry, className string, ctorArgs []any, what string) (string, map[string]any, error) {
	alias, ok := r.Class(className)
	if !ok {
		return "", nil, fmt.Errorf("%w %q: squall runs no Java; %s", ErrUnknownClass, className, what)
	}
	if len(ctorArgs) > len(alias.Params) {
		return "", nil, fmt.Errorf("%w: class %s takes %d constructor arguments, got %d", ErrBadArgs, className, len(alias.Params), len(ctorArgs))
	}
	args := make(map[string]any, len(ctorArgs))
	for i, v := range ctorArgs {
		args[alias.Params[i]] = v
	}
	return alias.Name, args, nil
}

// ctorForm shows the constructorArgs a mapped class takes, e.g. "[n]".
func ctorForm(params []string) string {
	if len(params) == 0 {
		return "none"
	}
	return "[" + strings.Join(params, ", ") + "]"
}
