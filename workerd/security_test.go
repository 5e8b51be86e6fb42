package workerd

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/internal/submission"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/topology/builtin"
)

// TestCheckOutline: a worker refuses to run a Go binary whose topology
// is not the one its submitter described to nimbus.
func TestCheckOutline(t *testing.T) {
	reg := topology.NewRegistry()
	builtin.Register(reg)
	load := func(def string) *topology.Topology {
		t.Helper()
		topo, err := submission.Load(&api.SubmitTopologyRequest{Topology: def, TopologyFile: "topology.yaml"}, reg, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return topo
	}
	outline := func(topo *topology.Topology) string {
		t.Helper()
		b, err := json.Marshal(submission.NewOutline(topo))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	const def = "name: wcp\nspouts:\n  - id: words\n    go: squall.TestWordSpout\n    parallelism: 2\nbolts:\n  - id: log\n    go: squall.Null\nstreams:\n  - {from: words, to: log, grouping: {type: SHUFFLE}}\n"
	topo := load(def)
	if err := checkOutline(topo, outline(topo)); err != nil {
		t.Errorf("the same topology: %v", err)
	}
	// nimbus adds configuration; that is no mismatch.
	withConf := load(strings.Replace(def, "name: wcp\n", "name: wcp\nconfig: {topology.submitter.user: alice}\n", 1))
	if err := checkOutline(withConf, outline(topo)); err != nil {
		t.Errorf("added configuration: %v", err)
	}
	for name, other := range map[string]string{
		"parallelism": strings.Replace(def, "parallelism: 2", "parallelism: 3", 1),
		"name":        strings.Replace(def, "name: wcp", "name: other", 1),
		"component":   strings.ReplaceAll(def, "log", "sink"),
	} {
		if err := checkOutline(load(other), outline(topo)); !errors.Is(err, ErrOutlineMismatch) {
			t.Errorf("%s differs: %v, want ErrOutlineMismatch", name, err)
		}
	}
	if err := checkOutline(topo, "{not json"); !errors.Is(err, ErrOutlineMismatch) {
		t.Errorf("a bad outline: %v, want ErrOutlineMismatch", err)
	}
}
