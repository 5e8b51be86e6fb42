package builtin

import (
	"sync"

	"github.com/squallstream/squall/topology"
)

// emitted is one Emit call seen by a fake collector.
type emitted struct {
	stream  string
	values  []any
	msgID   any
	anchors []topology.Tuple
}

// fakeSpoutCollector records what a spout emits.
type fakeSpoutCollector struct {
	emits []emitted
	errs  []error
}

func (c *fakeSpoutCollector) Emit(stream string, values []any, msgID any) []int {
	c.emits = append(c.emits, emitted{stream: stream, values: values, msgID: msgID})
	return nil
}

func (c *fakeSpoutCollector) EmitDirect(task int, stream string, values []any, msgID any) {
	panic("unexpected EmitDirect")
}

func (c *fakeSpoutCollector) ReportError(err error) { c.errs = append(c.errs, err) }

// nopSpoutCollector discards everything, for allocation tests.
type nopSpoutCollector struct{}

func (nopSpoutCollector) Emit(string, []any, any) []int      { return nil }
func (nopSpoutCollector) EmitDirect(int, string, []any, any) {}
func (nopSpoutCollector) ReportError(error)                  {}

// fakeBoltCollector records what a bolt emits, acks and fails.
type fakeBoltCollector struct {
	mu     sync.Mutex
	emits  []emitted
	acked  []topology.Tuple
	failed []topology.Tuple
	errs   []error
}

func (c *fakeBoltCollector) Emit(stream string, anchors []topology.Tuple, values []any) []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	// The collector may not keep anchors; copy them.
	c.emits = append(c.emits, emitted{stream: stream, values: values, anchors: append([]topology.Tuple(nil), anchors...)})
	return nil
}

func (c *fakeBoltCollector) EmitDirect(task int, stream string, anchors []topology.Tuple, values []any) {
	panic("unexpected EmitDirect")
}

func (c *fakeBoltCollector) Ack(t topology.Tuple) {
	c.mu.Lock()
	c.acked = append(c.acked, t)
	c.mu.Unlock()
}
func (c *fakeBoltCollector) Fail(t topology.Tuple) {
	c.mu.Lock()
	c.failed = append(c.failed, t)
	c.mu.Unlock()
}
func (c *fakeBoltCollector) ResetTimeout(t topology.Tuple) {}
func (c *fakeBoltCollector) ReportError(err error) {
	c.mu.Lock()
	c.errs = append(c.errs, err)
	c.mu.Unlock()
}

// nopBoltCollector discards everything, for allocation tests.
type nopBoltCollector struct{}

func (nopBoltCollector) Emit(string, []topology.Tuple, []any) []int      { return nil }
func (nopBoltCollector) EmitDirect(int, string, []topology.Tuple, []any) {}
func (nopBoltCollector) Ack(topology.Tuple)                              {}
func (nopBoltCollector) Fail(topology.Tuple)                             {}
func (nopBoltCollector) ResetTimeout(topology.Tuple)                     {}
func (nopBoltCollector) ReportError(error)                               {}

// source returns a tuple source on the default stream with fields.
func source(component string, fields ...string) *topology.Source {
	return &topology.Source{Component: component, Task: 1, Stream: topology.DefaultStream, Fields: topology.NewFields(fields...)}
}

// tracked returns a tuple that looks followed by the acker.
func tracked(src *topology.Source, values ...any) topology.Tuple {
	return topology.NewTuple(src, values, new(int))
}

func tick() topology.Tuple { return topology.NewTuple(topology.TickSource, []any{5}, nil) }
