package topology

import (
	"errors"
	"fmt"
	"maps"
	"slices"
)

// SpoutFactory and BoltFactory build one instance of a registered Go
// component from its YAML arguments. They are called once when a topology
// is loaded, to check the arguments and ask the instance for its outputs
// (OutputDeclarer), and then once per task, so they must be cheap and must
// not start work: opening files, connecting and the like belong in
// Open/Prepare.
type (
	SpoutFactory func(args Args) (Spout, error)
	BoltFactory  func(args Args) (Bolt, error)
	// GroupingFactory builds one instance of a registered custom
	// grouping, with the same rules as SpoutFactory.
	GroupingFactory func(args Args) (CustomGrouping, error)
)

// CustomGrouping chooses the target tasks of a tuple for a CUSTOM
// grouping, like Storm's CustomStreamGrouping. One instance serves one
// emitting task's subscription: Prepare is called once, then ChooseTasks
// for every tuple, all from the emitting task's goroutine.
type CustomGrouping interface {
	// Prepare tells the grouping where it routes: ctx is the emitting
	// task's context, stream the stream id, and targets the subscriber's
	// task ids in ascending order.
	Prepare(ctx *TaskContext, stream string, targets []int)
	// ChooseTasks returns the tasks, among the targets, that get a tuple
	// with these values. The grouping may reuse the returned slice on the
	// next call; the caller must not keep or modify it.
	ChooseTasks(values []any) []int
}

// ClassAlias maps a Java class name used in Flux files to a registered Go
// component or grouping.
type ClassAlias struct {
	// Name is the registry name.
	Name string
	// Params names the class's constructor arguments in order: Flux's
	// positional constructorArgs become Args under these keys. Extra
	// constructorArgs are an error.
	Params []string
}

// Registry maps the names YAML uses (`go: name`, CUSTOM groupings, Flux
// class names) to Go factories. It is filled explicitly by the program,
// before any topology is loaded, and is then only read: it is safe for
// concurrent reads but not for registration concurrent with use.
type Registry struct {
	spouts    map[string]SpoutFactory
	bolts     map[string]BoltFactory
	groupings map[string]GroupingFactory
	classes   map[string]ClassAlias
	fluxes    map[string]FluxTranslator
}

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry {
	return &Registry{
		spouts:    make(map[string]SpoutFactory),
		bolts:     make(map[string]BoltFactory),
		groupings: make(map[string]GroupingFactory),
		classes:   make(map[string]ClassAlias),
		fluxes:    make(map[string]FluxTranslator),
	}
}

// RegisterSpout registers a Go spout under name. It panics if name is
// empty, f is nil or a spout is already registered under name: these are
// programming errors, as with http.ServeMux.
func (r *Registry) RegisterSpout(name string, f SpoutFactory) {
	register(r.spouts, "spout", name, f, f == nil)
}

// RegisterBolt registers a Go bolt under name, with RegisterSpout's rules.
// A spout and a bolt may share a name.
func (r *Registry) RegisterBolt(name string, f BoltFactory) {
	register(r.bolts, "bolt", name, f, f == nil)
}

// RegisterGrouping registers a custom grouping under name, with
// RegisterSpout's rules.
func (r *Registry) RegisterGrouping(name string, f GroupingFactory) {
	register(r.groupings, "grouping", name, f, f == nil)
}

// RegisterClass makes the Java class className, as written in Flux files,
// stand for the registered component or grouping `name`, whose Flux
// constructorArgs are named params in order. It panics if className is
// already registered or empty.
func (r *Registry) RegisterClass(className, name string, params ...string) {
	register(r.classes, "class", className, ClassAlias{Name: name, Params: params}, name == "")
}

// RegisterFluxTranslator makes the Java class className, as written in
// Flux files, stand for the Go component its translator names: unlike
// RegisterClass, the translator sees the whole definition (references to
// Flux components, properties, config methods). It panics if className
// already has a translator or is empty.
func (r *Registry) RegisterFluxTranslator(className string, f FluxTranslator) {
	register(r.fluxes, "flux translator", className, f, f == nil)
}

// FluxTranslator returns the translator registered for a Java class.
func (r *Registry) FluxTranslator(className string) (FluxTranslator, bool) {
	if r == nil {
		return nil, false
	}
	f, ok := r.fluxes[className]
	return f, ok
}

func register[F any](m map[string]F, what, name string, f F, isNil bool) {
	if name == "" || isNil {
		panic(fmt.Sprintf("topology: register %s %q: empty name or nil factory", what, name))
	}
	if _, dup := m[name]; dup {
		panic(fmt.Sprintf("topology: register %s %q: already registered", what, name))
	}
	m[name] = f
}

// Spout returns the spout factory registered under name.
func (r *Registry) Spout(name string) (SpoutFactory, bool) {
	if r == nil {
		return nil, false
	}
	f, ok := r.spouts[name]
	return f, ok
}

