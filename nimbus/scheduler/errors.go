package scheduler

import "errors"

// Sentinel errors. Schedule and Rebalance wrap them with the topology id;
// test them with errors.Is.
var (
	// ErrNoSlots: no live supervisor offers a slot the topology may use,
	// so none of its executors can run. Having fewer slots than workers
	// requested is not an error (see Result.Short).
	ErrNoSlots = errors.New("no free slots")
	// ErrInvalidRequest: the Request is malformed: no topology id, no
	// executors, fewer than one worker requested, or executors that are
	// empty, repeated or overlapping.
	ErrInvalidRequest = errors.New("invalid scheduling request")
)
