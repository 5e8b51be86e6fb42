package metrics

import "errors"

var (
	// ErrTooManyMetrics: a task already has Config.MaxUserMetrics user
	// metrics and was given a new name; the update is dropped and counted
	// in the task's user-metrics-dropped.
	ErrTooManyMetrics = errors.New("too many user metrics")
	// ErrBadName: a user metric's name is empty, too long, not UTF-8 or
	// holds control characters.
	ErrBadName = errors.New("bad metric name")
	// ErrBadParams: the params of a metrics command do not fit any kind of
	// metric (see Task.Record).
	ErrBadParams = errors.New("bad metric params")
	// ErrKindMismatch: a user metric was updated as another kind than the
	// one it was registered as on first use.
	ErrKindMismatch = errors.New("metric kind mismatch")
	// ErrUnknownWindow: a window that is not one of Storm's four.
	ErrUnknownWindow = errors.New("unknown window")
	// ErrMerge: snapshots of different components, or a series that is of
	// different kinds in the two, cannot be merged.
	ErrMerge = errors.New("cannot merge snapshots")
	// ErrReporterConfig: topology.metrics.reporters,
	// topology.builtin.metrics.bucket.size.secs or
	// topology.user.metrics.max.names is malformed.
	ErrReporterConfig = errors.New("bad metrics reporter configuration")
)
