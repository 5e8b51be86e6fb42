package topology_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/topology/builtin"
)

func TestBuilderWordCount(t *testing.T) {
	b := topology.NewBuilder("wordcount").AddConfig(topology.KeyWorkers, 2)
	b.SetSpout("sentences", builtin.RandomSentences(builtin.SentencesConfig{Seed: 1}), 1)
	b.SetBolt("split", topology.Shell("python3", "split.py").Fields("word").Stream("rejects", "sentence", "reason").Env("PYTHONUNBUFFERED", "1"), 4).
		SetNumTasks(8).
		AddConfig(topology.KeyTickTupleFreqSecs, 5).
		ShuffleGrouping("sentences")
	b.SetBolt("count", builtin.Count(builtin.CountConfig{Field: "word"}), 2).FieldsGrouping("split", "word")
	b.SetBolt("rejects-log", builtin.Log(builtin.LogConfig{}), 1).ShuffleGrouping("split", "rejects")
	top, err := b.Build()
	if err != nil {
		t.Fatalf("Build() = %v", err)
	}
	want := `topology wordcount config=map[topology.workers:2]
bolt count p=2 n=2 config=map[]
  go  args=map[]
  out default ["word" "count"] direct=false
  in split/default FIELDS ["word"]
bolt rejects-log p=1 n=1 config=map[]
  go  args=map[]
  in split/rejects SHUFFLE []
spout sentences p=1 n=1 config=map[]
  go  args=map[]
  out default ["sentence"] direct=false
bolt split p=4 n=8 config=map[topology.tick.tuple.freq.secs:5]
  shell ["python3" "split.py"] env=map[PYTHONUNBUFFERED:1]
  out default ["word"] direct=false
  out rejects ["sentence" "reason"] direct=false
  in sentences/default SHUFFLE []
`
	if got := render(top); got != want {
		t.Errorf("Build() =\n%s\nwant\n%s", got, want)
	}
	for _, c := range top.Components {
		if c.Line != 0 {
			t.Errorf("%s.Line = %d, want 0", c.ID, c.Line)
		}
	}
	if s, err := top.Component("sentences").Go.NewSpout(); err != nil || s == nil {
		t.Errorf("sentences factory() = %v, %v, want a spout", s, err)
	}

	// The same topology in YAML has the same shape.
	yamlTop := mustLoad(t, "spec_native_complete.yaml", topology.LoadOptions{})
	if got, want := len(yamlTop.Components), len(top.Components); got != want {
		t.Errorf("YAML has %d components, builder %d", got, want)
	}
}

func TestBuilderGroupings(t *testing.T) {
	b := topology.NewBuilder("groupings").WithRegistry(testRegistry(t))
	b.SetSpout("src", topology.Shell("python3", "src.py").Fields("k", "v").Stream("side", "k").Stream("picked", "k"), 1)
	b.SetBolt("shuffle", builtin.Null(), 1).ShuffleGrouping("src")
	b.SetBolt("local", builtin.Null(), 1).LocalOrShuffleGrouping("src", "side")
	b.SetBolt("all", builtin.Null(), 1).AllGrouping("src")
	b.SetBolt("global", builtin.Null(), 1).GlobalGrouping("src", "side")
	b.SetBolt("none", builtin.Null(), 1).NoneGrouping("src")
	b.SetBolt("direct", builtin.Null(), 2).DirectGrouping("src", "picked")
	b.SetBolt("fields", builtin.Null(), 2).FieldsGrouping("src", "k", "v")
	b.SetBolt("pk", builtin.Null(), 2).PartialKeyGroupingStream("src", topology.DefaultStream, "k")
	b.SetBolt("pk2", builtin.Null(), 2).PartialKeyGrouping("src", "v")
	b.SetBolt("custom", builtin.Null(), 2).CustomGrouping("src", builtin.NGroupingName)
	b.SetBolt("custom-args", builtin.Null(), 2).
		Grouping("src", topology.DefaultStream, topology.Grouping{Type: topology.Custom, Custom: builtin.NGroupingName, CustomArgs: map[string]any{"n": 2}})
	top, err := b.Build()
	if err != nil {
		t.Fatalf("Build() = %v", err)
	}
	tests := []struct {
		id, stream string
		typ        topology.GroupingType
		fields     string
	}{
		{"shuffle", "default", topology.Shuffle, "[]"},
		{"local", "side", topology.LocalOrShuffle, "[]"},
		{"all", "default", topology.All, "[]"},
		{"global", "side", topology.Global, "[]"},
		{"none", "default", topology.None, "[]"},
		{"direct", "picked", topology.Direct, "[]"},
		{"fields", "default", topology.FieldsGrouping, "[k v]"},
		{"pk", "default", topology.PartialKey, "[k]"},
		{"pk2", "default", topology.PartialKey, "[v]"},
		{"custom", "default", topology.Custom, "[]"},
		{"custom-args", "default", topology.Custom, "[]"},
	}
	for _, tt := range tests {
		in := top.Component(tt.id).Inputs[0]
		if in.From != "src" || in.Stream != tt.stream || in.Grouping.Type != tt.typ || fmt.Sprint(in.Grouping.Fields) != tt.fields {
			t.Errorf("%s input = %+v, want src/%s %s %s", tt.id, in, tt.stream, tt.typ, tt.fields)
		}
	}
	if s, _ := top.Component("src").Output("picked"); !s.Direct {
		t.Errorf("stream picked Direct = false, want true (subscribed with DIRECT)")
	}
	if s, _ := top.Component("src").Output("side"); s.Direct {
		t.Errorf("stream side Direct = true, want false")
	}
	g, err := top.Component("custom-args").Inputs[0].Grouping.NewCustom()
	if err != nil {
		t.Fatalf("NewCustom() = %v", err)
	}
	g.Prepare(nil, "default", []int{7, 8, 9})
	if got := fmt.Sprint(g.ChooseTasks(nil)); got != "[7 8]" {
		t.Errorf("ChooseTasks = %s, want [7 8]", got)
	}
}

