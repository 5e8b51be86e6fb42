package submission

import (
	"errors"
	"fmt"
	"testing"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/state"
	"github.com/squallstream/squall/state/checkpoint"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/topology/builtin"
)

// A stateful submission's checkpoint and provider keys are checked where
// nimbus and --dry-run load it.
func TestLoadChecksStateConfig(t *testing.T) {
	reg := topology.NewRegistry()
	builtin.Register(reg)
	const def = `name: st
config: {%s}
spouts:
  - {id: words, go: squall.TestWordSpout}
bolts:
  - id: log
    shell: {command: [python3, count.py]}
    state: {%s}
streams:
  - {from: words, to: log, grouping: {type: SHUFFLE}}
`
	tests := []struct {
		name, config, state string
		want                error
	}{
		{"defaults", "", "", nil},
		{"redis", "", "provider: redis, providerConfig: {jedisPoolConfig: {host: r, password: x}}", nil},
		{"interval above the timeout", "topology.state.checkpoint.interval.ms: 40000", "", checkpoint.ErrBadConfig},
		{"unknown provider", "", "provider: cassandra", state.ErrUnknownProvider},
		{"unknown provider field", "", `providerConfig: {jedisPoolConfig: {hots: r}}, provider: redis`, state.ErrBadProviderConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &api.SubmitTopologyRequest{Topology: fmt.Sprintf(def, tt.config, tt.state)}
			top, err := Load(req, reg, t.TempDir())
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Load = %v, want %v", err, tt.want)
			}
			if err == nil && top.Component(topology.CheckpointSpout) == nil {
				t.Errorf("Load: no checkpoint spout in a stateful topology")
			}
		})
	}
}
