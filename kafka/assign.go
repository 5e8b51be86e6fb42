package kafka

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"

	"github.com/squallstream/squall/topology"
)

// TopicPartition names one partition of a topic.
type TopicPartition struct {
	Topic     string
	Partition int32
}

func (tp TopicPartition) String() string {
	return tp.Topic + "-" + strconv.Itoa(int(tp.Partition))
}

func compareTP(a, b TopicPartition) int {
	if c := cmp.Compare(a.Topic, b.Topic); c != 0 {
		return c
	}
	return cmp.Compare(a.Partition, b.Partition)
}

// AssignPartitions returns, sorted, the partitions that task number index
// (from 0) of a spout with `tasks` tasks reads: all partitions sorted by
// topic and partition, then every tasks-th one from index, as Storm 2's
// RoundRobinManualPartitioner deals them. Every partition goes to exactly
// one task, whatever the order of all; all is not modified.
func AssignPartitions(all []TopicPartition, index, tasks int) []TopicPartition {
	if tasks < 1 || index < 0 || index >= tasks {
		return nil
	}
	sorted := slices.SortedFunc(slices.Values(all), compareTP)
	sorted = slices.Compact(sorted)
	var mine []TopicPartition
	for i := index; i < len(sorted); i += tasks {
		mine = append(mine, sorted[i])
	}
	return mine
}

// taskIndex returns the index of the context's task among its
// component's tasks, and the number of those tasks: Storm's
// getThisTaskIndex and the size of getComponentTasks.
func taskIndex(ctx *topology.TaskContext) (index, tasks int, err error) {
	if ctx.Tasks == nil {
		return 0, 0, fmt.Errorf("task %d of %q: no task map", ctx.TaskID, ctx.ComponentID)
	}
	ids := ctx.Tasks.Tasks(ctx.ComponentID)
	i := slices.Index(ids, ctx.TaskID)
	if i < 0 {
		return 0, 0, fmt.Errorf("task %d is not a task of %q", ctx.TaskID, ctx.ComponentID)
	}
	return i, len(ids), nil
}
