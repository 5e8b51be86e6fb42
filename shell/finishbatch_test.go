package shell

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/squallstream/squall/internal/transcript"
	"github.com/squallstream/squall/topology"
)

// TestFinishBatchTranscript replays the finishbatch transcript through
// the Go host: each tuple the host is to write is handed to the Bolt as
// the worker hands it (finish tuples from the coordinator's task -1, as
// worker/coordinated.go builds them), and what the host then reports
// (emits with their anchors, acks, fails, errors) is what the
// transcript's child writes.
func TestFinishBatchTranscript(t *testing.T) {
	tr, err := transcript.ParseFile(filepath.Join("..", "multilang", "testdata", "transcripts", "finishbatch.txt"))
	if err != nil {
		t.Fatal(err)
	}
	type message struct {
		ID      string
		Comp    *string
		Stream  string
		Task    int
		Tuple   []any
		Command string
		Anchors []string
	}
	finishSrc := &topology.Source{Component: topology.CoordinatorComponent, Task: topology.SystemTaskID,
		Stream: topology.FinishBatchStream, Fields: topology.NewFields("request")}
	// key names an input by what the host sends of it; the transcript's
	// inputs are distinct.
	key := func(stream string, values []any) string {
		b, _ := json.Marshal(values)
		return stream + " " + string(b)
	}
	var inputs []topology.Tuple
	byID := map[string]string{} // transcript id -> key
	type emit struct{ Values, Anchors string }
	var wantEmits []emit
	var wantAcked, wantFailed []string
	wantErrors := 0
	for _, s := range tr.Steps {
		var m message
		if s.JSON != nil {
			if err := json.Unmarshal(s.JSON, &m); err != nil {
				t.Fatalf("line %d: %v", s.Line, err)
			}
		}
		switch {
		case s.Kind == transcript.Send && m.Comp != nil && m.Stream != "":
			var src *topology.Source
			switch m.Stream {
			case topology.FinishBatchStream:
				src = finishSrc
			case topology.TickStream:
				src = topology.TickSource
			default:
				src = &topology.Source{Component: *m.Comp, Task: m.Task, Stream: m.Stream, Fields: topology.NewFields("id", "word")}
			}
			inputs = append(inputs, topology.NewTuple(src, m.Tuple, nil))
			byID[m.ID] = key(m.Stream, m.Tuple)
		case s.Kind == transcript.Expect && m.Command == "emit":
			var anchors []string
			for _, a := range m.Anchors {
				anchors = append(anchors, byID[a])
			}
			values, _ := json.Marshal(m.Tuple)
			b, _ := json.Marshal(anchors)
			wantEmits = append(wantEmits, emit{string(values), string(b)})
		case s.Kind == transcript.Expect && m.Command == "ack":
			wantAcked = append(wantAcked, byID[m.ID])
		case s.Kind == transcript.Expect && m.Command == "fail":
			wantFailed = append(wantFailed, byID[m.ID])
		case s.Kind == transcript.Expect && m.Command == "error":
			wantErrors++
		}
	}

	// The bolt under test declares [id, count], as a chain's last bolt.
	logs := &logRecorder{}
	ctx := taskContext(t, "split", splitTask, nil, logs)
	ctx.Topology.Component("split").Outputs[0].Fields = []string{"id", "count"}
	f := &boltFixture{bolt: NewBolt(childSpec("batchcount"), fastOptions), rec: &recorder{taskIDs: []int{2, 3}}, logs: logs, ctx: ctx}
	if err := f.bolt.Prepare(ctx, f.rec); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	t.Cleanup(f.bolt.Cleanup)
	for _, in := range inputs {
		f.bolt.Execute(in)
	}
	waitUntil(t, patience, "every input answered", func() bool {
		_, acked, failed, _ := f.rec.snapshot()
		return len(acked)+len(failed) == len(wantAcked)+len(wantFailed)
	})
	emits, acked, failed, errs := f.rec.snapshot()
	keys := func(ts []topology.Tuple) []string {
		var out []string
		for _, tup := range ts {
			out = append(out, key(tup.Source().Stream, tup.Values()))
		}
		return out
	}
	var gotEmits []emit
	for _, e := range emits {
		values, _ := json.Marshal(e.values)
		b, _ := json.Marshal(keys(e.anchors))
		gotEmits = append(gotEmits, emit{string(values), string(b)})
	}
	if !reflect.DeepEqual(gotEmits, wantEmits) {
		t.Errorf("emits (values, anchors) = %v\nwant %v", gotEmits, wantEmits)
	}
	if got := keys(acked); !reflect.DeepEqual(got, wantAcked) {
		t.Errorf("acked %q\nwant %q", got, wantAcked)
	}
	if got := keys(failed); !reflect.DeepEqual(got, wantFailed) {
		t.Errorf("failed %q, want %q", got, wantFailed)
	}
	if len(errs) != wantErrors {
		t.Errorf("errors %v, want %d", errs, wantErrors)
	}
}
