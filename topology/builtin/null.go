package builtin

import (
	"slices"

	"github.com/squallstream/squall/topology"
)

// Null returns a factory of NullBolts for the Builder.
func Null() topology.BoltFunc {
	return func() (topology.Bolt, error) { return &NullBolt{}, nil }
}

// NullBolt drops every tuple. It acks tracked tuples and does nothing at
// all for untracked ones, so it measures the cost of delivery alone.
type NullBolt struct {
	out topology.BoltCollector
}

// Prepare keeps the collector.
func (b *NullBolt) Prepare(ctx *topology.TaskContext, out topology.BoltCollector) error {
	b.out = out
	return nil
}

// Execute acks the tuple if it is tracked.
func (b *NullBolt) Execute(t topology.Tuple) {
	if t.Tracked() {
		b.out.Ack(t)
	}
}

// Cleanup does nothing.
func (b *NullBolt) Cleanup() {}

// Identity returns a factory of IdentityBolts for the Builder.
func Identity(fields ...string) topology.BoltFunc {
	fields = slices.Clone(fields)
	return func() (topology.Bolt, error) { return NewIdentityBolt(fields...), nil }
}

// IdentityBolt re-emits each input's values, anchored to it, on the default
// stream, which it declares with the given fields, then acks the input.
// Tick tuples are acked and not re-emitted.
type IdentityBolt struct {
	fields []string
	out    topology.BoltCollector
	anchor [1]topology.Tuple
}

// NewIdentityBolt returns an IdentityBolt declaring fields.
func NewIdentityBolt(fields ...string) *IdentityBolt {
	return &IdentityBolt{fields: slices.Clone(fields)}
}

// DeclareOutputs declares the default stream.
func (b *IdentityBolt) DeclareOutputs() []topology.Stream {
	return []topology.Stream{{ID: topology.DefaultStream, Fields: slices.Clone(b.fields)}}
}

// Prepare keeps the collector.
func (b *IdentityBolt) Prepare(ctx *topology.TaskContext, out topology.BoltCollector) error {
	b.out = out
	return nil
}

// Execute re-emits the values (the same slice: values are never modified)
// and acks.
func (b *IdentityBolt) Execute(t topology.Tuple) {
	if !t.IsTick() {
		b.anchor[0] = t
		b.out.Emit(topology.DefaultStream, b.anchor[:], t.Values())
		b.anchor[0] = topology.Tuple{}
	}
	b.out.Ack(t)
}

// Cleanup does nothing.
func (b *IdentityBolt) Cleanup() {}
