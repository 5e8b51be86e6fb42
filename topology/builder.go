package topology

import (
	"fmt"
	"maps"
	"slices"
)

// SpoutFunc returns a fresh Go spout for one task. Builder.Build calls it
// once to ask the instance for its outputs (OutputDeclarer); the runtime
// calls it once per task.
type SpoutFunc func() (Spout, error)

// BoltFunc returns a fresh Go bolt for one task, like SpoutFunc.
type BoltFunc func() (Bolt, error)

// SpoutImpl is what Builder.SetSpout accepts: a SpoutFunc or a *ShellDef.
type SpoutImpl interface{ spoutImpl() }

// BoltImpl is what Builder.SetBolt accepts: a BoltFunc or a *ShellDef.
type BoltImpl interface{ boltImpl() }

func (SpoutFunc) spoutImpl() {}
func (BoltFunc) boltImpl()   {}
func (*ShellDef) spoutImpl() {}
func (*ShellDef) boltImpl()  {}

// ShellDef describes a multilang component for the Builder:
//
//	topology.Shell("python3", "split.py").Fields("word").Stream("rejects", "sentence", "reason")
type ShellDef struct {
	command []string
	streams []Stream
	env     map[string]string
}

// Shell returns a shell component running argv (no shell involved) in the
// topology's resources directory.
func Shell(argv ...string) *ShellDef {
	return &ShellDef{command: slices.Clone(argv)}
}

// Fields declares the default stream's fields.
func (s *ShellDef) Fields(fields ...string) *ShellDef {
	return s.Stream(DefaultStream, fields...)
}

// Stream declares a stream and its fields, replacing an earlier
// declaration of the same id.
func (s *ShellDef) Stream(id string, fields ...string) *ShellDef {
	st := Stream{ID: id, Fields: slices.Clone(fields)}
	if i := slices.IndexFunc(s.streams, func(x Stream) bool { return x.ID == id }); i >= 0 {
		s.streams[i] = st
	} else {
		s.streams = append(s.streams, st)
	}
	return s
}

// Env sets an environment variable of the child; PATH is appended to the
// inherited PATH, other keys replace.
func (s *ShellDef) Env(key, value string) *ShellDef {
	if s.env == nil {
		s.env = make(map[string]string)
	}
	s.env[key] = value
	return s
}

// Builder assembles a topology in Go, like Storm's TopologyBuilder, and
// validates it in Build exactly as LoadFile validates YAML:
//
//	b := topology.NewBuilder("wordcount")
//	b.SetSpout("sentences", builtin.RandomSentences(builtin.SentencesConfig{}), 1)
//	b.SetBolt("split", topology.Shell("python3", "split.py").Fields("word"), 4).ShuffleGrouping("sentences")
//	b.SetBolt("count", builtin.Count(builtin.CountConfig{Field: "word"}), 2).FieldsGrouping("split", "word")
//	t, err := b.Build()
//
// Mistakes in the calls (a second stream id, a bad task count, an
// unregistered custom grouping) are recorded and reported by Build along
// with every validation error. A Builder is not safe for concurrent use.
type Builder struct {
	name   string
	config Config
	reg    *Registry
	comps  []*builderComp
}

type builderComp struct {
	c     Component
	spout SpoutFunc
	bolt  BoltFunc
	shell *ShellDef
	errs  []error
}

// NewBuilder starts a topology named name.
func NewBuilder(name string) *Builder {
	return &Builder{name: name, config: Config{}}
}

// WithRegistry sets the Registry that CustomGrouping names are looked up
// in.
func (b *Builder) WithRegistry(r *Registry) *Builder {
	b.reg = r
	return b
}

// AddConfig sets a topology-level configuration key.
func (b *Builder) AddConfig(key string, value any) *Builder {
	b.config[key] = value
	return b
}

// SetSpout adds a spout run by `parallelism` executors.
func (b *Builder) SetSpout(id string, impl SpoutImpl, parallelism int) *SpoutDeclarer {
	bc := &builderComp{c: Component{ID: id, Kind: KindSpout, Parallelism: parallelism}}
	switch s := impl.(type) {
	case SpoutFunc:
		bc.spout = s
	case *ShellDef:
		bc.shell = s
	}
	b.comps = append(b.comps, bc)
	return &SpoutDeclarer{bc: bc}
}

// SetBolt adds a bolt run by `parallelism` executors; subscribe it to
// streams with the returned declarer's grouping methods.
func (b *Builder) SetBolt(id string, impl BoltImpl, parallelism int) *BoltDeclarer {
	bc := &builderComp{c: Component{ID: id, Kind: KindBolt, Parallelism: parallelism}}
	switch s := impl.(type) {
	case BoltFunc:
		bc.bolt = s
	case *ShellDef:
		bc.shell = s
	}
	b.comps = append(b.comps, bc)
	return &BoltDeclarer{bc: bc, b: b}
}

