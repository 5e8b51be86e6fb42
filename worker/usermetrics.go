package worker

import (
	"cmp"
	"slices"
	"sync"

	"github.com/squallstream/squall/shell"
)

// MetricDroppedDirectEmits counts, per task, the direct emits dropped
// because the target task does not subscribe to the stream (Storm drops
// them too).
const MetricDroppedDirectEmits = "__dropped-direct-emits"

// maxUserMetrics bounds the metric names one component may record; more
// are ignored, with a warning.
const maxUserMetrics = 100

// The collectors give shell tasks what they need beyond topology's
// collector interfaces.
var (
	_ shell.Flusher         = (*spoutCollector)(nil)
	_ shell.Flusher         = (*boltCollector)(nil)
	_ shell.MetricsRecorder = (*spoutCollector)(nil)
	_ shell.MetricsRecorder = (*boltCollector)(nil)
)

// UserMetric is the last value a task recorded for a named metric.
type UserMetric struct {
	Component string
	Task      int
	Name      string
	Value     any
}

// userMetrics keeps the metrics tasks record: what a shell child sends
// with the metrics command, and counts the worker keeps per task. It is
// safe for concurrent use; the zero value is ready.
type userMetrics struct {
	mu sync.Mutex
	// values holds the last value by component, name and task; names
	// counts the names of each component.
	values map[metricKey]any
	names  map[string]map[string]bool
}

type metricKey struct {
	component, name string
	task            int
}

// set records value for a task's metric name, unless the component has
// recorded maxUserMetrics other names; it reports whether it did.
func (m *userMetrics) set(component string, task int, name string, value any) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.admit(component, name) {
		return false
	}
	m.values[metricKey{component, name, task}] = value
	return true
}

// add adds n to a task's counter name and returns its new value.
func (m *userMetrics) add(component string, task int, name string, n int64) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.admit(component, name) {
		return 0
	}
	k := metricKey{component, name, task}
	v, _ := m.values[k].(int64)
	v += n
	m.values[k] = v
	return v
}

// admit reports whether component may record name; mu is held.
func (m *userMetrics) admit(component, name string) bool {
	if m.values == nil {
		m.values, m.names = map[metricKey]any{}, map[string]map[string]bool{}
	}
	names := m.names[component]
	if names == nil {
		names = map[string]bool{}
		m.names[component] = names
	}
	if !names[name] {
		if len(names) >= maxUserMetrics {
			return false
		}
		names[name] = true
	}
	return true
}

func (m *userMetrics) snapshot() []UserMetric {
	m.mu.Lock()
	out := make([]UserMetric, 0, len(m.values))
	for k, v := range m.values {
		out = append(out, UserMetric{Component: k.component, Task: k.task, Name: k.name, Value: v})
	}
	m.mu.Unlock()
	slices.SortFunc(out, func(a, b UserMetric) int {
		return cmp.Or(cmp.Compare(a.Component, b.Component), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Task, b.Task))
	})
	return out
}

// UserMetrics returns the last value of every metric the tasks of this
// worker recorded, sorted by component, name and task.
func (w *Worker) UserMetrics() []UserMetric { return w.userMetrics.snapshot() }

// RecordMetric records a metric of the task: a shell child's metrics
// command (shell.MetricsRecorder).
func (e *emitter) RecordMetric(name string, value any) {
	if !e.w.userMetrics.set(e.comp, e.task, name, value) {
		e.w.log.Warn("too many metric names, metric ignored", "component", e.comp, "task", e.task, "metric", name, "limit", maxUserMetrics)
	}
}

// droppedDirect counts a direct emit to a task that does not subscribe
// to the stream, and logs the first ones.
func (e *emitter) droppedDirect(stream string, task int) {
	n := e.w.userMetrics.add(e.comp, e.task, MetricDroppedDirectEmits, 1)
	if n&(n-1) == 0 { // 1, 2, 4, 8...: visible, never a flood
		e.w.log.Warn("dropped a direct emit to a task that does not subscribe to the stream",
			"component", e.comp, "task", e.task, "stream", stream, "target", task, "dropped", n)
	}
}
