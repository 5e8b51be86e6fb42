package topology

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"gopkg.in/yaml.v3"
)

// FluxObject is a Java object as a Flux file describes it: its class, how
// it is made (constructorArgs, or a static factory with its args), its
// bean properties and its config methods, with every `ref:` to a Flux
// component replaced by that component's FluxObject (and every `reflist:`
// by a []*FluxObject). squall builds no Java objects; a FluxTranslator
// registered for a class reads its FluxObject to configure a Go component
// instead, as squall.KafkaSpout does for Storm's KafkaSpout.
type FluxObject struct {
	// ID is the object's id under `components:`; for the spout or bolt
	// itself, the component's id.
	ID        string
	ClassName string
	// ConstructorArgs, FactoryArgs, property values and method args are
	// plain YAML values (strings, numbers, booleans, lists, maps), or
	// *FluxObject and []*FluxObject for references.
	ConstructorArgs []any
	Factory         string
	FactoryArgs     []any
	Properties      []FluxProperty
	ConfigMethods   []FluxCall
	// Line is where the object is defined.
	Line int
}

// FluxProperty is one bean property of a FluxObject.
type FluxProperty struct {
	Name  string
	Value any
}

// FluxCall is one config method call of a FluxObject.
type FluxCall struct {
	Name string
	Args []any
}

// FluxTranslator turns the FluxObject of a spout or bolt whose class it is
// registered for into a registered Go component's name and arguments. Its
// errors say exactly what cannot be translated (wrap ErrUnsupported).
type FluxTranslator func(obj *FluxObject) (name string, args map[string]any, err error)

// fluxRef and fluxRefList are unresolved `ref:` and `reflist:` values.
type (
	fluxRef struct {
		id   string
		line int
	}
	fluxRefList []fluxRef
)

// fluxDef is a Flux object as parsed, before references are resolved.
type fluxDef struct {
	id, className, factory string
	ctorArgs, factoryArgs  []any
	properties             []FluxProperty
	methods                []FluxCall
	pos                    pos
	// haveFactory says `factory:` was given.
	haveFactory bool
}

// fluxValue decodes a Flux value, keeping {ref: id} and {reflist: [ids]}
// as references.
func (p *parser) fluxValue(n *yaml.Node, what string) (any, bool) {
	n = deref(n)
	if n != nil && n.Kind == yaml.MappingNode && len(n.Content) == 2 {
		switch k := deref(n.Content[0]).Value; k {
		case "ref":
			id, ok := p.str(n.Content[1], "ref")
			return fluxRef{id: id, line: n.Line}, ok
		case "reflist":
			ids, ok := p.strList(n.Content[1], "reflist")
			refs := make(fluxRefList, len(ids))
			for i, id := range ids {
				refs[i] = fluxRef{id: id, line: n.Line}
			}
			return refs, ok
		}
	}
	if n != nil && n.Kind == yaml.SequenceNode {
		out := make([]any, 0, len(n.Content))
		for _, item := range n.Content {
			v, ok := p.fluxValue(item, what)
			if !ok {
				return nil, false
			}
			out = append(out, v)
		}
		return out, true
	}
	return p.value(n, what)
}

// fluxList reads a list of Flux values (constructorArgs, factoryArgs,
// config method args).
func (p *parser) fluxList(n *yaml.Node, what string) []any {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.failf(n, ErrBadValue, "%s must be a list", what)
		return nil
	}
	v, _ := p.fluxValue(n, what)
	out, _ := v.([]any)
	return out
}

// fluxProperties reads `properties: [{name, value | ref}]`.
func (p *parser) fluxProperties(n *yaml.Node) []FluxProperty {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.failf(n, ErrBadValue, "properties must be a list of {name, value} or {name, ref}")
		return nil
	}
	var out []FluxProperty
	for _, item := range n.Content {
		entries, ok := p.mapping(item, "a property")
		if !ok {
			continue
		}
		var prop FluxProperty
		for _, e := range entries {
			switch e.key {
			case "name":
				prop.Name, _ = p.str(e.v, "property name")
			case "value":
				prop.Value, _ = p.fluxValue(e.v, "property "+prop.Name)
			case "ref":
				id, _ := p.str(e.v, "property ref")
				prop.Value = fluxRef{id: id, line: e.v.Line}
			default:
				p.failf(e.k, ErrUnknownKey, "%q in a property (known: name, value, ref)", e.key)
			}
		}
		out = append(out, prop)
	}
	return out
}

// fluxMethods reads `configMethods: [{name, args}]`.
func (p *parser) fluxMethods(n *yaml.Node) []FluxCall {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.failf(n, ErrBadValue, "configMethods must be a list of {name, args}")
		return nil
	}
	var out []FluxCall
	for _, item := range n.Content {
		entries, ok := p.mapping(item, "a config method")
		if !ok {
			continue
		}
		var call FluxCall
		for _, e := range entries {
			switch e.key {
			case "name":
				call.Name, _ = p.str(e.v, "config method name")
			case "args":
				call.Args = p.fluxList(e.v, "config method args")
			default:
				p.failf(e.k, ErrUnknownKey, "%q in a config method (known: name, args)", e.key)
			}
		}
		out = append(out, call)
	}
	return out
}

