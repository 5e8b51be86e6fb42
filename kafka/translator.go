package kafka

import (
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/squallstream/squall/topology"
)

// The record fields a spout can emit, by name. The default is Storm's
// DefaultRecordTranslator: topic, partition, offset, key, value.
const (
	FieldTopic     = "topic"
	FieldPartition = "partition"
	FieldOffset    = "offset"
	FieldKey       = "key"
	FieldValue     = "value"
	// FieldTimestamp is the record's timestamp in milliseconds since the
	// epoch (int64).
	FieldTimestamp = "timestamp"
	// FieldHeaders is the record's headers as a map of name to value
	// (decoded like the value; the last of repeated names wins).
	FieldHeaders = "headers"
)

// DefaultFields are the fields the spout emits unless told otherwise.
var DefaultFields = []string{FieldTopic, FieldPartition, FieldOffset, FieldKey, FieldValue}

var recordFields = []string{FieldTopic, FieldPartition, FieldOffset, FieldKey, FieldValue, FieldTimestamp, FieldHeaders}

// maxFields is how many fields a record's tuple has at most.
const maxFields = 7

// Route says on which stream, and with which fields, the records of a
// topic are emitted.
type Route struct {
	Stream string
	Fields []string
}

// translator turns records into tuples: Storm's RecordTranslator, in the
// shapes of its DefaultRecordTranslator and ByTopicRecordTranslator.
type translator struct {
	def     Route
	byTopic map[string]Route
	// keyBytes and valueBytes emit keys and values as []byte instead of
	// strings.
	keyBytes, valueBytes bool
	// width is the number of fields of the widest route.
	width int
}

func newTranslator(def Route, byTopic map[string]Route, keyBytes, valueBytes bool) (*translator, error) {
	t := &translator{def: def, byTopic: byTopic, keyBytes: keyBytes, valueBytes: valueBytes}
	if t.def.Stream == "" {
		t.def.Stream = topology.DefaultStream
	}
	if t.def.Fields == nil {
		t.def.Fields = DefaultFields
	}
	check := func(what string, r *Route) error {
		if r.Stream == "" {
			r.Stream = topology.DefaultStream
		}
		if r.Fields == nil {
			r.Fields = DefaultFields
		}
		if len(r.Fields) == 0 {
			return fmt.Errorf("%w: %s: no fields to emit", ErrConfig, what)
		}
		for i, f := range r.Fields {
			if !slices.Contains(recordFields, f) {
				return fmt.Errorf("%w: %s: unknown record field %q (known: %v)", ErrConfig, what, f, recordFields)
			}
			if slices.Contains(r.Fields[:i], f) {
				return fmt.Errorf("%w: %s: field %q twice", ErrConfig, what, f)
			}
		}
		return nil
	}
	if err := check("fields", &t.def); err != nil {
		return nil, err
	}
	fieldsOf := map[string][]string{t.def.Stream: t.def.Fields}
	for _, topic := range sortedKeys(t.byTopic) {
		r := t.byTopic[topic]
		what := fmt.Sprintf("topic.streams[%s]", topic)
		if err := check(what, &r); err != nil {
			return nil, err
		}
		// One stream has one list of fields, as Storm's
		// ByTopicRecordTranslator insists.
		if prev, ok := fieldsOf[r.Stream]; ok && !slices.Equal(prev, r.Fields) {
			return nil, fmt.Errorf("%w: %s: stream %q is already declared with fields %v, not %v", ErrConfig, what, r.Stream, prev, r.Fields)
		}
		fieldsOf[r.Stream] = r.Fields
		t.byTopic[topic] = r
	}
	for _, fields := range fieldsOf {
		t.width = max(t.width, len(fields))
	}
	return t, nil
}

// streams returns the streams the translator emits on, the default
// route's first.
func (t *translator) streams() []topology.Stream {
	out := []topology.Stream{{ID: t.def.Stream, Fields: t.def.Fields}}
	for _, topic := range sortedKeys(t.byTopic) {
		r := t.byTopic[topic]
		if !slices.ContainsFunc(out, func(s topology.Stream) bool { return s.ID == r.Stream }) {
			out = append(out, topology.Stream{ID: r.Stream, Fields: r.Fields})
		}
	}
	return out
}

// translate returns the stream and values of a record's tuple, appending
// the values to dst (room for maxFields spares an allocation). topic is
// r.Topic as an interface, boxed once by the caller, or nil.
//
// A spout emits hundreds of thousands of records a second, so each
// allocation counts: a string key and value are made as one string.
func (t *translator) translate(r *kgo.Record, dst []any, topic any) (string, []any) {
	route := t.def
	if len(t.byTopic) > 0 {
		if rt, ok := t.byTopic[r.Topic]; ok {
			route = rt
		}
	}
	key, value := t.keyValue(r)
	values := dst
	for _, f := range route.Fields {
		var v any
		switch f {
		case FieldTopic:
			v = topic
			if v == nil {
				v = r.Topic
			}
		case FieldPartition:
			v = r.Partition
		case FieldOffset:
			v = r.Offset
		case FieldKey:
			v = key
		case FieldValue:
			v = value
		case FieldTimestamp:
			v = r.Timestamp.UnixMilli()
		case FieldHeaders:
			h := make(map[string]any, len(r.Headers))
			for _, kv := range r.Headers {
				h[kv.Key] = decodeBytes(kv.Value, t.valueBytes)
			}
			v = h
		}
		values = append(values, v)
	}
	return route.Stream, values
}

// keyValue returns a record's key and value as the tuple carries them.
// Two strings are made as one, whose halves they are: they live as long
// as the tuple either way.
func (t *translator) keyValue(r *kgo.Record) (key, value any) {
	if t.keyBytes || t.valueBytes || r.Key == nil || r.Value == nil {
		return decodeBytes(r.Key, t.keyBytes), decodeBytes(r.Value, t.valueBytes)
	}
	var b strings.Builder
	b.Grow(len(r.Key) + len(r.Value))
	b.Write(r.Key)
	b.Write(r.Value)
	both := b.String()
	return both[:len(r.Key)], both[len(r.Key):]
}

// decodeBytes returns a record's key or value as Storm's String (default)
// or ByteArray deserializers would: nil stays nil (a null key or a
// tombstone).
func decodeBytes(b []byte, raw bool) any {
	switch {
	case b == nil:
		return nil
	case raw:
		return b
	}
	return string(b)
}