func TestBuilderErrors(t *testing.T) {
	nullBolt := builtin.Null()
	src := func() *topology.ShellDef { return topology.Shell("python3", "src.py").Fields("word") }
	tests := []struct {
		name      string
		build     func(b *topology.Builder)
		want      error
		component string
	}{
		{"duplicate id", func(b *topology.Builder) {
			b.SetSpout("src", src(), 1)
			b.SetBolt("src", nullBolt, 1).ShuffleGrouping("src")
		}, topology.ErrDuplicateID, "src"},
		{"reserved id", func(b *topology.Builder) {
			b.SetSpout("__src", src(), 1)
		}, topology.ErrBadID, "__src"},
		{"zero parallelism", func(b *topology.Builder) {
			b.SetSpout("src", src(), 0)
		}, topology.ErrBadParallelism, "src"},
		{"zero tasks", func(b *topology.Builder) {
			b.SetSpout("src", src(), 1).SetNumTasks(0)
		}, topology.ErrBadParallelism, "src"},
		{"fewer tasks than executors", func(b *topology.Builder) {
			b.SetSpout("src", src(), 4).SetNumTasks(2)
		}, topology.ErrBadParallelism, "src"},
		{"two stream ids", func(b *topology.Builder) {
			b.SetSpout("src", src(), 1)
			b.SetBolt("sink", nullBolt, 1).ShuffleGrouping("src", "default", "other")
		}, topology.ErrBadGrouping, "sink"},
		{"unknown source", func(b *topology.Builder) {
			b.SetSpout("src", src(), 1)
			b.SetBolt("sink", nullBolt, 1).ShuffleGrouping("scr")
		}, topology.ErrUnknownComponent, "sink"},
		{"unknown field", func(b *topology.Builder) {
			b.SetSpout("src", src(), 1)
			b.SetBolt("sink", nullBolt, 1).FieldsGroupingStream("src", "default", "wrod")
		}, topology.ErrUnknownField, "sink"},
		{"no inputs", func(b *topology.Builder) {
			b.SetSpout("src", src(), 1)
			b.SetBolt("sink", nullBolt, 1)
		}, topology.ErrNoInputs, "sink"},
		{"no implementation", func(b *topology.Builder) {
			b.SetSpout("src", nil, 1)
		}, topology.ErrBadComponent, "src"},
		{"empty command", func(b *topology.Builder) {
			b.SetSpout("src", topology.Shell().Fields("word"), 1)
		}, topology.ErrBadComponent, "src"},
		{"factory error", func(b *topology.Builder) {
			b.SetSpout("src", topology.SpoutFunc(func() (topology.Spout, error) { return nil, errors.New("boom") }), 1)
		}, topology.ErrConstruct, "src"},
		{"factory returns nil", func(b *topology.Builder) {
			b.SetSpout("src", src(), 1)
			b.SetBolt("sink", topology.BoltFunc(func() (topology.Bolt, error) { return nil, nil }), 1).ShuffleGrouping("src")
		}, topology.ErrConstruct, "sink"},
		{"factory panics", func(b *topology.Builder) {
			b.SetSpout("src", src(), 1)
			b.SetBolt("sink", topology.BoltFunc(func() (topology.Bolt, error) { panic("no") }), 1).ShuffleGrouping("src")
		}, topology.ErrConstruct, "sink"},
		{"custom grouping without registry", func(b *topology.Builder) {
			b.SetSpout("src", src(), 1)
			b.SetBolt("sink", nullBolt, 1).CustomGrouping("src", builtin.NGroupingName)
		}, topology.ErrNotRegistered, "sink"},
		{"custom grouping bad args", func(b *topology.Builder) {
			b.WithRegistry(testRegistry(t))
			b.SetSpout("src", src(), 1)
			b.SetBolt("sink", nullBolt, 1).Grouping("src", "default", topology.Grouping{Type: topology.Custom, Custom: builtin.NGroupingName, CustomArgs: map[string]any{"n": 0}})
		}, topology.ErrBadArgs, "sink"},
		{"bad topology config", func(b *topology.Builder) {
			b.AddConfig(topology.KeyDebug, "very")
			b.SetSpout("src", src(), 1)
		}, topology.ErrBadConfig, ""},
		{"bad component config", func(b *topology.Builder) {
			b.SetSpout("src", src(), 1).AddConfig(topology.KeyTickTupleFreqSecs, []any{1})
		}, topology.ErrBadConfig, "src"},
		{"bad name", func(b *topology.Builder) {
			*b = *topology.NewBuilder("a/b")
			b.SetSpout("src", src(), 1)
		}, topology.ErrBadName, ""},
		{"direct declared, subscribed with shuffle", func(b *topology.Builder) {
			b.SetSpout("src", src(), 1)
			b.SetBolt("router", topology.BoltFunc(func() (topology.Bolt, error) { return &directEmitter{}, nil }), 1).ShuffleGrouping("src")
			b.SetBolt("sink", nullBolt, 1).ShuffleGrouping("router", "routed")
		}, topology.ErrDirectMismatch, "sink"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := topology.NewBuilder("t")
			tt.build(b)
			top, err := b.Build()
			if err == nil {
				t.Fatalf("Build() = %v, nil, want %v", top, tt.want)
			}
			for _, e := range problems(t, err) {
				if errors.Is(e, tt.want) && e.Component == tt.component && e.Line == 0 && e.File == "" {
					return
				}
			}
			t.Errorf("Build() = %v, want %v for component %q", err, tt.want, tt.component)
		})
	}
}