// fluxComponents reads Flux's top-level `components:`.
func (p *parser) fluxComponents(n *yaml.Node) map[string]*fluxDef {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.failf(n, ErrBadValue, "components must be a list of {id, className, ...}")
		return nil
	}
	out := map[string]*fluxDef{}
	for _, item := range n.Content {
		entries, ok := p.mapping(item, "a Flux component")
		if !ok {
			continue
		}
		d := &fluxDef{pos: pos{p.file, deref(item).Line}}
		for _, e := range entries {
			switch e.key {
			case "id":
				d.id, _ = p.str(e.v, "id")
			case "className":
				d.className, _ = p.str(e.v, "className")
			case "constructorArgs":
				d.ctorArgs = p.fluxList(e.v, "constructorArgs")
			case "factory":
				d.factory, _ = p.str(e.v, "factory")
				d.haveFactory = true
			case "factoryArgs":
				d.factoryArgs = p.fluxList(e.v, "factoryArgs")
			case "properties":
				d.properties = p.fluxProperties(e.v)
			case "configMethods":
				d.methods = p.fluxMethods(e.v)
			default:
				p.failf(e.k, ErrUnknownKey, "%q in a Flux component (known: id, className, constructorArgs, factory, factoryArgs, properties, configMethods)", e.key)
			}
		}
		switch {
		case d.id == "":
			p.failf(item, ErrMissingKey, "a Flux component has no id")
		case d.className == "":
			p.failf(item, ErrMissingKey, "Flux component %q has no className", d.id)
		case out[d.id] != nil:
			p.failf(item, ErrDuplicateID, "Flux component %q is defined twice (also at line %d)", d.id, out[d.id].pos.line)
		default:
			out[d.id] = d
		}
	}
	return out
}

// errFluxCycle: Flux components that reference each other in a loop.
var errFluxCycle = errors.New("references loop")

// fluxResolver resolves references to a file's Flux components, recording
// which were used.
type fluxResolver struct {
	defs map[string]*fluxDef
	used map[string]bool
	// resolving holds the ids being resolved, to catch loops.
	resolving []string
}

func (r *fluxResolver) object(d *fluxDef) (*FluxObject, error) {
	if slices.Contains(r.resolving, d.id) {
		return nil, fmt.Errorf("%w: Flux component %q: %w (%v)", ErrBadValue, d.id, errFluxCycle, append(r.resolving, d.id))
	}
	r.resolving = append(r.resolving, d.id)
	defer func() { r.resolving = r.resolving[:len(r.resolving)-1] }()
	o := &FluxObject{ID: d.id, ClassName: d.className, Factory: d.factory, Line: d.pos.line}
	var err error
	if o.ConstructorArgs, err = r.values(d.ctorArgs); err != nil {
		return nil, err
	}
	if o.FactoryArgs, err = r.values(d.factoryArgs); err != nil {
		return nil, err
	}
	for _, p := range d.properties {
		v, err := r.value(p.Value)
		if err != nil {
			return nil, err
		}
		o.Properties = append(o.Properties, FluxProperty{Name: p.Name, Value: v})
	}
	for _, m := range d.methods {
		args, err := r.values(m.Args)
		if err != nil {
			return nil, err
		}
		o.ConfigMethods = append(o.ConfigMethods, FluxCall{Name: m.Name, Args: args})
	}
	return o, nil
}

func (r *fluxResolver) values(vs []any) ([]any, error) {
	if vs == nil {
		return nil, nil
	}
	out := make([]any, len(vs))
	for i, v := range vs {
		var err error
		if out[i], err = r.value(v); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (r *fluxResolver) value(v any) (any, error) {
	switch x := v.(type) {
	case fluxRef:
		return r.ref(x)
	case fluxRefList:
		out := make([]*FluxObject, len(x))
		for i, ref := range x {
			o, err := r.ref(ref)
			if err != nil {
				return nil, err
			}
			out[i] = o
		}
		return out, nil
	case []any:
		return r.values(x)
	}
	return v, nil
}

// unused returns, sorted, the ids of the components nothing referred to.
func (r *fluxResolver) unused() []string {
	var out []string
	for _, id := range slices.Sorted(maps.Keys(r.defs)) {
		if !r.used[id] {
			out = append(out, id)
		}
	}
	return out
}

func (r *fluxResolver) ref(ref fluxRef) (*FluxObject, error) {
	d := r.defs[ref.id]
	if d == nil {
		return nil, fmt.Errorf("%w: ref %q (line %d) names no Flux component%s", ErrUnknownComponent, ref.id, ref.line, suggest(ref.id, slices.Sorted(maps.Keys(r.defs))))
	}
	r.used[ref.id] = true
	return r.object(d)
}
