package submission

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/topology/builtin"
)

// A submission's DRPC keys are type-checked where nimbus and --dry-run
// load it, not first when a worker's DRPC spout reads them.
func TestLoadChecksDRPCKeys(t *testing.T) {
	reg := topology.NewRegistry()
	builtin.Register(reg)
	const def = `name: d
config: {%s}
spouts:
  - {id: words, go: squall.TestWordSpout}
bolts:
  - {id: log, go: squall.Log}
streams:
  - {from: words, to: log, grouping: {type: SHUFFLE}}
`
	tests := []struct{ config, badKey string }{
		{"drpc.servers: [drpc1], drpc.port: 3772, drpc.invocations.port: 3773", ""},
		{"drpc.servers: drpc1", "drpc.servers"},
		{"drpc.port: http", "drpc.port"},
		{"drpc.invocations.port: [3773]", "drpc.invocations.port"},
		{"drpc.request.timeout.secs: soon", "drpc.request.timeout.secs"},
		{"drpc.max_buffer_size: 1MB", "drpc.max_buffer_size"},
		{"drpc.authorizer: {class: x}", "drpc.authorizer"},
	}
	for _, tt := range tests {
		t.Run(tt.config, func(t *testing.T) {
			_, err := Load(&api.SubmitTopologyRequest{Topology: fmt.Sprintf(def, tt.config)}, reg, t.TempDir())
			if tt.badKey == "" {
				if err != nil {
					t.Fatalf("Load(%s) = %v, want ok", tt.config, err)
				}
				return
			}
			var ce *topology.ConfigError
			if !errors.As(err, &ce) || ce.Key != tt.badKey || !strings.Contains(err.Error(), tt.badKey) {
				t.Fatalf("Load(%s) = %v, want a *topology.ConfigError naming %s", tt.config, err, tt.badKey)
			}
		})
	}
}
