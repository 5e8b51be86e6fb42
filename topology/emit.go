package topology

import "fmt"

// EmitError is the panic value of a collector misused by a component:
// emitting on an undeclared stream, with the wrong number of values, with
// Emit on a direct stream or EmitDirect on a regular one or to a task that
// does not subscribe directly. It is a programming error, like an index out
// of range; the runtime recovers it, fails the input tuple and reports it.
type EmitError struct {
	Component string
	Stream    string
	// Reason says what was wrong.
	Reason string
}

func (e *EmitError) Error() string {
	return fmt.Sprintf("component %q emitted on stream %q: %s", e.Component, e.Stream, e.Reason)
}
