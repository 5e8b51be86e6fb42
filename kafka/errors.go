package kafka

import (
	"errors"
	"maps"
	"slices"
)

// Sentinel errors; test them with errors.Is.
var (
	// ErrConfig: a spout's or bolt's configuration is wrong: a missing or
	// malformed setting, a value out of range, an unknown name.
	ErrConfig = errors.New("bad kafka configuration")
	// ErrUnsupported: a storm-kafka-client or Kafka client setting that
	// squall cannot honour (Java classes, keystores, Kerberos, ...).
	ErrUnsupported = errors.New("not supported by squall")
	// ErrTuple: a tuple the bolt cannot turn into a record (no value
	// field, a value that cannot be serialized, a topic that is not a
	// string).
	ErrTuple = errors.New("tuple cannot be produced")
)

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
