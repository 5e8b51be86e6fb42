package builtin

import (
	"bytes"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/squallstream/squall/topology"
)

func prepareBolt(t *testing.T, b topology.Bolt, ctx *topology.TaskContext) *fakeBoltCollector {
	t.Helper()
	out := &fakeBoltCollector{}
	if err := b.Prepare(ctx, out); err != nil {
		t.Fatalf("Prepare() = %v", err)
	}
	t.Cleanup(b.Cleanup)
	return out
}

func TestCountBolt(t *testing.T) {
	b := NewCountBolt(CountConfig{Field: "word"})
	out := prepareBolt(t, b, nil)
	src := source("split", "sentence", "word")
	var inputs []topology.Tuple
	for _, w := range []string{"a", "b", "a", "a"} {
		in := tracked(src, "the sentence", w)
		inputs = append(inputs, in)
		b.Execute(in)
	}
	b.Execute(tick())
	wantValues := [][]any{{"a", int64(1)}, {"b", int64(1)}, {"a", int64(2)}, {"a", int64(3)}}
	if len(out.emits) != len(wantValues) {
		t.Fatalf("emitted %d tuples, want %d", len(out.emits), len(wantValues))
	}
	for i, e := range out.emits {
		if !reflect.DeepEqual(e.values, wantValues[i]) || len(e.anchors) != 1 || e.anchors[0].Tracking() != inputs[i].Tracking() {
			t.Errorf("emit %d = %+v, want %v anchored to input %d", i, e, wantValues[i], i)
		}
	}
	if len(out.acked) != 5 || len(out.failed) != 0 {
		t.Errorf("acked %d, failed %d, want every input (and the tick) acked", len(out.acked), len(out.failed))
	}
	if got := b.Snapshot(); !reflect.DeepEqual(got, map[string]int64{"a": 3, "b": 1}) {
		t.Errorf("Snapshot() = %v, want a:3 b:1", got)
	}
	if got := b.DeclareOutputs(); !reflect.DeepEqual(got, []topology.Stream{{ID: "default", Fields: []string{"word", "count"}}}) {
		t.Errorf("DeclareOutputs() = %+v", got)
	}

	// A tuple without the field is failed and reported.
	b.Execute(tracked(source("other", "x"), "y"))
	if len(out.failed) != 1 || len(out.errs) != 1 {
		t.Errorf("tuple without the field: failed %d, errors %d, want 1, 1", len(out.failed), len(out.errs))
	}
}

func TestCountBoltFirstValue(t *testing.T) {
	// Without a field, it counts the first value, like TestWordCounter.
	b := NewCountBolt(CountConfig{})
	out := prepareBolt(t, b, nil)
	b.Execute(tracked(source("s", "name"), "nathan"))
	b.Execute(tracked(source("s", "name"), 7))
	if got := b.DeclareOutputs()[0].Fields; !reflect.DeepEqual(got, []string{"word", "count"}) {
		t.Errorf("fields = %q, want [word count]", got)
	}
	if got := b.Snapshot(); !reflect.DeepEqual(got, map[string]int64{"nathan": 1, "7": 1}) {
		t.Errorf("Snapshot() = %v", got)
	}
	if len(out.acked) != 2 {
		t.Errorf("acked %d, want 2", len(out.acked))
	}
}

func TestCountSet(t *testing.T) {
	set := &CountSet{}
	f := Count(CountConfig{Field: "w", Set: set})
	src := source("s", "w")
	for _, w := range []string{"x", "y"} {
		bolt, err := f()
		if err != nil {
			t.Fatal(err)
		}
		prepareBolt(t, bolt, nil)
		bolt.Execute(tracked(src, w))
		bolt.Execute(tracked(src, "x"))
	}
	if set.Len() != 2 {
		t.Errorf("Len() = %d, want 2", set.Len())
	}
	if got := set.Snapshot(); !reflect.DeepEqual(got, map[string]int64{"x": 3, "y": 1}) {
		t.Errorf("Snapshot() = %v, want x:3 y:1", got)
	}
	// A nil set is allowed.
	if _, err := Count(CountConfig{})(); err != nil {
		t.Errorf("Count(no set)() = %v", err)
	}
}