func TestBuilderBrokenFactoryHidesCascade(t *testing.T) {
	// Subscribers of a component whose factory failed are not reported for
	// its (unknown) streams.
	b := topology.NewBuilder("t")
	b.SetSpout("src", topology.SpoutFunc(func() (topology.Spout, error) { return nil, errors.New("boom") }), 1)
	b.SetBolt("sink", builtin.Null(), 1).FieldsGrouping("src", "word")
	_, err := b.Build()
	errs := problems(t, err)
	if len(errs) != 1 || !errors.Is(errs[0], topology.ErrConstruct) {
		t.Errorf("Build() = %v, want only ErrConstruct", err)
	}
}

func TestBuilderBuildTwice(t *testing.T) {
	calls := 0
	b := topology.NewBuilder("t")
	b.SetSpout("src", topology.SpoutFunc(func() (topology.Spout, error) {
		calls++
		return builtin.NewSentenceSpout(builtin.SentencesConfig{})
	}), 1)
	b.SetBolt("sink", builtin.Null(), 1).ShuffleGrouping("src")
	t1, err1 := b.Build()
	t2, err2 := b.Build()
	if err1 != nil || err2 != nil {
		t.Fatalf("Build() = %v, %v", err1, err2)
	}
	if render(t1) != render(t2) || t1 == t2 || t1.Components[0] == t2.Components[0] {
		t.Errorf("two Builds differ or share components")
	}
	if calls != 2 {
		t.Errorf("factory called %d times by two Builds, want 2", calls)
	}
}
