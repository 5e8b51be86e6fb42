package topology

import (
	"fmt"
	"sync/atomic"
)

// Tuple is one delivery of emitted values to a task. It is a small value:
// copying it is cheap and a bolt may keep it to ack later. The values are
// shared between every delivery of one emit and must not be modified.
type Tuple struct {
	values []any
	src    *Source
	anchor *Anchor
}

// NewTuple returns a tuple from src carrying values. anchor is nil for a
// tuple that is not tracked by the acker. It is for the runtime and tests.
func NewTuple(src *Source, values []any, anchor *Anchor) Tuple {
	return Tuple{values: values, src: src, anchor: anchor}
}

// Source describes the task and stream a tuple comes from. One Source is
// shared by every tuple a task emits on a stream.
type Source struct {
	Component string
	Task      int
	Stream    string
	Fields    *Fields
	// StreamIndex is a small number the runtime gives each (Component,
	// Stream) pair of the topology, to find per-stream statistics fast.
	StreamIndex int
}

// TickSource is the source of tick tuples.
var TickSource = &Source{Component: SystemComponent, Task: SystemTaskID, Stream: TickStream, Fields: NewFields("rate_secs")}

// Values returns the tuple's values. The caller must not modify them.
func (t Tuple) Values() []any { return t.values }

// Len returns the number of values.
func (t Tuple) Len() int { return len(t.values) }

// Value returns the i-th value.
func (t Tuple) Value(i int) any { return t.values[i] }

// ValueByField returns the value of the named field and whether the
// tuple's stream declares it.
func (t Tuple) ValueByField(name string) (any, bool) {
	i, ok := t.src.Fields.Index(name)
	if !ok || i >= len(t.values) {
		return nil, false
	}
	return t.values[i], true
}

// String returns the i-th value if it is a string, else its fmt form.
func (t Tuple) String(i int) string {
	if s, ok := t.values[i].(string); ok {
		return s
	}
	return fmt.Sprint(t.values[i])
}

// Source returns where the tuple comes from.
func (t Tuple) Source() *Source { return t.src }

// SourceComponent, SourceTask and SourceStream are shorthands for Source().
func (t Tuple) SourceComponent() string { return t.src.Component }
func (t Tuple) SourceTask() int         { return t.src.Task }
func (t Tuple) SourceStream() string    { return t.src.Stream }

// Fields returns the declared fields of the tuple's stream.
func (t Tuple) Fields() *Fields { return t.src.Fields }

// IsTick reports whether t is a tick tuple (topology.tick.tuple.freq.secs).
func (t Tuple) IsTick() bool {
	return t.src.Component == SystemComponent && t.src.Stream == TickStream
}

// Anchor returns the tuple's place in tuple trees, nil if untracked.
func (t Tuple) Anchor() *Anchor { return t.anchor }

// Fields is a stream's list of field names with an index for lookups.
type Fields struct {
	names []string
	index map[string]int
}

// NewFields returns the field list names.
func NewFields(names ...string) *Fields {
	f := &Fields{names: names, index: make(map[string]int, len(names))}
	for i, n := range names {
		f.index[n] = i
	}
	return f
}

// Names returns the field names. The caller must not modify them.
func (f *Fields) Names() []string { return f.names }

// Len returns the number of fields.
func (f *Fields) Len() int { return len(f.names) }

// Index returns the position of a field.
func (f *Fields) Index(name string) (int, bool) {
	i, ok := f.index[name]
	return i, ok
}

// Edge is a tuple's edge in one tuple tree: the tree's root id (the spout
// tuple's id) and the random id of this tuple within it.
type Edge struct {
	Root, ID uint64
}

// Anchor records, for a tracked tuple delivery, its edge in every tuple tree
// it belongs to, and accumulates the XOR of the ids of tuples later anchored
// to it, which the acker needs when this tuple is acked. Its methods are safe
// for concurrent use.
type Anchor struct {
	edges []Edge
	// inline holds the edge of a tuple in a single tree, the usual case,
	// so that such an anchor is one allocation.
	inline   [1]Edge
	children atomic.Uint64
	// sampled is when the runtime started executing the tuple (unix ns),
	// if it measures this tuple's latencies; 0 otherwise.
	sampled atomic.Int64
}

// NewAnchor returns the anchor of a tuple with the given edges.
func NewAnchor(edges []Edge) *Anchor { return &Anchor{edges: edges} }

// NewAnchorEdge returns the anchor of a tuple in a single tuple tree.
func NewAnchorEdge(e Edge) *Anchor {
	a := &Anchor{inline: [1]Edge{e}}
	a.edges = a.inline[:]
	return a
}

// Edges returns the tuple's edges. The caller must not modify them.
func (a *Anchor) Edges() []Edge { return a.edges }

// AddChild folds the id of a tuple anchored to this one into the XOR the
// acker will receive.
func (a *Anchor) AddChild(id uint64) {
	for {
		old := a.children.Load()
		if a.children.CompareAndSwap(old, old^id) {
			return
		}
	}
}

// Children returns the XOR of the ids of tuples anchored to this one.
func (a *Anchor) Children() uint64 { return a.children.Load() }

// SetSampled records when the runtime started executing the tuple, for
// its process latency; SampledAt returns it (0 if never set).
func (a *Anchor) SetSampled(unixNanos int64) { a.sampled.Store(unixNanos) }
func (a *Anchor) SampledAt() int64           { return a.sampled.Load() }
