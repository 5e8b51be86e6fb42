package builtin

import (
	"fmt"
	"slices"
	"sync"

	"github.com/squallstream/squall/topology"
)

// CountConfig configures a CountBolt.
type CountConfig struct {
	// Field is the input field to count, also the name of the first
	// output field. Empty counts the first value of each tuple and names
	// the output fields "word" and "count", like Storm's TestWordCounter.
	Field string
	// Set, if non-nil, collects every CountBolt the factory creates, so a
	// test can read the totals of all tasks.
	Set *CountSet
}

// Count returns a factory of CountBolts for the Builder.
func Count(c CountConfig) topology.BoltFunc {
	return func() (topology.Bolt, error) {
		b := NewCountBolt(c)
		c.Set.add(b)
		return b, nil
	}
}

// CountBolt counts the tuples it gets per value of a field and emits, for
// each input, [value, count so far] on the default stream, anchored to the
// input, then acks the input. Counts are kept in memory. Tick tuples are
// acked and otherwise ignored.
type CountBolt struct {
	field string
	out   topology.BoltCollector
	// src and idx cache the field's position for the last source seen;
	// tuples of one task and stream share their Source.
	src    *topology.Source
	idx    int
	anchor [1]topology.Tuple

	// mu guards counts, which Snapshot reads from other goroutines.
	mu     sync.Mutex
	counts map[string]*int64
}

// NewCountBolt returns a CountBolt.
func NewCountBolt(c CountConfig) *CountBolt {
	return &CountBolt{field: c.Field, counts: make(map[string]*int64)}
}

// DeclareOutputs declares [field, "count"] on the default stream.
func (b *CountBolt) DeclareOutputs() []topology.Stream {
	first := b.field
	if first == "" {
		first = "word"
	}
	return []topology.Stream{{ID: topology.DefaultStream, Fields: []string{first, "count"}}}
}

// Prepare checks that every stream the bolt subscribes to has the field.
func (b *CountBolt) Prepare(ctx *topology.TaskContext, out topology.BoltCollector) error {
	b.out = out
	if ctx == nil {
		return nil
	}
	return b.checkInputs(ctx.Topology, ctx.ComponentID)
}

// Check checks, before the topology runs, that every stream the bolt
// subscribes to has the field.
func (b *CountBolt) Check(ctx *topology.CheckContext) error {
	return b.checkInputs(ctx.Topology, ctx.ComponentID)
}

func (b *CountBolt) checkInputs(t *topology.Topology, id string) error {
	if b.field == "" || t == nil {
		return nil
	}
	c := t.Component(id)
	if c == nil {
		return nil
	}
	for _, in := range c.Inputs {
		from := t.Component(in.From)
		if from == nil || in.Stream == topology.CheckpointStream {
			continue
		}
		if s, ok := from.Output(in.Stream); ok && !slices.Contains(s.Fields, b.field) {
			return fmt.Errorf("count bolt: stream %q of %q has %w %q (fields %q)", in.Stream, in.From, topology.ErrUnknownField, b.field, s.Fields)
		}
	}
	return nil
}

// Execute counts the tuple, emits the new count and acks.
func (b *CountBolt) Execute(t topology.Tuple) {
	if t.IsTick() {
		b.out.Ack(t)
		return
	}
	key, v, ok := b.counted(t)
	if !ok {
		b.out.Fail(t)
		return
	}
	b.mu.Lock()
	p := b.counts[key]
	if p == nil {
		p = new(int64)
		b.counts[key] = p
	}
	*p++
	n := *p
	b.mu.Unlock()
	b.emitCount(t, v, n)
}

// counted returns the counted value of t as the key to count it under,
// and as the value to emit: the tuple's own value when it is a string,
// which saves boxing the key again. ok is false for a stream without the
// field (reported by fieldIndex).
func (b *CountBolt) counted(t topology.Tuple) (key string, v any, ok bool) {
	i, ok := b.fieldIndex(t)
	if !ok {
		return "", nil, false
	}
	v = t.Value(i)
	key, isString := v.(string)
	if !isString {
		key = t.String(i)
		v = key
	}
	return key, v, true
}

// emitCount emits [v, n] anchored to t, and acks t.
func (b *CountBolt) emitCount(t topology.Tuple, v any, n int64) {
	b.anchor[0] = t
	b.out.Emit(topology.DefaultStream, b.anchor[:], []any{v, n})
	b.anchor[0] = topology.Tuple{}
	b.out.Ack(t)
}

// fieldIndex returns the position of the counted field in t, reporting a
// stream without it.
func (b *CountBolt) fieldIndex(t topology.Tuple) (int, bool) {
	if src := t.Source(); src != b.src {
		b.idx = 0
		if b.field != "" {
			i, ok := src.Fields.Index(b.field)
			if !ok {
				b.out.ReportError(fmt.Errorf("count bolt: stream %q of %q has no field %q", src.Stream, src.Component, b.field))
				return 0, false
			}
			b.idx = i
		}
		b.src = src
	}
	return b.idx, b.idx < t.Len()
}

// Cleanup does nothing; the counts stay readable.
func (b *CountBolt) Cleanup() {}

// Snapshot returns a copy of the counts. It is safe to call from any
// goroutine.
func (b *CountBolt) Snapshot() map[string]int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string]int64, len(b.counts))
	for k, p := range b.counts {
		out[k] = *p
	}
	return out
}

// CountSet collects the CountBolts of one component's tasks. It is safe
// for concurrent use.
type CountSet struct {
	mu    sync.Mutex
	bolts []*CountBolt
}

func (s *CountSet) add(b *CountBolt) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bolts = append(s.bolts, b)
}

// Snapshot returns the counts of every collected bolt, summed. With a
// fields grouping each value is counted by one task, so this is the total.
func (s *CountSet) Snapshot() map[string]int64 {
	s.mu.Lock()
	bolts := append([]*CountBolt(nil), s.bolts...)
	s.mu.Unlock()
	total := make(map[string]int64)
	for _, b := range bolts {
		for k, n := range b.Snapshot() {
			total[k] += n
		}
	}
	return total
}

// Len returns the number of bolts collected.
func (s *CountSet) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.bolts)
}
