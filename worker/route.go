package worker

import (
	"fmt"

	"github.com/squallstream/squall/topology"
)

// streamOut is everything a task needs to emit on one of its streams.
type streamOut struct {
	stream topology.Stream
	// src is shared by every tuple the task emits on the stream.
	src *topology.Source
	// groupers choose targets among regular subscribers, one per
	// subscriber.
	groupers []grouper
	// direct holds the tasks subscribed with DIRECT.
	direct map[int]bool
	stats  *counters
}

// routesFor builds the output routes of a task: one streamOut per stream
// its component declares.
func (w *Worker) routesFor(ctx *topology.TaskContext, comp *topology.Component, task int) (map[string]*streamOut, error) {
	routes := make(map[string]*streamOut, len(comp.Outputs))
	for i, s := range comp.Outputs {
		out := &streamOut{
			stream: s,
			src: &topology.Source{Component: comp.ID, Task: task, Stream: s.ID, Fields: topology.NewFields(s.Fields...),
				StreamIndex: w.streamIndex[[2]string{comp.ID, s.ID}]},
			stats: outputCounters(w.metrics.Task(comp.ID, task), s.ID, comp.Kind == topology.KindSpout),
		}
		for j, sub := range w.topo.Subscribers(comp.ID, s.ID) {
			targets := w.tasks.Tasks(sub.Component)
			switch sub.Grouping.Type {
			case topology.Direct:
				if out.direct == nil {
					out.direct = map[int]bool{}
				}
				for _, t := range targets {
					out.direct[t] = true
				}
				continue
			case topology.Custom:
				if sub.Grouping.NewCustom == nil {
					return nil, fmt.Errorf("custom grouping %q of %s has no constructor", sub.Grouping.Custom, sub.Component)
				}
				g, err := sub.Grouping.NewCustom()
				if err != nil {
					return nil, fmt.Errorf("custom grouping %q of %s: %w", sub.Grouping.Custom, sub.Component, err)
				}
				g.Prepare(ctx, s.ID, targets)
				set := make(map[int]bool, len(targets))
				for _, t := range targets {
					set[t] = true
				}
				out.groupers = append(out.groupers, &customGrouper{g: g, targets: set, source: comp.ID})
				continue
			}
			seed := uint64(task)<<32 | uint64(i)<<16 | uint64(j)
			var load func(int) int
			if !ctx.Config.Bool(topology.KeyDisableLoadAwareMessaging, false) {
				load = w.taskLoad
			}
			g, err := newGrouper(sub.Grouping, targets, out.src.Fields, w.isLocal, load, seed)
			if err != nil {
				return nil, fmt.Errorf("stream %q to %s: %w", s.ID, sub.Component, err)
			}
			out.groupers = append(out.groupers, g)
		}
		routes[s.ID] = out
	}
	return routes, nil
}