func TestCountBoltPrepareChecksField(t *testing.T) {
	b := topology.NewBuilder("t")
	b.SetSpout("s", topology.Shell("x").Fields("sentence"), 1)
	b.SetBolt("c", Count(CountConfig{Field: "word"}), 1).ShuffleGrouping("s")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	ctx := &topology.TaskContext{Topology: top, ComponentID: "c", TaskID: 1}
	if err := NewCountBolt(CountConfig{Field: "word"}).Prepare(ctx, &fakeBoltCollector{}); err == nil {
		t.Errorf("Prepare(input without field word) = nil, want an error")
	}
	if err := NewCountBolt(CountConfig{Field: "sentence"}).Prepare(ctx, &fakeBoltCollector{}); err != nil {
		t.Errorf("Prepare(input with the field) = %v", err)
	}
}

func TestLogBolt(t *testing.T) {
	var buf bytes.Buffer
	bolt, _ := Log(LogConfig{Writer: &buf})()
	out := prepareBolt(t, bolt, nil)
	bolt.Execute(tracked(source("count", "word", "count"), "a", 3))
	if got, want := buf.String(), "count:1 default [a 3]\n"; got != want {
		t.Errorf("printed %q, want %q", got, want)
	}

	var logged bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logged, nil))
	lb := NewLogBolt(LogConfig{})
	prepareBolt(t, lb, &topology.TaskContext{Logger: logger})
	lb.Execute(tracked(source("count", "word"), "b"))
	if got := logged.String(); !strings.Contains(got, "msg=tuple") || !strings.Contains(got, "source=count") || !strings.Contains(got, "values=[b]") {
		t.Errorf("logged %q, want the tuple", got)
	}
	if len(out.acked) != 1 {
		t.Errorf("acked %d, want 1", len(out.acked))
	}
	// No logger in the context: tuples are dropped silently, still acked.
	quiet := NewLogBolt(LogConfig{})
	qout := prepareBolt(t, quiet, nil)
	quiet.Execute(tracked(source("c", "w"), "x"))
	if len(qout.acked) != 1 {
		t.Errorf("acked %d, want 1", len(qout.acked))
	}
}

func TestNullBolt(t *testing.T) {
	b := &NullBolt{}
	out := prepareBolt(t, b, nil)
	src := source("s", "w")
	b.Execute(topology.NewTuple(src, []any{"untracked"}, nil))
	b.Execute(tracked(src, "tracked"))
	if len(out.acked) != 1 || out.acked[0].Value(0) != "tracked" || len(out.emits) != 0 {
		t.Errorf("acked %v, emitted %v, want only the tracked tuple acked", out.acked, out.emits)
	}
	n := &NullBolt{}
	n.Prepare(nil, nopBoltCollector{})
	untracked, anchored := topology.NewTuple(src, []any{"x"}, nil), tracked(src, "x")
	if allocs := testing.AllocsPerRun(1000, func() { n.Execute(untracked); n.Execute(anchored) }); allocs != 0 {
		t.Errorf("Execute allocates %v times, want 0", allocs)
	}
}

func TestIdentityBolt(t *testing.T) {
	bolt, _ := Identity("a", "b")()
	out := prepareBolt(t, bolt, nil)
	in := tracked(source("s", "a", "b"), 1, "two")
	bolt.Execute(in)
	bolt.Execute(tick())
	if len(out.emits) != 1 || &out.emits[0].values[0] != &in.Values()[0] || out.emits[0].anchors[0].Tracking() != in.Tracking() {
		t.Errorf("emits = %+v, want the input's own values, anchored to it", out.emits)
	}
	if len(out.acked) != 2 {
		t.Errorf("acked %d, want 2", len(out.acked))
	}
	if got := bolt.(topology.OutputDeclarer).DeclareOutputs(); !reflect.DeepEqual(got, []topology.Stream{{ID: "default", Fields: []string{"a", "b"}}}) {
		t.Errorf("DeclareOutputs() = %+v", got)
	}
	id := NewIdentityBolt("a")
	id.Prepare(nil, nopBoltCollector{})
	if allocs := testing.AllocsPerRun(1000, func() { id.Execute(in) }); allocs != 0 {
		t.Errorf("Execute allocates %v times, want 0", allocs)
	}
}

