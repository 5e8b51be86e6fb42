package cluster

import "errors"

// Errors returned by State operations, wrapped with context; test for them
// with errors.Is.
var (
	// ErrNotFound means the topology, assignment, supervisor or heartbeat
	// asked for does not exist.
	ErrNotFound = errors.New("not found")

	// ErrExists means a record written as new (Version 0) already exists.
	ErrExists = errors.New("already exists")

	// ErrVersionConflict means a compare-and-set write found a different
	// Version than the one it expected: someone else wrote in between. Read
	// again and retry.
	ErrVersionConflict = errors.New("version conflict")

	// ErrInvalid means an argument cannot be stored: an empty id, a negative
	// port and the like.
	ErrInvalid = errors.New("invalid argument")

	// ErrClosed means the State was closed.
	ErrClosed = errors.New("cluster state closed")
)
