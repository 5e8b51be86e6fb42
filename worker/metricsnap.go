package worker

import (
	"time"

	"github.com/squallstream/squall/metrics"
	"github.com/squallstream/squall/topology"
)

// Metrics returns the registry holding every task's built-in and user
// metrics, for the worker process to expose and report.
func (w *Worker) Metrics() *metrics.Registry { return w.metrics }

// ExecutorSnapshots reads every series of the worker's spout and bolt
// executors in every window at now: one Snapshot per executor, its tasks
// merged, in the order the executors were built. This is what a worker
// ships in its heartbeat (Storm's executors ship their windowed stats the
// same way); nimbus merges them.
func (w *Worker) ExecutorSnapshots(now time.Time) []metrics.Snapshot {
	byTask := map[int]metrics.Snapshot{}
	for _, s := range w.metrics.Snapshot(now) {
		byTask[s.FirstTask] = s
	}
	var out []metrics.Snapshot
	add := func(ex topology.Executor) {
		var merged metrics.Snapshot
		for _, id := range ex.Tasks() {
			s, ok := byTask[id]
			if !ok {
				continue
			}
			if merged.Component == "" {
				merged = s
				continue
			}
			m, err := metrics.Merge(merged, s)
			if err != nil { // tasks of one executor are of one component
				w.log.Warn("merge executor metrics", "executor", ex, "err", err)
				continue
			}
			merged = m
		}
		if merged.Component != "" {
			out = append(out, merged)
		}
	}
	for _, x := range w.spouts {
		add(x.exec)
	}
	for _, x := range w.bolts {
		add(x.exec)
	}
	return out
}

// queueMetrics registers an executor's receive queue gauges on its first
// task: the queue is the executor's, shared by its tasks.
func (w *Worker) queueMetrics(comp string, ex topology.Executor, q *queue) {
	t := w.metrics.Task(comp, ex.Start)
	t.GaugeFunc(metrics.ReceiveQueuePopulation, "", func() float64 { return float64(q.len()) })
	t.Gauge(metrics.ReceiveQueueCapacity, "").Set(float64(q.limit))
	t.GaugeFunc(metrics.ReceiveQueueOverflow, "", func() float64 { return float64(q.heldBack.Load()) })
}
