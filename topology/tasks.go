package topology

import "sort"

// TaskMap assigns task ids to components the way Storm does: components,
// including system ones such as __acker, sorted by id in byte order, their
// tasks numbered consecutively from 1.
type TaskMap struct {
	// byComponent holds each component's task ids in ascending order.
	byComponent map[string][]int
	// component holds the component of task i at index i-1.
	component []string
}

// NewTaskMap numbers the tasks of components, given as id → number of tasks.
func NewTaskMap(numTasks map[string]int) *TaskMap {
	ids := make([]string, 0, len(numTasks))
	for id := range numTasks {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	m := &TaskMap{byComponent: make(map[string][]int, len(ids))}
	for _, id := range ids {
		tasks := make([]int, numTasks[id])
		for i := range tasks {
			m.component = append(m.component, id)
			tasks[i] = len(m.component)
		}
		m.byComponent[id] = tasks
	}
	return m
}

// TopologyTasks numbers the tasks of t's components plus `ackers` acker
// tasks (none when ackers is 0).
func TopologyTasks(t *Topology, ackers int) *TaskMap {
	n := make(map[string]int, len(t.Components)+1)
	for _, c := range t.Components {
		n[c.ID] = c.NumTasks
	}
	if ackers > 0 {
		n[AckerComponent] = ackers
	}
	return NewTaskMap(n)
}

// Tasks returns the task ids of a component in ascending order. The caller
// must not modify the slice.
func (m *TaskMap) Tasks(component string) []int { return m.byComponent[component] }

// Component returns the component of a task id, or "" if there is no such
// task. The system task (-1) belongs to __system.
func (m *TaskMap) Component(task int) string {
	if task == SystemTaskID {
		return SystemComponent
	}
	if task < 1 || task > len(m.component) {
		return ""
	}
	return m.component[task-1]
}

// NumTasks is the total number of tasks.
func (m *TaskMap) NumTasks() int { return len(m.component) }

// Components returns every component id, sorted.
func (m *TaskMap) Components() []string {
	ids := make([]string, 0, len(m.byComponent))
	for id := range m.byComponent {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
