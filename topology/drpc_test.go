package topology_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/squallstream/squall/topology"
)

// stubBolt declares fixed outputs and does nothing.
type stubBolt struct{ outs []topology.Stream }

func (*stubBolt) Prepare(*topology.TaskContext, topology.BoltCollector) error { return nil }
func (*stubBolt) Execute(topology.Tuple)                                      {}
func (*stubBolt) Cleanup()                                                    {}
func (b *stubBolt) DeclareOutputs() []topology.Stream                         { return b.outs }

type finisherBolt struct{ stubBolt }

func (*finisherBolt) FinishBatch(any) {}

type stubSpout struct{}

func (stubSpout) Open(*topology.TaskContext, topology.SpoutCollector) error { return nil }
func (stubSpout) Next()                                                     {}
func (stubSpout) Ack(any)                                                   {}
func (stubSpout) Fail(any)                                                  {}
func (stubSpout) Close()                                                    {}
func (stubSpout) DeclareOutputs() []topology.Stream {
	return []topology.Stream{{ID: "default", Fields: []string{"args", "return-info"}}}
}

// drpcRegistry holds stand-ins for package drpc's components (which
// imports this one) and two chain bolts.
func drpcRegistry() *topology.Registry {
	r := topology.NewRegistry()
	bolt := func(outs ...topology.Stream) topology.BoltFactory {
		return func(a topology.Args) (topology.Bolt, error) { return &stubBolt{outs}, a.Err() }
	}
	r.RegisterSpout("squall.DRPCSpout", func(a topology.Args) (topology.Spout, error) {
		a.String("function", "")
		a.Strings("servers", nil)
		return stubSpout{}, a.Err()
	})
	r.RegisterBolt("squall.PrepareRequest", bolt(
		topology.Stream{ID: "default", Fields: []string{"request", "args"}},
		topology.Stream{ID: "ret", Fields: []string{"request", "return"}},
		topology.Stream{ID: "id", Fields: []string{"request"}}))
	r.RegisterBolt("squall.JoinResult", bolt(topology.Stream{ID: "default", Fields: []string{"result", "return-info"}}))
	r.RegisterBolt("squall.ReturnResults", bolt())
	r.RegisterBolt("test.Words", bolt(topology.Stream{ID: "default", Fields: []string{"id", "word"}}))
	r.RegisterBolt("test.Sum", func(a topology.Args) (topology.Bolt, error) {
		return &finisherBolt{stubBolt{[]topology.Stream{{ID: "default", Fields: []string{"id", "sum"}}}}}, a.Err()
	})
	return r
}

const chainYAML = `
name: chain
drpc:
  function: f
  servers: [127.0.0.1:3773]
  parallelism: 2
  bolts:
    - {id: a, go: test.Words, parallelism: 2}
    - {id: b, go: test.Words, parallelism: 3}
    - id: c
      shell: {command: [python3, c.py], fields: [id, partial]}
      finishBatch: true
      grouping: {type: FIELDS, args: [id, word]}
    - {id: d, go: test.Sum, grouping: {type: FIELDS, args: [id]}}
`

