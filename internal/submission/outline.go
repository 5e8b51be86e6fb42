package submission

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/squallstream/squall/topology"
)

// Outline is the shape of a validated topology: its name, configuration
// and components with their parallelism, tasks and streams, without their
// implementations. nimbus schedules and reports on topologies from their
// outlines, so it never has to construct a Go component.
//
// A submission that brings its own Go binary holds Go components nimbus's
// registry does not have. nimbus then runs `<binary> validate`, which
// loads the submission (read as protojson on stdin) with the binary's
// registry, exits 1 printing the error if it is invalid, and otherwise
// exits 0 printing NewOutline of the topology it loaded as JSON on stdout.
type Outline struct {
	// Name is the topology's name, after the submission's override.
	Name string `json:"name"`
	// Config is the topology's configuration, with the submission's
	// overrides laid over it (not merged with any cluster configuration).
	Config topology.Config `json:"config,omitempty"`
	// Components are the spouts and bolts, sorted by id.
	Components []OutlineComponent `json:"components"`
}

// OutlineComponent is one spout or bolt of an Outline.
type OutlineComponent struct {
	ID string `json:"id"`
	// Kind is "spout" or "bolt".
	Kind        string `json:"kind"`
	Parallelism int    `json:"parallelism"`
	NumTasks    int    `json:"numTasks"`
	// Streams are the ids of the streams it declares, sorted.
	Streams []string `json:"streams,omitempty"`
	// Inputs are the streams a bolt subscribes to.
	Inputs []OutlineInput `json:"inputs,omitempty"`
}

// OutlineInput is a bolt's subscription to a stream of another component.
type OutlineInput struct {
	From   string `json:"from"`
	Stream string `json:"stream"`
	// Grouping is the grouping's type in lower case, Storm's name where
	// Storm has one ("shuffle", "fields", "local_or_shuffle"); "" in the
	// outlines of topologies submitted before it was recorded.
	Grouping string `json:"grouping,omitempty"`
}

// NewOutline returns the outline of t.
func NewOutline(t *topology.Topology) Outline {
	o := Outline{Name: t.Name, Config: t.Config}
	for _, c := range t.Components {
		oc := OutlineComponent{
			ID:          c.ID,
			Kind:        c.Kind.String(),
			Parallelism: c.Parallelism,
			NumTasks:    c.NumTasks,
		}
		for _, s := range c.Outputs {
			oc.Streams = append(oc.Streams, s.ID)
		}
		for _, in := range c.Inputs {
			oc.Inputs = append(oc.Inputs, OutlineInput{From: in.From, Stream: in.Stream,
				Grouping: strings.ToLower(string(in.Grouping.Type))})
		}
		o.Components = append(o.Components, oc)
	}
	slices.SortFunc(o.Components, func(a, b OutlineComponent) int { return strings.Compare(a.ID, b.ID) })
	return o
}

// ParseOutline decodes an outline printed by `validate` and checks that
// it describes a topology nimbus can schedule.
func ParseOutline(data []byte) (Outline, error) {
	var o Outline
	if err := json.Unmarshal(data, &o); err != nil {
		return Outline{}, fmt.Errorf("topology outline: %w", err)
	}
	if err := o.Validate(); err != nil {
		return Outline{}, err
	}
	return o, nil
}

// Validate reports the first problem that would keep nimbus from
// scheduling the topology: no name, no components, an empty, reserved or
// repeated component id, an unknown kind, or tasks that do not fit the
// parallelism. It sorts the components by id.
func (o *Outline) Validate() error {
	if o.Name == "" {
		return errors.New("topology outline: no name")
	}
	if len(o.Components) == 0 {
		return errors.New("topology outline: no components")
	}
	if err := topology.CheckConfig(o.Config); err != nil {
		return fmt.Errorf("topology outline: %w", err)
	}
	slices.SortFunc(o.Components, func(a, b OutlineComponent) int { return strings.Compare(a.ID, b.ID) })
	for i, c := range o.Components {
		switch {
		case c.ID == "" || strings.HasPrefix(c.ID, "__"):
			return fmt.Errorf("topology outline: bad component id %q", c.ID)
		case i > 0 && o.Components[i-1].ID == c.ID:
			return fmt.Errorf("topology outline: component %q appears twice", c.ID)
		case c.Kind != topology.KindSpout.String() && c.Kind != topology.KindBolt.String():
			return fmt.Errorf("topology outline: component %q: unknown kind %q", c.ID, c.Kind)
		case c.Parallelism < 1 || c.NumTasks < c.Parallelism:
			return fmt.Errorf("topology outline: component %q: %d tasks over %d executors", c.ID, c.NumTasks, c.Parallelism)
		}
	}
	return nil
}
