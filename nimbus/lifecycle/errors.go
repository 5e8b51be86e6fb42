package lifecycle

import "errors"

// Sentinel errors returned by Transition, wrapped with what was refused;
// test them with errors.Is.
var (
	// ErrInvalidTransition: the topology's status does not accept the
	// event, as in "cannot activate a KILLED topology".
	ErrInvalidTransition = errors.New("invalid transition")
	// ErrBadEvent: the event is malformed: an unknown kind, or rebalance
	// options asking for negative workers or fewer than one executor.
	ErrBadEvent = errors.New("bad event")
	// ErrBadState: the state holds an unknown status.
	ErrBadState = errors.New("bad topology state")
)
