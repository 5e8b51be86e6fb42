package worker

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/squallstream/squall/metrics"
	"github.com/squallstream/squall/shell"
)

// MetricDroppedDirectEmits counts, per task, the direct emits dropped
// because the target task does not subscribe to the stream (Storm drops
// them too). It is a user counter of the task.
const MetricDroppedDirectEmits = "__dropped-direct-emits"

// The collectors give shell tasks what they need beyond topology's
// collector interfaces.
var (
	_ shell.Flusher         = (*spoutCollector)(nil)
	_ shell.Flusher         = (*boltCollector)(nil)
	_ shell.MetricsRecorder = (*spoutCollector)(nil)
	_ shell.MetricsRecorder = (*boltCollector)(nil)
)

// UserMetric is a user metric of a task, all time: a counter's total
// (int64), a gauge's value (float64) or a histogram's summary
// (HistogramValue).
type UserMetric struct {
	Component string
	Task      int
	Name      string
	Value     any
}

// HistogramValue summarises a user histogram.
type HistogramValue struct {
	Count          int64
	Mean, P50, P99 float64
}

func (h HistogramValue) String() string {
	return fmt.Sprintf("count=%d mean=%.4g p50=%.4g p99=%.4g", h.Count, h.Mean, h.P50, h.P99)
}

// UserMetrics returns every user metric the tasks of this worker
// recorded, sorted by component, name and task.
func (w *Worker) UserMetrics() []UserMetric {
	var out []UserMetric
	for _, s := range w.metrics.Snapshot(time.Now()) {
		for _, x := range s.Series {
			if !x.User {
				continue
			}
			m := UserMetric{Component: s.Component, Task: s.FirstTask, Name: x.Name}
			switch x.Kind {
			case metrics.KindCounter:
				m.Value = x.Counts[metrics.WindowAllTime]
			case metrics.KindGauge:
				m.Value = x.Value
			case metrics.KindHistogram:
				h := HistogramValue{Count: x.Counts[metrics.WindowAllTime], Mean: x.Mean(metrics.WindowAllTime)}
				if x.Histogram != nil {
					h.P50, h.P99 = x.Histogram.Quantile(0.5), x.Histogram.Quantile(0.99)
				}
				m.Value = h
			}
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b UserMetric) int {
		return cmp.Or(cmp.Compare(a.Component, b.Component), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Task, b.Task))
	})
	return out
}

// RecordMetric updates a user metric of the task: a shell child's metrics
// command (shell.MetricsRecorder), or a Go component's
// TaskContext.RecordMetric. A refused or dropped update is counted and
// logged once by the registry; the component goes on.
func (e *emitter) RecordMetric(name string, params any) {
	_ = e.m.Record(name, params)
}

// addUserCount adds n to the task's user counter name; the registry
// counts and logs a refused counter, and the task goes on.
func (e *emitter) addUserCount(name string, n int64) {
	if c, err := e.m.UserCounter(name); err == nil {
		c.Add(n)
	}
}

// droppedDirect counts a direct emit to a task that does not subscribe
// to the stream, and logs the first ones.
func (e *emitter) droppedDirect(stream string, task int) {
	c, err := e.m.UserCounter(MetricDroppedDirectEmits)
	if err != nil {
		return
	}
	c.Inc()
	if n := c.Value(); n&(n-1) == 0 { // 1, 2, 4, 8...: visible, never a flood
		e.w.log.Warn("dropped a direct emit to a task that does not subscribe to the stream",
			"component", e.comp, "task", e.task, "stream", stream, "target", task, "dropped", n)
	}
}
