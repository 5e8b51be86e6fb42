package topology

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Storm's checkpoint wiring (docs/windowing-and-state.md): a topology with
// a stateful bolt gets the checkpoint spout, and every bolt declares the
// checkpoint stream and subscribes, with ALL, to the checkpoint stream of
// each of its inputs (of the checkpoint spout where the input is a spout).
// The wiring is in the model, so --dry-run, the UI and the API show it.
const (
	// CheckpointSpout is the id of the checkpoint spout (Storm's).
	CheckpointSpout = "$checkpointspout"
	// CheckpointStream carries the barriers (Storm's).
	CheckpointStream = "$checkpoint"
	// CheckpointSpoutName is the Go name of the checkpoint spout; the
	// worker builds it (it needs the worker's state provider).
	CheckpointSpoutName = "squall.CheckpointSpout"
)

// CheckpointFields are the checkpoint stream's fields: Storm's txid and
// action, and squall's seq (the emission, see state/checkpoint.Barrier).
var CheckpointFields = []string{"txid", "action", "seq"}

// ErrCycle: a stateful topology's bolts subscribe in a cycle, around
// which barriers cannot be counted.
var ErrCycle = errors.New("cycle in a stateful topology")

// ErrCheckpointSpoutBuilt: the checkpoint spout's factory in the model is
// never called; the worker builds the spout.
var ErrCheckpointSpoutBuilt = errors.New("the checkpoint spout is built by the worker")

// Stateful reports whether some component of t is stateful: then the
// topology is checkpointed.
func (t *Topology) Stateful() bool {
	return slices.ContainsFunc(t.Components, func(c *Component) bool { return c.Stateful })
}

// IsCheckpointSpout reports whether c is the checkpoint spout the wiring
// added.
func (c *Component) IsCheckpointSpout() bool {
	return c.ID == CheckpointSpout && c.Kind == KindSpout && c.Go != nil && c.Go.Name == CheckpointSpoutName
}

// CheckpointInputs returns the components a bolt receives barriers from:
// every component it subscribes to on the checkpoint stream.
func (c *Component) CheckpointInputs() []string {
	var from []string
	for _, in := range c.Inputs {
		if in.Stream == CheckpointStream {
			from = append(from, in.From)
		}
	}
	return from
}

// wireCheckpoints adds the checkpoint spout, stream and subscriptions to
// a stateful topology that validated; it does nothing to other topologies
// and to one already wired.
func wireCheckpoints(t *Topology) {
	if !t.Stateful() || t.Component(CheckpointSpout) != nil {
		return
	}
	byID := make(map[string]*Component, len(t.Components))
	for _, c := range t.Components {
		byID[c.ID] = c
	}
	for _, c := range t.Components {
		if c.Kind != KindBolt {
			continue
		}
		c.Outputs = append(c.Outputs, Stream{ID: CheckpointStream, Fields: slices.Clone(CheckpointFields)})
		var from []string
		for _, in := range c.Inputs {
			src := in.From
			if s := byID[src]; s != nil && s.Kind == KindSpout {
				src = CheckpointSpout
			}
			if !slices.Contains(from, src) {
				from = append(from, src)
			}
		}
		for _, f := range from {
			c.Inputs = append(c.Inputs, Input{From: f, Stream: CheckpointStream, Grouping: Grouping{Type: All}})
		}
	}
	t.Components = append(t.Components, &Component{
		ID: CheckpointSpout, Kind: KindSpout, Parallelism: 1, NumTasks: 1,
		Outputs: []Stream{{ID: CheckpointStream, Fields: slices.Clone(CheckpointFields)}},
		Go: &GoSpec{Name: CheckpointSpoutName, NewSpout: func() (Spout, error) {
			return nil, ErrCheckpointSpoutBuilt
		}},
	})
	normalize(t)
}

// checkCheckpointing checks what a stateful topology needs: the
// checkpoint ids are the wiring's, and the bolts form no cycle.
func (v *validator) checkCheckpointing() {
	if !v.t.Stateful() {
		return
	}
	for _, c := range v.t.Components {
		if c.ID == CheckpointSpout && !c.IsCheckpointSpout() {
			v.add(c, 0, fmt.Errorf("%w %q: the id is reserved for the checkpoint spout of a stateful topology", ErrBadID, c.ID))
		}
		for _, s := range c.Outputs {
			if s.ID == CheckpointStream && !slices.Equal(s.Fields, CheckpointFields) {
				v.add(c, 0, fmt.Errorf("%w: stream %q is reserved for checkpoint barriers in a stateful topology", ErrBadID, s.ID))
			}
		}
		for i, in := range c.Inputs {
			if in.Stream == CheckpointStream && in.Grouping.Type != All {
				v.addInput(c, i, fmt.Errorf("%w: the checkpoint stream %q is subscribed with ALL only", ErrBadGrouping, in.Stream))
			}
		}
	}
	if cycle := v.boltCycle(); cycle != nil {
		v.add(v.byID[cycle[0]], 0, fmt.Errorf("%w: %s: barriers cannot be counted around it", ErrCycle, strings.Join(cycle, " -> ")))
	}
}

// boltCycle returns a cycle of subscriptions, first component repeated
// last, or nil.
func (v *validator) boltCycle() []string {
	const (
		unseen = iota
		onPath
		done
	)
	mark := make(map[string]int, len(v.t.Components))
	var path []string
	var visit func(id string) []string
	visit = func(id string) []string {
		switch mark[id] {
		case onPath:
			i := slices.Index(path, id)
			return append(slices.Clone(path[i:]), id)
		case done:
			return nil
		}
		mark[id] = onPath
		path = append(path, id)
		if c := v.byID[id]; c != nil {
			for _, in := range c.Inputs {
				if cycle := visit(in.From); cycle != nil {
					return cycle
				}
			}
		}
		path = path[:len(path)-1]
		mark[id] = done
		return nil
	}
	for _, c := range v.t.Components {
		if cycle := visit(c.ID); cycle != nil {
			slices.Reverse(cycle) // subscriptions point upstream; show the flow
			return cycle
		}
	}
	return nil
}