// Bolt returns the bolt factory registered under name.
func (r *Registry) Bolt(name string) (BoltFactory, bool) {
	if r == nil {
		return nil, false
	}
	f, ok := r.bolts[name]
	return f, ok
}

// Grouping returns the grouping factory registered under name.
func (r *Registry) Grouping(name string) (GroupingFactory, bool) {
	if r == nil {
		return nil, false
	}
	f, ok := r.groupings[name]
	return f, ok
}

// Class returns the alias registered for a Java class name.
func (r *Registry) Class(className string) (ClassAlias, bool) {
	if r == nil {
		return ClassAlias{}, false
	}
	a, ok := r.classes[className]
	return a, ok
}

// Names returns the registered spout, bolt and grouping names, each
// sorted, for listings and error messages.
func (r *Registry) Names() (spouts, bolts, groupings []string) {
	if r == nil {
		return nil, nil, nil
	}
	return slices.Sorted(maps.Keys(r.spouts)), slices.Sorted(maps.Keys(r.bolts)), slices.Sorted(maps.Keys(r.groupings))
}

// newSpoutSpec resolves a registered spout into a GoSpec, calling the
// factory once to check args and returning the instance's outputs.
func (r *Registry) newSpoutSpec(name string, args map[string]any) (*GoSpec, []Stream, error) {
	f, ok := r.Spout(name)
	if !ok {
		if _, isBolt := r.Bolt(name); isBolt {
			return nil, nil, fmt.Errorf("%w: %q is a bolt, not a spout", ErrBadComponent, name)
		}
		return nil, nil, r.notRegistered("spout", name)
	}
	s, err := construct(name, args, f)
	if err != nil {
		return nil, nil, err
	}
	spec := &GoSpec{Name: name, Args: args, NewSpout: func() (Spout, error) {
		return construct(name, args, f)
	}}
	return spec, declaredOutputs(s), nil
}

// newBoltSpec is newSpoutSpec for bolts.
func (r *Registry) newBoltSpec(name string, args map[string]any) (*GoSpec, []Stream, error) {
	f, ok := r.Bolt(name)
	if !ok {
		if _, isSpout := r.Spout(name); isSpout {
			return nil, nil, fmt.Errorf("%w: %q is a spout, not a bolt", ErrBadComponent, name)
		}
		return nil, nil, r.notRegistered("bolt", name)
	}
	b, err := construct(name, args, f)
	if err != nil {
		return nil, nil, err
	}
	_, stateful := b.(StatefulBolt)
	spec := &GoSpec{Name: name, Args: args, NewBolt: func() (Bolt, error) {
		return construct(name, args, f)
	}, stateful: stateful}
	return spec, declaredOutputs(b), nil
}

// newCustom resolves a registered grouping into a factory for g.NewCustom,
// checking the args once.
func (r *Registry) newCustom(name string, args map[string]any) (func() (CustomGrouping, error), error) {
	f, ok := r.Grouping(name)
	if !ok {
		return nil, r.notRegistered("grouping", name)
	}
	if _, err := construct(name, args, f); err != nil {
		return nil, err
	}
	return func() (CustomGrouping, error) { return construct(name, args, f) }, nil
}

func (r *Registry) notRegistered(what, name string) error {
	if r == nil {
		return fmt.Errorf("%s %q: %w (no registry of Go components was given)", what, name, ErrNotRegistered)
	}
	spouts, bolts, groupings := r.Names()
	names := map[string][]string{"spout": spouts, "bolt": bolts, "grouping": groupings}[what]
	return fmt.Errorf("%s %q: %w%s", what, name, ErrNotRegistered, suggest(name, names))
}

// construct calls a factory with fresh Args and checks that it read every
// argument and recorded no error.
func construct[T any](name string, args map[string]any, f func(Args) (T, error)) (v T, err error) {
	defer func() {
		if p := recover(); p != nil {
			var zero T
			v, err = zero, fmt.Errorf("%w %s: factory panicked: %v", ErrConstruct, name, p)
		}
	}()
	a := NewArgs(args)
	v, err = f(a)
	if err == nil && any(v) == nil {
		err = errors.New("factory returned nil")
	}
	if err == nil {
		err = a.Err()
	}
	if err == nil {
		if unused := a.Unused(); len(unused) > 0 {
			err = fmt.Errorf("%w %q: the constructor does not take it%s", ErrBadArgs, unused[0], suggest(unused[0], a.read()))
		}
	}
	if err != nil {
		var zero T
		return zero, fmt.Errorf("%w %s: %w", ErrConstruct, name, err)
	}
	return v, nil
}

// declaredOutputs asks a Go component instance for its streams.
func declaredOutputs(v any) []Stream {
	d, ok := v.(OutputDeclarer)
	if !ok {
		return nil
	}
	out := d.DeclareOutputs()
	streams := make([]Stream, len(out))
	for i, s := range out {
		streams[i] = Stream{ID: s.ID, Fields: slices.Clone(s.Fields), Direct: s.Direct}
	}
	return streams
}
