package topology

import (
	"reflect"
	"testing"
)

func TestTaskMap(t *testing.T) {
	m := NewTaskMap(map[string]int{"split": 2, "__acker": 1, "count": 3, "sentences": 1})
	tests := []struct {
		component string
		want      []int
	}{
		{"__acker", []int{1}}, {"count", []int{2, 3, 4}}, {"sentences", []int{5}}, {"split", []int{6, 7}},
	}
	for _, tt := range tests {
		if got := m.Tasks(tt.component); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Tasks(%q) = %v, want %v", tt.component, got, tt.want)
		}
		for _, task := range tt.want {
			if got := m.Component(task); got != tt.component {
				t.Errorf("Component(%d) = %q, want %q", task, got, tt.component)
			}
		}
	}
	if got := m.Component(-1); got != SystemComponent {
		t.Errorf("Component(-1) = %q", got)
	}
	if got := m.Component(8); got != "" {
		t.Errorf("Component(8) = %q, want none", got)
	}
	if m.NumTasks() != 7 {
		t.Errorf("NumTasks() = %d", m.NumTasks())
	}
}

func TestExecutors(t *testing.T) {
	m := NewTaskMap(map[string]int{"__acker": 2, "count": 8, "split": 3, "spout": 1})
	got := m.Executors(map[string]int{"count": 3, "split": 3, "spout": 1})
	want := []Executor{
		{"__acker", 1, 1}, {"__acker", 2, 2},
		{"count", 3, 5}, {"count", 6, 8}, {"count", 9, 10},
		{"split", 11, 11}, {"split", 12, 12}, {"split", 13, 13},
		{"spout", 14, 14},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Executors() =\n%v\nwant\n%v", got, want)
	}
	if got := (Executor{"count", 3, 5}).Tasks(); !reflect.DeepEqual(got, []int{3, 4, 5}) {
		t.Errorf("Tasks() = %v", got)
	}
}
