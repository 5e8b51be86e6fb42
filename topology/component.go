package topology

import "log/slog"

// Spout is a source of tuples, implemented in Go. The runtime calls every
// method from the task's executor goroutine, one call at a time.
type Spout interface {
	// Open is called once before any other method. The collector stays
	// valid until Close returns.
	Open(ctx *TaskContext, out SpoutCollector) error
	// Next emits zero or more tuples. It should return quickly and not
	// block: when it has nothing to emit the runtime backs off.
	Next()
	// Ack and Fail report the fate of a tuple emitted with a message id.
	Ack(msgID any)
	Fail(msgID any)
	// Close is called once when the task stops; it is not guaranteed to run
	// if the worker process is killed.
	Close()
}

// Activator is implemented by spouts that want to know when their topology
// is activated or deactivated (including right before it is killed).
type Activator interface {
	Activate()
	Deactivate()
}

// Bolt consumes tuples, implemented in Go. Execute is called from the task's
// executor goroutine; the collector may also be used from other goroutines,
// so a bolt may ack asynchronously.
type Bolt interface {
	// Prepare is called once before the first Execute.
	Prepare(ctx *TaskContext, out BoltCollector) error
	// Execute processes one input tuple. Every tuple must eventually be
	// acked or failed through the collector (the runtime never acks for a
	// bolt), unless acking is disabled.
	Execute(t Tuple)
	// Cleanup is called once when the task stops.
	Cleanup()
}

// OutputDeclarer is implemented by Go components that emit tuples: it
// returns the streams they emit on and each stream's fields. A component
// without it declares no streams.
type OutputDeclarer interface {
	DeclareOutputs() []Stream
}

// SpoutCollector is how a spout emits. It is safe for concurrent use.
//
// Emitting on an undeclared stream, with the wrong number of values, with
// Emit on a direct stream or EmitDirect on a regular one, is a programming
// error and panics with an *EmitError, as Storm throws.
type SpoutCollector interface {
	// Emit sends values on stream. A non-nil msgID makes the tuple reliable:
	// the spout later gets Ack(msgID) or Fail(msgID). Emit returns the ids of
	// the tasks the tuple was sent to; the slice is only valid until the
	// next call on the collector.
	Emit(stream string, values []any, msgID any) []int
	// EmitDirect sends values to one task of a subscriber of a direct stream.
	EmitDirect(task int, stream string, values []any, msgID any)
	// ReportError records an error for the component, visible in the API and
	// CLI, without stopping the task.
	ReportError(err error)
}

// BoltCollector is how a bolt emits, acks and fails. It is safe for
// concurrent use. Emit panics on misuse like SpoutCollector.Emit.
type BoltCollector interface {
	// Emit sends values on stream, anchored to the given input tuples (none
	// for an unanchored emit). The collector reads anchors only during the
	// call; it keeps values. It returns the target task ids; the slice is
	// only valid until the next call on the collector.
	Emit(stream string, anchors []Tuple, values []any) []int
	EmitDirect(task int, stream string, anchors []Tuple, values []any)
	Ack(t Tuple)
	Fail(t Tuple)
	// ResetTimeout restarts the message timeout of every spout tuple t
	// descends from, for bolts that hold tuples a long time.
	ResetTimeout(t Tuple)
	ReportError(err error)
}

// TaskContext is what a task knows about itself and its topology.
type TaskContext struct {
	Topology *Topology
	// Tasks maps task ids to components and back, for the whole topology.
	Tasks *TaskMap
	// TaskID and ComponentID identify this task.
	TaskID      int
	ComponentID string
	// Config is the merged configuration this component sees, including
	// cluster defaults, topology.name and storm.id.
	Config Config
	// ResourcesDir is the unpacked resources/ directory of the topology;
	// shell components run there.
	ResourcesDir string
	// PidDir is where child processes of this worker record their pids.
	PidDir string
	// Logger is the task's logger; its records already name the
	// component and the task.
	Logger *slog.Logger
	// RecordMetric sets a named metric of the task. Nil means metrics are
	// discarded.
	RecordMetric func(name string, value any)
}

// Component returns the task's component.
func (c *TaskContext) Component() *Component { return c.Topology.Component(c.ComponentID) }
