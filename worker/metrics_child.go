package worker

import (
	"github.com/squallstream/squall/metrics"
	"github.com/squallstream/squall/shell"
)

// childStatser is a task that reports on the children it runs.
type childStatser interface {
	ChildStats() shell.ChildStats
}

func (b windowedShellBolt) ChildStats() shell.ChildStats {
	if s, ok := b.inner.(childStatser); ok {
		return s.ChildStats()
	}
	return shell.ChildStats{}
}

func (c coordinatedHosted) ChildStats() shell.ChildStats {
	if s, ok := c.h.(childStatser); ok {
		return s.ChildStats()
	}
	return shell.ChildStats{}
}

// childMetrics registers, for every shell task, its child metrics: they
// are read from the task (and /proc) when the registry is read, so that
// the tuple path pays nothing. Called once every task started, since a
// shell task runs its children from then on.
func (w *Worker) childMetrics() {
	register := func(comp string, id int, task any) {
		c, ok := task.(childStatser)
		if !ok {
			return
		}
		t := w.metrics.Task(comp, id)
		t.CounterFunc(metrics.ChildRestarts, "", func() int64 { return int64(c.ChildStats().Restarts) })
		t.CounterFunc(metrics.ChildCPUTime, "", func() int64 { return int64(c.ChildStats().CPUTime) })
		t.GaugeFunc(metrics.ChildRSS, "", func() float64 { return float64(c.ChildStats().RSSBytes) })
		t.GaugeFunc(metrics.ChildCrashLooping, "", func() float64 {
			if c.ChildStats().CrashLooping {
				return 1
			}
			return 0
		})
	}
	for _, x := range w.spouts {
		for _, t := range x.tasks {
			register(x.comp.ID, t.id, t.spout)
		}
	}
	for _, x := range w.bolts {
		for _, t := range x.tasks {
			register(x.comp.ID, t.id, t.bolt)
		}
	}
}