// TestDRPCSectionExpands checks the components a chain expands to, as
// Storm's LinearDRPCTopologyBuilder.createTopology wires them.
func TestDRPCSectionExpands(t *testing.T) {
	topo, err := topology.Load([]byte(chainYAML), topology.LoadOptions{Registry: drpcRegistry()})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	type in struct{ from, stream, grouping string }
	cases := []struct {
		id       string
		par      int
		inputs   []in
		coord    *topology.Coordination
		coordOut bool
	}{
		{id: "drpc-spout", par: 2},
		{id: "prepare-request", par: 2, inputs: []in{{"drpc-spout", "default", "NONE"}}},
		{id: "a", par: 2, inputs: []in{{"prepare-request", "default", "NONE"}}, coord: &topology.Coordination{}, coordOut: true},
		{id: "b", par: 3, inputs: []in{{"a", "default", "SHUFFLE"}, {"a", "__coord", "DIRECT"}},
			coord: &topology.Coordination{Source: "a", SourceReports: topology.ReportsSingle}, coordOut: true},
		{id: "c", par: 1, inputs: []in{{"b", "default", "FIELDS"}, {"b", "__coord", "DIRECT"}},
			coord: &topology.Coordination{Source: "b", SourceReports: topology.ReportsAll, FinishBatch: true}, coordOut: true},
		{id: "d", par: 1, inputs: []in{{"c", "default", "FIELDS"}, {"c", "__coord", "DIRECT"}, {"prepare-request", "id", "FIELDS"}},
			coord: &topology.Coordination{Source: "c", SourceReports: topology.ReportsAll, FinishBatch: true, IDFrom: "prepare-request"}},
		{id: "join-result", par: 1, inputs: []in{{"d", "default", "FIELDS"}, {"prepare-request", "ret", "FIELDS"}}},
		{id: "return-results", par: 1, inputs: []in{{"join-result", "default", "NONE"}}},
	}
	if len(topo.Components) != len(cases) {
		t.Errorf("%d components, want %d", len(topo.Components), len(cases))
	}
	for _, c := range cases {
		comp := topo.Component(c.id)
		if comp == nil {
			t.Errorf("no component %q", c.id)
			continue
		}
		var got []in
		for _, i := range comp.Inputs {
			got = append(got, in{i.From, i.Stream, string(i.Grouping.Type)})
		}
		if !slices.Equal(got, c.inputs) || comp.Parallelism != c.par {
			t.Errorf("%s: inputs %v parallelism %d, want %v %d", c.id, got, comp.Parallelism, c.inputs, c.par)
		}
		switch {
		case (comp.Coordination == nil) != (c.coord == nil):
			t.Errorf("%s: coordination %+v, want %+v", c.id, comp.Coordination, c.coord)
		case c.coord != nil && *comp.Coordination != *c.coord:
			t.Errorf("%s: coordination %+v, want %+v", c.id, *comp.Coordination, *c.coord)
		}
		if s, ok := comp.Output(topology.CoordStream); ok != c.coordOut || ok && !s.Direct {
			t.Errorf("%s: declares %s: %v (%+v), want %v, direct", c.id, topology.CoordStream, ok, s, c.coordOut)
		}
	}
}

func TestDRPCSectionRejectsCoordStreamElsewhere(t *testing.T) {
	// "__coord" stays reserved outside a chain.
	yaml := "name: x\nspouts:\n  - {id: s, shell: {command: [x], streams: {__coord: [a]}}}\n"
	if _, err := topology.Load([]byte(yaml), topology.LoadOptions{}); !errors.Is(err, topology.ErrBadID) {
		t.Errorf("Load = %v, want ErrBadID", err)
	}
}

// FuzzDRPCSection: whatever the section holds, loading returns a
// topology or a *ValidationError, never panics.
func FuzzDRPCSection(f *testing.F) {
	f.Add([]byte(chainYAML))
	f.Add([]byte("name: x\ndrpc:\n  function: f\n  bolts:\n    - {id: a, go: test.Sum, finishBatch: true}\n"))
	f.Add([]byte("name: x\ndrpc: {function: f, bolts: [{id: a, shell: {command: [x], fields: [id, r]}, grouping: {type: DIRECT}}]}\n"))
	f.Add([]byte("name: x\ndrpc: [1, 2]\n"))
	f.Add([]byte("name: x\ndrpc:\n  function: f\n  bolts: &a\n    - {id: a, go: test.Words}\n  servers: *a\n"))
	reg := drpcRegistry()
	f.Fuzz(func(t *testing.T, data []byte) {
		topo, err := topology.Load(data, topology.LoadOptions{Registry: reg})
		var ve *topology.ValidationError
		if err != nil && !errors.As(err, &ve) {
			t.Fatalf("Load = %v, not a *ValidationError", err)
		}
		if err == nil && topo == nil {
			t.Fatal("Load returned neither a topology nor an error")
		}
	})
}
