package topology

import (
	"maps"
	"slices"
)

// LinearDRPCBuilder is Storm's LinearDRPCTopologyBuilder for Go authors:
// the `drpc:` section of the topology format, in code.
//
//	b := topology.NewLinearDRPCBuilder("reach", "reach", registry)
//	b.AddBolt("tweeters", topology.BoltFunc(newTweeters), 4)
//	b.AddBolt("followers", topology.BoltFunc(newFollowers), 12).ShuffleGrouping()
//	b.AddBolt("uniquer", topology.BoltFunc(newUniquer), 6).FieldsGrouping("id", "follower")
//	b.AddBolt("count", topology.BoltFunc(newCount), 3).FieldsGrouping("id")
//	topo, err := b.Build()
//
// The registry must hold package drpc's components (drpc.Register).
// Go bolts that implement BatchFinisher hear when a request is complete;
// shell bolts do when declared with FinishBatch. A LinearDRPCBuilder is
// not safe for concurrent use.
type LinearDRPCBuilder struct {
	b           *Builder
	function    string
	servers     []string
	parallelism int
	bolts       []*LinearDRPCBolt
}

// NewLinearDRPCBuilder starts topology name, serving function; reg
// resolves the DRPC components.
func NewLinearDRPCBuilder(name, function string, reg *Registry) *LinearDRPCBuilder {
	return &LinearDRPCBuilder{b: NewBuilder(name).WithRegistry(reg), function: function, parallelism: 1}
}

// Servers sets the DRPC servers' invocation addresses (host:port), as the
// section's `servers`; by default drpc.servers at drpc.invocations.port.
func (l *LinearDRPCBuilder) Servers(addrs ...string) *LinearDRPCBuilder {
	l.servers = slices.Clone(addrs)
	return l
}

// SpoutParallelism sets the parallelism of the spout and prepare-request.
func (l *LinearDRPCBuilder) SpoutParallelism(n int) *LinearDRPCBuilder {
	l.parallelism = n
	return l
}

// AddConfig sets a topology-level configuration key.
func (l *LinearDRPCBuilder) AddConfig(key string, value any) *LinearDRPCBuilder {
	l.b.AddConfig(key, value)
	return l
}

// AddBolt appends a bolt to the chain. It subscribes to the previous bolt
// with the grouping its declarer sets: NONE for the first bolt, SHUFFLE
// after, by default.
func (l *LinearDRPCBuilder) AddBolt(id string, impl BoltImpl, parallelism int) *LinearDRPCBolt {
	d := &LinearDRPCBolt{decl: l.b.SetBolt(id, impl, parallelism)}
	l.bolts = append(l.bolts, d)
	return d
}

// LinearDRPCBolt sets a chain bolt's options and its subscription to the
// previous bolt.
type LinearDRPCBolt struct {
	decl        *BoltDeclarer
	input       *Input
	finishBatch bool
}

func (d *LinearDRPCBolt) group(stream string, g Grouping) *LinearDRPCBolt {
	d.input = &Input{Stream: stream, Grouping: g}
	return d
}

// ShuffleGrouping, NoneGrouping, AllGrouping, GlobalGrouping and
// LocalOrShuffleGrouping subscribe to the previous bolt's default stream.
func (d *LinearDRPCBolt) ShuffleGrouping() *LinearDRPCBolt {
	return d.group(DefaultStream, Grouping{Type: Shuffle})
}
func (d *LinearDRPCBolt) NoneGrouping() *LinearDRPCBolt {
	return d.group(DefaultStream, Grouping{Type: None})
}
func (d *LinearDRPCBolt) AllGrouping() *LinearDRPCBolt {
	return d.group(DefaultStream, Grouping{Type: All})
}
func (d *LinearDRPCBolt) GlobalGrouping() *LinearDRPCBolt {
	return d.group(DefaultStream, Grouping{Type: Global})
}
func (d *LinearDRPCBolt) LocalOrShuffleGrouping() *LinearDRPCBolt {
	return d.group(DefaultStream, Grouping{Type: LocalOrShuffle})
}

// FieldsGrouping subscribes to the previous bolt's default stream by
// fields; FieldsGroupingStream to another of its streams.
func (d *LinearDRPCBolt) FieldsGrouping(fields ...string) *LinearDRPCBolt {
	return d.FieldsGroupingStream(DefaultStream, fields...)
}
func (d *LinearDRPCBolt) FieldsGroupingStream(stream string, fields ...string) *LinearDRPCBolt {
	return d.group(stream, Grouping{Type: FieldsGrouping, Fields: slices.Clone(fields)})
}

// FinishBatch makes a shell bolt's child hear when a request is complete
// (`finishBatch: true`). A Go bolt hears it when it implements
// BatchFinisher.
func (d *LinearDRPCBolt) FinishBatch() *LinearDRPCBolt {
	d.finishBatch = true
	return d
}

// SetNumTasks sets the bolt's number of tasks.
func (d *LinearDRPCBolt) SetNumTasks(n int) *LinearDRPCBolt {
	d.decl.SetNumTasks(n)
	return d
}

// AddConfig sets a component-level configuration key.
func (d *LinearDRPCBolt) AddConfig(key string, value any) *LinearDRPCBolt {
	d.decl.AddConfig(key, value)
	return d
}

// Build validates and returns the topology, or a *ValidationError listing
// every problem.
func (l *LinearDRPCBuilder) Build() (*Topology, error) {
	t := &Topology{Name: l.b.name, Config: maps.Clone(l.b.config)}
	comps, errs, broken := l.b.resolve()
	chain := drpcChain{function: l.function, servers: l.servers, parallelism: l.parallelism}
	for i, c := range comps {
		d := l.bolts[i]
		chain.bolts = append(chain.bolts, chainBolt{c: c, input: d.input, finishBatch: d.finishBatch, broken: broken[c.ID]})
	}
	t.Components = chain.wire(l.b.reg, func(_ int, comp string, err error) {
		errs = append(errs, &Error{Component: comp, Err: err})
	})
	normalize(t)
	errs = append(errs, validate(t, nil, broken)...)
	if err := newValidationError(errs); err != nil {
		return nil, err
	}
	return t, nil
}