// SpoutDeclarer sets a spout's options.
type SpoutDeclarer struct{ bc *builderComp }

// SetNumTasks sets the number of tasks, at least the parallelism; by
// default it equals the parallelism.
func (d *SpoutDeclarer) SetNumTasks(n int) *SpoutDeclarer {
	d.bc.setNumTasks(n)
	return d
}

// AddConfig sets a component-level configuration key.
func (d *SpoutDeclarer) AddConfig(key string, value any) *SpoutDeclarer {
	d.bc.addConfig(key, value)
	return d
}

// BoltDeclarer sets a bolt's options and subscriptions. Each grouping
// method subscribes to a stream of component `from`: the default stream,
// or the single stream id given after it.
type BoltDeclarer struct {
	bc *builderComp
	b  *Builder
}

// SetNumTasks sets the number of tasks, at least the parallelism; by
// default it equals the parallelism.
func (d *BoltDeclarer) SetNumTasks(n int) *BoltDeclarer {
	d.bc.setNumTasks(n)
	return d
}

// AddConfig sets a component-level configuration key, such as
// topology.tick.tuple.freq.secs.
func (d *BoltDeclarer) AddConfig(key string, value any) *BoltDeclarer {
	d.bc.addConfig(key, value)
	return d
}

// Stateful makes the bolt stateful (Storm's IStatefulBolt, `state:` in
// YAML): its state is checkpointed in the topology's provider, and the
// topology gets the checkpoint spout and stream.
func (d *BoltDeclarer) Stateful() *BoltDeclarer {
	d.bc.c.Stateful = true
	return d
}

// Grouping subscribes to stream `stream` of `from` with any grouping.
func (d *BoltDeclarer) Grouping(from, stream string, g Grouping) *BoltDeclarer {
	g.Fields = slices.Clone(g.Fields)
	g.CustomArgs = maps.Clone(g.CustomArgs)
	d.bc.c.Inputs = append(d.bc.c.Inputs, Input{From: from, Stream: stream, Grouping: g})
	return d
}

func (d *BoltDeclarer) simple(t GroupingType, from string, stream []string) *BoltDeclarer {
	return d.Grouping(from, d.bc.streamArg(t, stream), Grouping{Type: t})
}

// ShuffleGrouping spreads tuples randomly and evenly over the bolt's tasks.
func (d *BoltDeclarer) ShuffleGrouping(from string, stream ...string) *BoltDeclarer {
	return d.simple(Shuffle, from, stream)
}

// LocalOrShuffleGrouping prefers tasks in the emitting worker.
func (d *BoltDeclarer) LocalOrShuffleGrouping(from string, stream ...string) *BoltDeclarer {
	return d.simple(LocalOrShuffle, from, stream)
}

// AllGrouping sends every tuple to every task.
func (d *BoltDeclarer) AllGrouping(from string, stream ...string) *BoltDeclarer {
	return d.simple(All, from, stream)
}

// GlobalGrouping sends every tuple to the task with the lowest id.
func (d *BoltDeclarer) GlobalGrouping(from string, stream ...string) *BoltDeclarer {
	return d.simple(Global, from, stream)
}

// NoneGrouping is SHUFFLE, as in Storm.
func (d *BoltDeclarer) NoneGrouping(from string, stream ...string) *BoltDeclarer {
	return d.simple(None, from, stream)
}

// DirectGrouping lets the emitter choose the task (EmitDirect); it makes
// the stream direct.
func (d *BoltDeclarer) DirectGrouping(from string, stream ...string) *BoltDeclarer {
	return d.simple(Direct, from, stream)
}

// FieldsGrouping sends tuples with equal values of fields to the same task,
// on the default stream of from.
func (d *BoltDeclarer) FieldsGrouping(from string, fields ...string) *BoltDeclarer {
	return d.Grouping(from, DefaultStream, Grouping{Type: FieldsGrouping, Fields: fields})
}

// FieldsGroupingStream is FieldsGrouping on a named stream.
func (d *BoltDeclarer) FieldsGroupingStream(from, stream string, fields ...string) *BoltDeclarer {
	return d.Grouping(from, stream, Grouping{Type: FieldsGrouping, Fields: fields})
}

// PartialKeyGrouping is FieldsGrouping balanced over two candidate tasks
// per key, on the default stream of from.
func (d *BoltDeclarer) PartialKeyGrouping(from string, fields ...string) *BoltDeclarer {
	return d.Grouping(from, DefaultStream, Grouping{Type: PartialKey, Fields: fields})
}

