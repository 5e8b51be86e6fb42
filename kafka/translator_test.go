package kafka

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/squallstream/squall/topology"
)

func TestTranslate(t *testing.T) {
	rec := &kgo.Record{
		Topic: "orders", Partition: 3, Offset: 42,
		Key: []byte("k1"), Value: []byte(`{"n":1}`),
		Timestamp: time.UnixMilli(1700000000123),
		Headers:   []kgo.RecordHeader{{Key: "trace", Value: []byte("abc")}},
	}
	tombstone := &kgo.Record{Topic: "audit", Partition: 0, Offset: 7}
	tests := []struct {
		name       string
		def        Route
		byTopic    map[string]Route
		bytes      bool
		rec        *kgo.Record
		wantStream string
		want       []any
	}{
		{"default", Route{}, nil, false, rec, "default", []any{"orders", int32(3), int64(42), "k1", `{"n":1}`}},
		{"chosen fields", Route{Fields: []string{"value", "timestamp", "headers"}}, nil, false, rec, "default",
			[]any{`{"n":1}`, int64(1700000000123), map[string]any{"trace": "abc"}}},
		{"bytes", Route{Fields: []string{"key", "value"}}, nil, true, rec, "default", []any{[]byte("k1"), []byte(`{"n":1}`)}},
		{"null key and value", Route{Fields: []string{"key", "value"}}, nil, false, tombstone, "default", []any{nil, nil}},
		{"by topic", Route{Stream: "main"}, map[string]Route{"audit": {Stream: "audit", Fields: []string{"offset"}}}, false, tombstone, "audit", []any{int64(7)}},
		{"other topics take the default", Route{Stream: "main"}, map[string]Route{"audit": {Stream: "audit", Fields: []string{"offset"}}}, false, rec, "main",
			[]any{"orders", int32(3), int64(42), "k1", `{"n":1}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := newTranslator(tt.def, tt.byTopic, tt.bytes, tt.bytes)
			if err != nil {
				t.Fatal(err)
			}
			stream, values := tr.translate(tt.rec, nil, nil)
			if stream != tt.wantStream || !reflect.DeepEqual(values, tt.want) {
				t.Errorf("translate = %s %#v, want %s %#v", stream, values, tt.wantStream, tt.want)
			}
		})
	}
}

// A record's tuple costs the spout few allocations: with the default
// fields the offset's box, one string for key and value, and their two
// boxes, when the caller gives room for the values and the topic boxed.
func TestTranslateAllocations(t *testing.T) {
	tr, err := newTranslator(Route{}, nil, false, false)
	if err != nil {
		t.Fatal(err)
	}
	rec := &kgo.Record{Topic: "orders", Partition: 3, Offset: 123456, Key: []byte("k1"), Value: []byte("the value")}
	var topic any = rec.Topic
	var dst [maxFields]any
	var values []any
	allocs := testing.AllocsPerRun(1000, func() {
		_, values = tr.translate(rec, dst[:0], topic)
	})
	want := []any{"orders", int32(3), int64(123456), "k1", "the value"}
	if !reflect.DeepEqual(values, want) {
		t.Fatalf("translate = %#v, want %#v", values, want)
	}
	if allocs > 4 {
		t.Errorf("translate allocates %v times per record, want at most 4", allocs)
	}
}

func TestTranslatorStreams(t *testing.T) {
	tr, err := newTranslator(Route{Stream: "STREAM_1", Fields: []string{"topic", "key", "value"}}, map[string]Route{
		"topic_2": {Stream: "STREAM_2", Fields: []string{"key", "value"}},
		"topic_3": {Stream: "STREAM_2", Fields: []string{"key", "value"}},
		"topic_4": {Stream: "STREAM_1", Fields: []string{"topic", "key", "value"}},
	}, false, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []topology.Stream{{ID: "STREAM_1", Fields: []string{"topic", "key", "value"}}, {ID: "STREAM_2", Fields: []string{"key", "value"}}}
	if got := tr.streams(); !reflect.DeepEqual(got, want) {
		t.Errorf("streams() = %v, want %v", got, want)
	}
}

func TestTranslatorErrors(t *testing.T) {
	tests := []struct {
		name    string
		def     Route
		byTopic map[string]Route
	}{
		{"unknown field", Route{Fields: []string{"topic", "vaule"}}, nil},
		{"no fields", Route{Fields: []string{}}, nil},
		{"field twice", Route{Fields: []string{"key", "key"}}, nil},
		{"one stream two field lists", Route{}, map[string]Route{"t": {Fields: []string{"key"}}}},
		{"bad field of a topic", Route{}, map[string]Route{"t": {Stream: "s", Fields: []string{"partiton"}}}},
	}
	for _, tt := range tests {
		if _, err := newTranslator(tt.def, tt.byTopic, false, false); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: newTranslator = %v, want ErrConfig", tt.name, err)
		}
	}
}
