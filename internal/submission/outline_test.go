package submission

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/topology/builtin"
)

func TestOutlineRoundTrip(t *testing.T) {
	reg := topology.NewRegistry()
	builtin.Register(reg)
	req := &api.SubmitTopologyRequest{Topology: `name: words
config: {topology.workers: 2}
spouts:
  - {id: words, go: squall.TestWordSpout, parallelism: 2}
bolts:
  - {id: count, go: squall.Count, args: {field: word}, parallelism: 3, numTasks: 6}
streams:
  - {from: words, to: count, grouping: {type: FIELDS, args: [word]}}
`}
	top, err := Load(req, reg, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(NewOutline(top))
	if err != nil {
		t.Fatal(err)
	}
	o, err := ParseOutline(b)
	if err != nil {
		t.Fatalf("ParseOutline(%s) = %v", b, err)
	}
	if o.Name != "words" || len(o.Components) != 2 || o.Config.Int(topology.KeyWorkers, 0) != 2 {
		t.Fatalf("outline = %+v", o)
	}
	count, words := o.Components[0], o.Components[1]
	if count.ID != "count" || count.Kind != "bolt" || count.Parallelism != 3 || count.NumTasks != 6 ||
		len(count.Inputs) != 1 || count.Inputs[0] != (OutlineInput{From: "words", Stream: "default", Grouping: "fields"}) {
		t.Errorf("count = %+v", count)
	}
	if words.ID != "words" || words.Kind != "spout" || words.NumTasks != 2 || len(words.Streams) != 1 {
		t.Errorf("words = %+v", words)
	}
}

func TestParseOutlineRejects(t *testing.T) {
	for _, tc := range []struct{ name, json string }{
		{"not json", "topology words is valid"},
		{"no name", `{"components": [{"id": "a", "kind": "spout", "parallelism": 1, "numTasks": 1}]}`},
		{"no components", `{"name": "x"}`},
		{"system id", `{"name": "x", "components": [{"id": "__acker", "kind": "bolt", "parallelism": 1, "numTasks": 1}]}`},
		{"twice", `{"name": "x", "components": [{"id": "a", "kind": "spout", "parallelism": 1, "numTasks": 1}, {"id": "a", "kind": "spout", "parallelism": 1, "numTasks": 1}]}`},
		{"kind", `{"name": "x", "components": [{"id": "a", "kind": "sprout", "parallelism": 1, "numTasks": 1}]}`},
		{"tasks", `{"name": "x", "components": [{"id": "a", "kind": "spout", "parallelism": 2, "numTasks": 1}]}`},
		{"config", `{"name": "x", "config": {"topology.workers": "many"}, "components": [{"id": "a", "kind": "spout", "parallelism": 1, "numTasks": 1}]}`},
	} {
		if _, err := ParseOutline([]byte(tc.json)); err == nil || !strings.Contains(err.Error(), "outline") {
			t.Errorf("%s: ParseOutline = %v, want an outline error", tc.name, err)
		}
	}
}
