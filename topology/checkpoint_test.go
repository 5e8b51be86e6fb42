package topology_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/topology/builtin"
)

const statefulYAML = `name: wc
spouts:
  - id: src
    shell: {command: [python3, src.py], fields: [sentence]}
bolts:
  - id: split
    shell: {command: [python3, split.py], fields: [word]}
  - id: count
    shell: {command: [python3, count.py], fields: [word, n]}
    state: {}
  - id: sink
    go: squall.Null
streams:
  - {from: src, to: split, grouping: {type: SHUFFLE}}
  - {from: split, to: count, grouping: {type: FIELDS, args: [word]}}
  - {from: count, to: sink, grouping: {type: SHUFFLE}}
  - {from: src, to: sink, grouping: {type: SHUFFLE}}
`

// The checkpoint wiring of Storm's TopologyBuilder: the spout, the stream
// on every bolt, ALL subscriptions to each input's stream (to the
// checkpoint spout's for a spout input), once per input component.
func TestLoadStatefulWiresCheckpoints(t *testing.T) {
	top, err := topology.Load([]byte(statefulYAML), topology.LoadOptions{Registry: testRegistry(t)})
	if err != nil {
		t.Fatalf("Load = %v", err)
	}
	if !top.Stateful() {
		t.Fatal("Stateful() = false")
	}
	got := render(top)
	for _, want := range []string{
		"spout $checkpointspout p=1 n=1",
		"  go squall.CheckpointSpout",
		`  out $checkpoint ["txid" "action" "seq"]`,
		"bolt split p=1 n=1 config=map[]\n  shell [\"python3\" \"split.py\"] env=map[]\n  out $checkpoint [\"txid\" \"action\" \"seq\"] direct=false\n  out default [\"word\"] direct=false\n  in src/default SHUFFLE []\n  in $checkpointspout/$checkpoint ALL []\n",
		"  in split/default FIELDS [\"word\"]\n  in split/$checkpoint ALL []\n",
		// sink: two inputs, count and a spout; one subscription each.
		"  in count/default SHUFFLE []\n  in src/default SHUFFLE []\n  in count/$checkpoint ALL []\n  in $checkpointspout/$checkpoint ALL []\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("model lacks %q:\n%s", want, got)
		}
	}
	cp := top.Component(topology.CheckpointSpout)
	if cp == nil || !cp.IsCheckpointSpout() {
		t.Fatalf("Component(%q) = %+v, want the checkpoint spout", topology.CheckpointSpout, cp)
	}
	if _, err := cp.Go.NewSpout(); !errors.Is(err, topology.ErrCheckpointSpoutBuilt) {
		t.Errorf("checkpoint spout factory = %v, want ErrCheckpointSpoutBuilt", err)
	}
	if got, want := top.Component("sink").CheckpointInputs(), []string{"count", topology.CheckpointSpout}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("CheckpointInputs(sink) = %v, want %v", got, want)
	}
	// The wired model validates again (nimbus and workers reload it) and
	// wiring is not repeated.
	if err := top.Validate(); err != nil {
		t.Errorf("Validate(wired) = %v", err)
	}
}

func TestLoadStatelessNotWired(t *testing.T) {
	data := strings.Replace(statefulYAML, "    state: {}\n", "", 1)
	top, err := topology.Load([]byte(data), topology.LoadOptions{Registry: testRegistry(t)})
	if err != nil {
		t.Fatalf("Load = %v", err)
	}
	if top.Stateful() || top.Component(topology.CheckpointSpout) != nil || strings.Contains(render(top), "$checkpoint") {
		t.Errorf("a topology without state was wired:\n%s", render(top))
	}
}

func TestLoadStatefulInvalid(t *testing.T) {
	tests := []struct {
		name      string
		yaml      string
		want      error
		component string
	}{
		{"reserved spout id", strings.Replace(statefulYAML, "  - id: src\n", "  - id: $checkpointspout\n", 1) + "", topology.ErrBadID, topology.CheckpointSpout},
		{"reserved stream", strings.Replace(statefulYAML, "fields: [word]}\n", "fields: [word], streams: {$checkpoint: [x]}}\n", 1), topology.ErrBadID, "split"},
		{"cycle", statefulYAML + "  - {from: count, to: split, grouping: {type: SHUFFLE}}\n", topology.ErrCycle, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.yaml
			if tt.name == "reserved spout id" {
				data = strings.ReplaceAll(data, "from: src,", "from: $checkpointspout,")
			}
			_, err := topology.Load([]byte(data), topology.LoadOptions{Registry: testRegistry(t)})
			if err == nil {
				t.Fatal("Load = nil, want an error")
			}
			found := false
			for _, e := range problems(t, err) {
				if errors.Is(e, tt.want) && (tt.component == "" || e.Component == tt.component) {
					found = true
				}
			}
			if !found {
				t.Errorf("Load = %v, want %v for %q", err, tt.want, tt.component)
			}
		})
	}
}

// statefulCount is a Go StatefulBolt.
type statefulCount struct{ builtin.NullBolt }

func (*statefulCount) InitState(topology.KeyValueState) {}

// A Go bolt implementing StatefulBolt is stateful without saying so, as
// Storm's setBolt(IStatefulBolt) does; a Go bolt declared `state:` must
// implement it.
func TestStatefulGoBolt(t *testing.T) {
	b := topology.NewBuilder("t")
	b.SetSpout("src", builtin.RandomSentences(builtin.SentencesConfig{}), 1)
	b.SetBolt("count", topology.BoltFunc(func() (topology.Bolt, error) { return &statefulCount{}, nil }), 2).ShuffleGrouping("src")
	top, err := b.Build()
	if err != nil {
		t.Fatalf("Build = %v", err)
	}
	if !top.Component("count").Stateful || top.Component(topology.CheckpointSpout) == nil {
		t.Errorf("a StatefulBolt was not made stateful:\n%s", render(top))
	}

	reg := testRegistry(t)
	reg.RegisterBolt("test.StatefulCount", func(topology.Args) (topology.Bolt, error) { return &statefulCount{}, nil })
	data := `name: t
spouts:
  - {id: src, go: squall.RandomSentences}
bolts:
  - {id: count, go: test.StatefulCount}
  - {id: sink, go: squall.Null, state: {}}
streams:
  - {from: src, to: count, grouping: {type: SHUFFLE}}
  - {from: src, to: sink, grouping: {type: SHUFFLE}}
`
	_, err = topology.Load([]byte(data), topology.LoadOptions{Registry: reg})
	errs := problems(t, err)
	if len(errs) != 1 || !errors.Is(errs[0], topology.ErrBadComponent) || errs[0].Component != "sink" {
		t.Errorf("Load = %v, want one ErrBadComponent for sink (state: on a bolt without InitState)", err)
	}
}
