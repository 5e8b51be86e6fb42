package topology

import (
	"fmt"
	"sort"
)

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

// Executor is a range of consecutive task ids of one component run by one
// executor, as Storm names them: [Start, End], inclusive.
type Executor struct {
	Component  string
	Start, End int
}

// Tasks returns the executor's task ids.
func (e Executor) Tasks() []int {
	tasks := make([]int, 0, e.End-e.Start+1)
	for t := e.Start; t <= e.End; t++ {
		tasks = append(tasks, t)
	}
	return tasks
}

func (e Executor) String() string { return fmt.Sprintf("%s[%d-%d]", e.Component, e.Start, e.End) }

// Executors splits every component's tasks over its executors as Storm
// does: consecutive ranges, the first ones one task longer when the tasks
// do not divide evenly. parallelism gives each component's number of
// executors (components missing from it, such as __acker, get one
// executor per task). The result is sorted by task id.
func (m *TaskMap) Executors(parallelism map[string]int) []Executor {
	var out []Executor
	for _, comp := range m.Components() {
		tasks := m.Tasks(comp)
		n := parallelism[comp]
		if n <= 0 || n > len(tasks) {
			n = len(tasks)
		}
		start := 0
		for i := range n {
			size := len(tasks) / n
			if i < len(tasks)%n {
				size++
			}
			out = append(out, Executor{Component: comp, Start: tasks[start], End: tasks[start+size-1]})
			start += size
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	return out
}

// Parallelism returns each component's number of executors in t.
func (t *Topology) Parallelism() map[string]int {
	p := make(map[string]int, len(t.Components))
	for _, c := range t.Components {
		p[c.ID] = c.Parallelism
	}
	return p
}
