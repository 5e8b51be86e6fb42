package shell

import (
	"github.com/squallstream/squall/multilang"
	"github.com/squallstream/squall/topology"
)

// handshake builds the first message for the child of a task, with the
// topology context Storm sends.
func handshake(ctx *topology.TaskContext) *multilang.Handshake {
	topo, self := ctx.Topology, ctx.Component()
	mc := multilang.Context{
		TaskToComponent:          make(map[int]string, ctx.Tasks.NumTasks()),
		TaskID:                   ctx.TaskID,
		ComponentID:              ctx.ComponentID,
		Streams:                  []string{},
		StreamToOutputFields:     map[string][]string{},
		StreamToTargetToGrouping: map[string]map[string]multilang.Grouping{},
		SourceToStreamToGrouping: map[string]map[string]multilang.Grouping{},
		SourceToStreamToFields:   map[string]map[string][]string{},
	}
	for _, comp := range ctx.Tasks.Components() {
		for _, task := range ctx.Tasks.Tasks(comp) {
			mc.TaskToComponent[task] = comp
		}
	}
	for _, s := range self.Outputs {
		mc.Streams = append(mc.Streams, s.ID)
		mc.StreamToOutputFields[s.ID] = nonNil(s.Fields)
		targets := map[string]multilang.Grouping{}
		for _, sub := range topo.Subscribers(self.ID, s.ID) {
			targets[sub.Component] = stormGrouping(sub.Grouping)
		}
		mc.StreamToTargetToGrouping[s.ID] = targets
	}
	for _, in := range self.Inputs {
		if mc.SourceToStreamToGrouping[in.From] == nil {
			mc.SourceToStreamToGrouping[in.From] = map[string]multilang.Grouping{}
			mc.SourceToStreamToFields[in.From] = map[string][]string{}
		}
		mc.SourceToStreamToGrouping[in.From][in.Stream] = stormGrouping(in.Grouping)
		if src := topo.Component(in.From); src != nil {
			if s, ok := src.Output(in.Stream); ok {
				mc.SourceToStreamToFields[in.From][in.Stream] = nonNil(s.Fields)
			}
		}
	}
	mc.Squall = stateContext(ctx)
	return &multilang.Handshake{PidDir: ctx.PidDir, Conf: ctx.Config, Context: mc}
}

// stormGrouping describes a grouping as Storm's host does to children:
// GLOBAL is FIELDS with no fields, PARTIAL_KEY is CUSTOM_SERIALIZED and a
// Go custom grouping is CUSTOM_OBJECT.
func stormGrouping(g topology.Grouping) multilang.Grouping {
	switch g.Type {
	case topology.FieldsGrouping:
		return multilang.Grouping{Type: "FIELDS", Fields: nonNil(g.Fields)}
	case topology.Global:
		return multilang.Grouping{Type: "FIELDS", Fields: []string{}}
	case topology.PartialKey:
		return multilang.Grouping{Type: "CUSTOM_SERIALIZED"}
	case topology.Custom:
		return multilang.Grouping{Type: "CUSTOM_OBJECT"}
	}
	return multilang.Grouping{Type: string(g.Type)}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