// PartialKeyGroupingStream is PartialKeyGrouping on a named stream.
func (d *BoltDeclarer) PartialKeyGroupingStream(from, stream string, fields ...string) *BoltDeclarer {
	return d.Grouping(from, stream, Grouping{Type: PartialKey, Fields: fields})
}

// CustomGrouping routes with the grouping registered under name in the
// Builder's Registry (see WithRegistry), called with no arguments; use
// Grouping with CustomArgs to pass some.
func (d *BoltDeclarer) CustomGrouping(from, name string, stream ...string) *BoltDeclarer {
	return d.Grouping(from, d.bc.streamArg(Custom, stream), Grouping{Type: Custom, Custom: name})
}

func (bc *builderComp) streamArg(t GroupingType, stream []string) string {
	switch len(stream) {
	case 0:
		return DefaultStream
	case 1:
		return stream[0]
	}
	bc.errs = append(bc.errs, fmt.Errorf("%w: %s grouping given %d stream ids %q, want at most one", ErrBadGrouping, t, len(stream), stream))
	return stream[0]
}

func (bc *builderComp) setNumTasks(n int) {
	if n < 1 {
		bc.errs = append(bc.errs, fmt.Errorf("%w: numTasks is %d, it must be at least 1", ErrBadParallelism, n))
		return
	}
	bc.c.NumTasks = n
}

func (bc *builderComp) addConfig(key string, value any) {
	if bc.c.Config == nil {
		bc.c.Config = Config{}
	}
	bc.c.Config[key] = value
}

// Build returns the validated topology, or a *ValidationError listing
// every problem. Each Go factory is called once to learn the component's
// outputs. Build may be called again after more changes.
func (b *Builder) Build() (*Topology, error) {
	t := &Topology{Name: b.name, Config: maps.Clone(b.config)}
	comps, errs, broken := b.resolve()
	t.Components = comps
	normalize(t)
	errs = append(errs, validate(t, nil, broken)...)
	if err := newValidationError(errs); err != nil {
		return nil, err
	}
	wireCheckpoints(t)
	return t, nil
}

// resolve turns the declared components into Components, calling each Go
// factory once for its outputs. broken holds those whose factory failed,
// so that validation does not report them again.
func (b *Builder) resolve() (comps []*Component, errs []*Error, broken map[string]bool) {
	broken = make(map[string]bool)
	fail := func(id string, err error) {
		errs = append(errs, &Error{Component: id, Err: err})
	}
	failBroken := func(id string, err error) {
		fail(id, err)
		broken[id] = true
	}
	for _, bc := range b.comps {
		for _, err := range bc.errs {
			fail(bc.c.ID, err)
		}
		c := bc.c
		c.Config = maps.Clone(bc.c.Config)
		c.Inputs = slices.Clone(bc.c.Inputs)
		switch {
		case bc.spout != nil:
			s, err := callFactory(bc.spout)
			if err != nil {
				failBroken(c.ID, err)
			}
			c.Outputs = declaredOutputs(s)
			c.Go = &GoSpec{NewSpout: bc.spout}
		case bc.bolt != nil:
			bolt, err := callFactory(bc.bolt)
			if err != nil {
				failBroken(c.ID, err)
			}
			c.Outputs = declaredOutputs(bolt)
			_, stateful := bolt.(StatefulBolt)
			c.Stateful = c.Stateful || stateful
			c.Go = &GoSpec{NewBolt: bc.bolt, stateful: stateful}
		case bc.shell != nil:
			c.Shell = &ShellSpec{Command: slices.Clone(bc.shell.command), Env: maps.Clone(bc.shell.env)}
			for _, s := range bc.shell.streams {
				c.Outputs = append(c.Outputs, Stream{ID: s.ID, Fields: slices.Clone(s.Fields)})
			}
		}
		for i, in := range c.Inputs {
			if in.Grouping.Type != Custom || in.Grouping.Custom == "" || in.Grouping.NewCustom != nil {
				continue
			}
			nc, err := b.reg.newCustom(in.Grouping.Custom, in.Grouping.CustomArgs)
			if err != nil {
				// Reported here, with the reason; the stub keeps validation
				// from reporting it again.
				fail(c.ID, err)
				nc = func() (CustomGrouping, error) { return nil, err }
			}
			c.Inputs[i].Grouping.NewCustom = nc
		}
		comps = append(comps, &c)
	}
	return comps, errs, broken
}

// callFactory calls a Go factory once, turning a nil instance or a panic
// into an error.
func callFactory[T any](f func() (T, error)) (v T, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: factory panicked: %v", ErrConstruct, p)
		}
	}()
	v, err = f()
	if err != nil {
		return v, fmt.Errorf("%w: %w", ErrConstruct, err)
	}
	if any(v) == nil {
		return v, fmt.Errorf("%w: factory returned nil", ErrConstruct)
	}
	return v, nil
}
