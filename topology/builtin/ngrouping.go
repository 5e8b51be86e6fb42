package builtin

import (
	"fmt"

	"github.com/squallstream/squall/topology"
)

// NGrouping is Storm's NGrouping test grouping: every tuple goes to the
// same first n target tasks (all of them if there are fewer).
type NGrouping struct {
	n      int
	chosen []int
}

// NewNGrouping returns an NGrouping for n ≥ 1 tasks.
func NewNGrouping(n int) (*NGrouping, error) {
	if n < 1 {
		return nil, fmt.Errorf("%w: n is %d, it must be at least 1", topology.ErrBadArgs, n)
	}
	return &NGrouping{n: n}, nil
}

// Prepare picks the first n targets.
func (g *NGrouping) Prepare(ctx *topology.TaskContext, stream string, targets []int) {
	g.chosen = append([]int(nil), targets[:min(g.n, len(targets))]...)
}

// ChooseTasks returns the chosen targets, whatever the values.
func (g *NGrouping) ChooseTasks(values []any) []int { return g.chosen }
