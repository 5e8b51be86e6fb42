package topology

import "fmt"

// Tuple is one delivery of emitted values to a task. It is a small value:
// copying it is cheap and a bolt may keep it to ack later. The values are
// shared between every delivery of one emit and must not be modified.
type Tuple struct {
	values []any
	src    *Source
	// tracking is the runtime's record of the tuple in its tuple trees
	// (the acker's bookkeeping), nil when the acker does not follow it.
	tracking any
}

// NewTuple returns a tuple from src carrying values. tracking is the
// runtime's record of the tuple in its tuple trees, nil for a tuple the
// acker does not follow. It is for the runtime and tests: a test may pass
// any non-nil value to make a tuple that looks tracked.
func NewTuple(src *Source, values []any, tracking any) Tuple {
	return Tuple{values: values, src: src, tracking: tracking}
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

// Tracked reports whether the acker follows the tuple, so that acking or
// failing it reaches its spout.
func (t Tuple) Tracked() bool { return t.tracking != nil }

// Tracking returns what was given to NewTuple: what it holds is the
// runtime's business.
func (t Tuple) Tracking() any { return t.tracking }

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