func TestNGrouping(t *testing.T) {
	tests := []struct {
		n       int
		targets []int
		want    []int
	}{
		{1, []int{3, 4, 5}, []int{3}},
		{2, []int{3, 4, 5}, []int{3, 4}},
		{5, []int{3, 4}, []int{3, 4}},
	}
	for _, tt := range tests {
		g, err := NewNGrouping(tt.n)
		if err != nil {
			t.Fatal(err)
		}
		g.Prepare(nil, "default", tt.targets)
		if got := g.ChooseTasks([]any{"v"}); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("NGrouping(%d).ChooseTasks over %v = %v, want %v", tt.n, tt.targets, got, tt.want)
		}
	}
	if _, err := NewNGrouping(0); !errors.Is(err, topology.ErrBadArgs) {
		t.Errorf("NewNGrouping(0) = %v, want ErrBadArgs", err)
	}
}

func TestRegisteredFactories(t *testing.T) {
	r := topology.NewRegistry()
	Register(r)
	spout := func(name string, args map[string]any) (topology.Spout, error) {
		f, _ := r.Spout(name)
		return f(topology.NewArgs(args))
	}
	bolt := func(name string, args map[string]any) (topology.Bolt, error) {
		f, _ := r.Bolt(name)
		return f(topology.NewArgs(args))
	}
	s, err := spout(RandomSentencesName, map[string]any{"seed": 5, "limit": 2, "reliable": true, "field": "s"})
	if err != nil {
		t.Fatal(err)
	}
	ss := s.(*SentenceSpout)
	if ss.cfg != (SentencesConfig{Field: "s", Seed: 5, Limit: 2, Reliable: true}) {
		t.Errorf("RandomSentences config = %+v", ss.cfg)
	}
	if _, err := spout(RandomSentencesName, map[string]any{"limit": "many"}); !errors.Is(err, topology.ErrBadArgs) {
		t.Errorf("RandomSentences(limit: many) = %v, want ErrBadArgs", err)
	}
	if w, err := spout(TestWordSpoutName, map[string]any{"distributed": false, "intervalMs": 0}); err != nil || w.(*WordSpout).interval != 0 {
		t.Errorf("TestWordSpout(distributed, intervalMs 0) = %v, %v", w, err)
	}
	if w, _ := spout(TestWordSpoutName, nil); w.(*WordSpout).interval != 100*1e6 {
		t.Errorf("TestWordSpout default interval = %v, want 100ms", w.(*WordSpout).interval)
	}
	if _, err := spout(LinesName, nil); !errors.Is(err, topology.ErrBadArgs) {
		t.Errorf("Lines() = %v, want ErrBadArgs (path is required)", err)
	}
	if _, err := spout(LinesName, map[string]any{"path": "-"}); err != nil {
		t.Errorf("Lines(path: -) = %v", err)
	}
	if b, err := bolt(CountName, map[string]any{"field": "w"}); err != nil || b.(*CountBolt).field != "w" {
		t.Errorf("Count(field: w) = %v, %v", b, err)
	}
	if b, err := bolt(LogName, map[string]any{"stdout": true}); err != nil || b.(*LogBolt).w == nil {
		t.Errorf("Log(stdout: true) = %v, %v, want a bolt printing to stdout", b, err)
	}
	if _, err := bolt(IdentityName, nil); !errors.Is(err, topology.ErrBadArgs) {
		t.Errorf("Identity() = %v, want ErrBadArgs (fields are required)", err)
	}
	if _, err := bolt(NullName, nil); err != nil {
		t.Errorf("Null() = %v", err)
	}
	g, _ := r.Grouping(NGroupingName)
	if _, err := g(topology.NewArgs(map[string]any{"n": 0})); !errors.Is(err, topology.ErrBadArgs) {
		t.Errorf("NGrouping(n: 0) = %v, want ErrBadArgs", err)
	}
}
