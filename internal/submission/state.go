package submission

import (
	"fmt"

	"github.com/squallstream/squall/state/checkpoint"
	"github.com/squallstream/squall/state/provider"
	"github.com/squallstream/squall/topology"
)

// checkState checks the checkpointing and state provider keys of a
// stateful topology (they are read by packages topology cannot import).
func checkState(t *topology.Topology) error {
	if !t.Stateful() {
		return nil
	}
	if _, err := checkpoint.ParseConfig(t.Config); err != nil {
		return fmt.Errorf("topology %s: %w", t.Name, err)
	}
	for _, c := range t.Components {
		if c.Stateful {
			if _, err := provider.ParseConfig(t.ComponentConfig(c.ID)); err != nil {
				return fmt.Errorf("topology %s: component %q: %w", t.Name, c.ID, err)
			}
		}
	}
	return nil
}
