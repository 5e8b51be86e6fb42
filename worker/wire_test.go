package worker

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/squallstream/squall/internal/intern"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/worker/acker"
)

// fixedSources resolves every source to one stream of fields a, b.
type fixedSources struct{}

var wireSrc = &topology.Source{Component: "c", Task: 3, Stream: "s", Fields: topology.NewFields("a", "b"), StreamIndex: 2}

func (fixedSources) source(task, stream int) (*topology.Source, error) {
	if task != 3 || stream != 2 {
		return nil, errors.New("unknown source")
	}
	return wireSrc, nil
}

func TestWireRoundTrip(t *testing.T) {
	values := []any{nil, true, false, int64(-5), uint64(math.MaxUint64), 2.5, "héllo", []byte{0, 1},
		[]any{int64(1), "x", []any{}}, map[string]any{"k": int64(2), "z": nil}}
	msgs := []message{
		{kind: kindTuple, task: 9, tuple: topology.NewTuple(wireSrc, values, nil)},
		{kind: kindTuple, task: 10, tuple: topology.NewTuple(wireSrc, []any{"a", int64(1)}, acker.NewAnchor(acker.Edge{Root: 1, ID: 2}))},
		{kind: kindTuple, task: 11, tuple: topology.NewTuple(wireSrc, []any{"a", 1}, acker.NewMultiAnchor([]acker.Edge{{Root: 3, ID: 4}, {Root: 5, ID: 6}}))},
		{kind: kindInit, task: 1, from: 7, root: math.MaxUint64, val: 12},
		{kind: kindAck, task: 1, root: 4, val: 5},
		{kind: kindComplete, task: 7, root: 8},
	}
	var frame []byte
	for i := range msgs {
		var err error
		if frame, err = appendMessage(frame, &msgs[i]); err != nil {
			t.Fatal(err)
		}
	}
	r := wireReader{b: frame, values: &intern.Table{}} // as the receiver reads
	for i, want := range msgs {
		var got message
		if err := r.next(&got, fixedSources{}); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if got.kind != want.kind || got.task != want.task || got.root != want.root || got.val != want.val || got.from != want.from {
			t.Errorf("message %d = %+v, want %+v", i, got, want)
		}
		if want.kind == kindTuple {
			wv := want.tuple.Values()
			if i == 2 {
				wv = []any{"a", int64(1)} // every integer arrives as int64
			}
			if !reflect.DeepEqual(got.tuple.Values(), wv) || got.tuple.Source() != wireSrc {
				t.Errorf("message %d tuple = %v from %v, want %v", i, got.tuple.Values(), got.tuple.Source(), wv)
			}
			_, gotEdges := anchorOf(got.tuple)
			_, wantEdges := anchorOf(want.tuple)
			if !reflect.DeepEqual(gotEdges, wantEdges) {
				t.Errorf("message %d edges = %v, want %v", i, gotEdges, wantEdges)
			}
		}
	}
	if !r.done() {
		t.Errorf("%d bytes left", len(frame)-r.off)
	}
}

func TestWireUnsendable(t *testing.T) {
	type custom struct{ X int }
	m := message{kind: kindTuple, tuple: topology.NewTuple(wireSrc, []any{"a", custom{1}}, nil)}
	if _, err := appendMessage(nil, &m); !errors.Is(err, ErrUnsendable) {
		t.Errorf("appendMessage(custom type) = %v, want ErrUnsendable", err)
	}
}

func FuzzWireReader(f *testing.F) {
	var seed []byte
	for _, m := range []message{
		{kind: kindTuple, task: 9, tuple: topology.NewTuple(wireSrc, []any{"x", []any{map[string]any{"k": 1.5}}}, acker.NewAnchor(acker.Edge{Root: 1, ID: 2}))},
		{kind: kindAck, task: 1, root: 4, val: 5},
	} {
		seed, _ = appendMessage(seed, &m)
	}
	f.Add(seed)
	f.Add([]byte{byte(kindTuple), 1, 6, 2, 0, 255, 255, 255, 255, 15})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := wireReader{b: data}
		for i := 0; i < 1000 && !r.done(); i++ {
			var m message
			if err := r.next(&m, fixedSources{}); err != nil {
				return
			}
			// What decodes encodes again to the same bytes' meaning.
			b, err := appendMessage(nil, &m)
			if err != nil {
				t.Fatalf("re-encoding %+v: %v", m, err)
			}
			var again message
			r2 := wireReader{b: b}
			if err := r2.next(&again, fixedSources{}); err != nil || !bytes.Equal(mustEncode(t, &again), b) {
				t.Fatalf("round trip of %+v: %v", m, err)
			}
		}
	})
}

func mustEncode(t *testing.T, m *message) []byte {
	b, err := appendMessage(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
