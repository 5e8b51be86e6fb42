package kafka

// inflight is the message id of a tuple emitted for a record: the record's
// place and what is needed to emit it again.
type inflight struct {
	part   *partition
	offset int64
	fails  int
	stream string
	values []any
}

type partition struct{}
