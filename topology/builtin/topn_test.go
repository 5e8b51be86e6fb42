package builtin

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/squallstream/squall/topology"
)

func TestTopN(t *testing.T) {
	var out bytes.Buffer
	b := NewTopNBolt(TopNConfig{N: 2, Writer: &out})
	bld := topology.NewBuilder("t")
	bld.SetSpout("s", Words(WordsConfig{}), 1)
	bld.SetBolt("count", Count(CountConfig{Field: "word"}), 1).ShuffleGrouping("s")
	bld.SetBolt("top", TopN(TopNConfig{}), 1).GlobalGrouping("count")
	topo, err := bld.Build()
	if err != nil {
		t.Fatal(err)
	}
	out0 := &fakeBoltCollector{}
	ctx := &topology.TaskContext{Topology: topo, ComponentID: "top"}
	if err := b.Prepare(ctx, out0); err != nil {
		t.Fatal(err)
	}
	src := &topology.Source{Component: "count", Stream: "default", Fields: topology.NewFields("word", "count")}
	for _, kv := range []struct {
		k string
		n any
	}{{"a", int64(1)}, {"b", int64(1)}, {"a", int64(2)}, {"c", int64(5)}, {"b", 2}} {
		b.Execute(topology.NewTuple(src, []any{kv.k, kv.n}, nil))
	}
	b.Execute(topology.NewTuple(src, []any{"d", "x"}, nil))
	want := []KeyCount{{"c", 5}, {"a", 2}}
	if got := b.Top(); !reflect.DeepEqual(got, want) {
		t.Errorf("Top() = %v, want %v", got, want)
	}
	if len(out0.acked) != 6 || len(out0.errs) != 1 {
		t.Errorf("acked %d errors %v; want every tuple acked and the bad count reported", len(out0.acked), out0.errs)
	}
	b.Cleanup()
	if got, want := out.String(), "top 2 of \"top\":\n  1. c                    5\n  2. a                    2\n"; got != want {
		t.Errorf("printed %q, want %q", got, want)
	}
}
