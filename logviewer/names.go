package logviewer

// WorkerLogTopology checks a worker log's name as the logviewer does,
// "<topology-id>/<port>/<file>" with no "..", separator or NUL in an
// element, and returns its topology; an error wraps ErrBadPath. A proxy
// in front of logviewers (nimbus's) refuses with it what the logviewer
// would refuse anyway, before it connects.
func WorkerLogTopology(name string) (string, error) { return workerPath(name) }
