package kafka

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/squallstream/squall/topology"
)

func tps(topic string, n int32) []TopicPartition {
	var out []TopicPartition
	for p := range n {
		out = append(out, TopicPartition{topic, p})
	}
	return out
}

func TestAssignPartitions(t *testing.T) {
	// b's partitions listed first and unsorted: the order given does not
	// matter, the sorted order does.
	all := append([]TopicPartition{{"b", 1}, {"b", 0}}, tps("a", 3)...)
	tests := []struct {
		index, tasks int
		want         string
	}{
		{0, 1, "[a-0 a-1 a-2 b-0 b-1]"},
		{0, 2, "[a-0 a-2 b-1]"},
		{1, 2, "[a-1 b-0]"},
		{0, 4, "[a-0 b-1]"},
		{3, 4, "[b-0]"},
		{5, 6, "[]"},
		{2, 2, "[]"},
		{-1, 2, "[]"},
		{0, 0, "[]"},
	}
	for _, tt := range tests {
		if got := fmt.Sprint(AssignPartitions(all, tt.index, tt.tasks)); got != tt.want {
			t.Errorf("AssignPartitions(all, %d, %d) = %s, want %s", tt.index, tt.tasks, got, tt.want)
		}
	}
}

// TestAssignEveryPartitionOnce: for any parallelism, every partition goes
// to exactly one task, and the tasks' shares differ by at most one.
func TestAssignEveryPartitionOnce(t *testing.T) {
	all := append(tps("orders", 7), tps("clicks", 8)...)
	all = append(all, all[3]) // a duplicate in the listing changes nothing
	for tasks := 1; tasks <= 17; tasks++ {
		owner := map[TopicPartition]int{}
		sizes := map[int]bool{}
		for i := range tasks {
			mine := AssignPartitions(all, i, tasks)
			sizes[len(mine)] = true
			for _, tp := range mine {
				if prev, dup := owner[tp]; dup {
					t.Fatalf("tasks=%d: %s assigned to %d and %d", tasks, tp, prev, i)
				}
				owner[tp] = i
			}
		}
		if len(owner) != 15 {
			t.Errorf("tasks=%d: %d partitions assigned, want 15", tasks, len(owner))
		}
		if s := slices.Sorted(maps.Keys(sizes)); s[len(s)-1]-s[0] > 1 {
			t.Errorf("tasks=%d: share sizes %v", tasks, s)
		}
	}
}

func TestTaskIndex(t *testing.T) {
	tasks := topology.NewTaskMap(map[string]int{"a": 2, "kafka": 4, "z": 1})
	for i, id := range tasks.Tasks("kafka") {
		ctx := &topology.TaskContext{Tasks: tasks, TaskID: id, ComponentID: "kafka"}
		idx, n, err := taskIndex(ctx)
		if err != nil || idx != i || n != 4 {
			t.Errorf("taskIndex(task %d) = %d, %d, %v; want %d, 4", id, idx, n, err, i)
		}
	}
	if _, _, err := taskIndex(&topology.TaskContext{Tasks: tasks, TaskID: 1, ComponentID: "kafka"}); err == nil {
		t.Errorf("taskIndex of a task of another component: no error")
	}
}
