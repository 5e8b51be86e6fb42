package topology

import (
	"slices"
	"sort"
)

// DefaultStream is the stream a component emits on when it names none.
const DefaultStream = "default"

// System component and stream names. User component ids may not start with
// "__", so these never collide with them.
const (
	AckerComponent  = "__acker"
	SystemComponent = "__system"
	TickStream      = "__tick"
	SystemTaskID    = -1
)

// Kind says whether a component is a spout or a bolt.
type Kind int

const (
	KindSpout Kind = iota + 1
	KindBolt
)

func (k Kind) String() string {
	switch k {
	case KindSpout:
		return "spout"
	case KindBolt:
		return "bolt"
	}
	return "unknown"
}

// Topology is a validated graph of components. It is immutable once built:
// the runtime shares one value between all of a worker's executors.
type Topology struct {
	// Name is the topology's name, as submitted.
	Name string
	// Config is the topology-level configuration (Storm keys), before the
	// cluster defaults are merged in.
	Config Config
	// Components lists every spout and bolt, sorted by ID.
	Components []*Component
}

// Component returns the component with the given id, or nil.
func (t *Topology) Component(id string) *Component {
	i, ok := slices.BinarySearchFunc(t.Components, id, func(c *Component, id string) int {
		switch {
		case c.ID < id:
			return -1
		case c.ID > id:
			return 1
		}
		return 0
	})
	if !ok {
		return nil
	}
	return t.Components[i]
}

// Subscribers returns, for the stream `stream` of component `from`, every
// component subscribed to it and the grouping it uses, sorted by component id.
func (t *Topology) Subscribers(from, stream string) []Subscriber {
	var subs []Subscriber
	for _, c := range t.Components {
		for _, in := range c.Inputs {
			if in.From == from && in.Stream == stream {
				subs = append(subs, Subscriber{Component: c.ID, Grouping: in.Grouping})
			}
		}
	}
	return subs
}

// ComponentConfig returns the configuration a component's tasks see: the
// topology's config with the component's own keys laid over it.
func (t *Topology) ComponentConfig(id string) Config {
	c := t.Component(id)
	if c == nil || len(c.Config) == 0 {
		return t.Config
	}
	return t.Config.Merge(c.Config)
}

// Subscriber is one component consuming a stream, with its grouping.
type Subscriber struct {
	Component string
	Grouping  Grouping
}

// Component is one spout or bolt of a topology.
type Component struct {
	// ID names the component; unique in the topology, never starting with "__".
	ID   string
	Kind Kind
	// Parallelism is the number of executors (goroutines) running the
	// component's tasks; NumTasks is the number of tasks (instances), at
	// least Parallelism. Tasks are spread evenly over the executors.
	Parallelism int
	NumTasks    int
	// Config holds component-level keys that override the topology's.
	Config Config
	// Outputs are the streams the component declares, sorted by ID.
	Outputs []Stream
	// Inputs are the component's subscriptions (bolts only), in the order
	// they were declared.
	Inputs []Input
	// Exactly one of Shell and Go is set.
	Shell *ShellSpec
	Go    *GoSpec
	// Line is the 1-based line of the component's definition in its YAML
	// file, or 0 when it was built in Go.
	Line int
	// Stateful is set for a bolt declared `state:`: its state is
	// checkpointed (docs/windowing-and-state.md). Windowed is read from
	// Config (Component.Windowed).
	Stateful bool
	// Coordination is set for the bolts of a `drpc:` chain (see
	// coordination.go): the runtime then tracks each request they handle.
	Coordination *Coordination
}

// Output returns the declared stream with the given id.
func (c *Component) Output(stream string) (Stream, bool) {
	i := sort.Search(len(c.Outputs), func(i int) bool { return c.Outputs[i].ID >= stream })
	if i < len(c.Outputs) && c.Outputs[i].ID == stream {
		return c.Outputs[i], true
	}
	return Stream{}, false
}

// Stream is a declared output stream of a component.
type Stream struct {
	ID     string
	Fields []string
	// Direct streams are consumed only with DIRECT groupings and only
	// emitted to with EmitDirect.
	Direct bool
}

// Input is a bolt's subscription to one stream of another component.
type Input struct {
	From     string
	Stream   string
	Grouping Grouping
	// Line is the 1-based YAML line of the subscription, or 0.
	Line int
}

// GroupingType names a stream grouping, spelled as in YAML and Flux.
type GroupingType string

const (
	Shuffle        GroupingType = "SHUFFLE"
	FieldsGrouping GroupingType = "FIELDS"
	All            GroupingType = "ALL"
	Global         GroupingType = "GLOBAL"
	None           GroupingType = "NONE"
	Direct         GroupingType = "DIRECT"
	LocalOrShuffle GroupingType = "LOCAL_OR_SHUFFLE"
	PartialKey     GroupingType = "PARTIAL_KEY"
	Custom         GroupingType = "CUSTOM"
)

// Grouping says how a stream's tuples are spread over a subscriber's tasks.
type Grouping struct {
	Type GroupingType
	// Fields are the key fields of FIELDS and PARTIAL_KEY groupings.
	Fields []string
	// Custom is the registered name of a CUSTOM grouping (Go only).
	Custom string
	// CustomArgs are the arguments YAML gave a CUSTOM grouping; nil when
	// there are none.
	CustomArgs map[string]any
	// NewCustom returns a fresh instance of a CUSTOM grouping, resolved
	// from the Registry when the topology was loaded or built. The runtime
	// calls it once per emitting task and subscription.
	NewCustom func() (CustomGrouping, error)
}

// ShellSpec describes a component run as a multilang child process.
type ShellSpec struct {
	// Command is the argv to execute, without a shell, in the topology's
	// resources directory.
	Command []string
	// Env holds extra environment variables; PATH is appended to the
	// inherited PATH, other keys replace.
	Env map[string]string
}

// GoSpec describes a component implemented in Go and run inside the worker.
type GoSpec struct {
	// Name is the registry name the YAML used, empty when built in Go.
	Name string
	// Args are the constructor arguments from YAML.
	Args map[string]any
	// NewSpout (for spouts) or NewBolt (for bolts) returns a fresh instance
	// for one task. The runtime calls it once per task.
	NewSpout func() (Spout, error)
	NewBolt  func() (Bolt, error)
	// stateful is set for a bolt that implements StatefulBolt: its
	// component is stateful whether or not it says so, as in Storm.
	stateful bool
}
