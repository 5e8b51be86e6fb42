package worker

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/squallstream/squall/topology"
)

func mustGrouper(t *testing.T, g topology.Grouping, targets []int, fields []string, local func(int) bool) grouper {
	t.Helper()
	if local == nil {
		local = func(int) bool { return true }
	}
	gr, err := newGrouper(g, targets, topology.NewFields(fields...), local, nil, 42)
	if err != nil {
		t.Fatal(err)
	}
	return gr
}

func counts(g grouper, n int, values func(i int) []any) map[int]int {
	c := map[int]int{}
	for i := range n {
		for _, t := range g.choose(values(i), nil) {
			c[t]++
		}
	}
	return c
}

func TestShuffleSpreadsEvenly(t *testing.T) {
	for _, typ := range []topology.GroupingType{topology.Shuffle, topology.None} {
		g := mustGrouper(t, topology.Grouping{Type: typ}, []int{3, 4, 5, 6}, []string{"w"}, nil)
		c := counts(g, 4000, func(int) []any { return []any{"same"} })
		for _, task := range []int{3, 4, 5, 6} {
			if c[task] != 1000 {
				t.Errorf("%s: task %d got %d of 4000, want 1000", typ, task, c[task])
			}
		}
	}
}

func TestFieldsSameKeySameTask(t *testing.T) {
	targets := []int{7, 8, 9}
	g := mustGrouper(t, topology.Grouping{Type: topology.FieldsGrouping, Fields: []string{"word"}}, targets, []string{"n", "word"}, nil)
	seen := map[string]int{}
	c := counts(g, 3000, func(i int) []any {
		return []any{int64(i), fmt.Sprintf("key-%d", i%100)}
	})
	for i := range 3000 {
		key := fmt.Sprintf("key-%d", i%100)
		task := g.choose([]any{int64(-i), key}, nil)[0]
		if prev, ok := seen[key]; ok && prev != task {
			t.Fatalf("key %q went to tasks %d and %d", key, prev, task)
		}
		seen[key] = task
	}
	for _, task := range targets {
		if c[task] < 600 {
			t.Errorf("task %d got only %d of 3000 tuples of 100 keys", task, c[task])
		}
	}
}

// TestFieldsStableAcrossTypesAndProcesses: the hash of a key does not
// depend on the Go type of an integer, nor on the process.
func TestFieldsStableAcrossTypesAndProcesses(t *testing.T) {
	idx := []int{0, 1}
	h := hashFields([]any{int64(5), "k"}, idx, 0)
	for _, v := range []any{5, int32(5), uint8(5), uint64(5)} {
		if got := hashFields([]any{v, "k"}, idx, 0); got != h {
			t.Errorf("hash of %T 5 = %d, want %d as for int64", v, got, h)
		}
	}
	if os.Getenv("WORKER_HASH_CHILD") != "" {
		return
	}
	// Another process (a fresh start of this test binary) hashes alike.
	cmd := exec.Command(os.Args[0], "-test.run=^TestFieldsHashPrint$")
	cmd.Env = append(os.Environ(), "WORKER_HASH_CHILD=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	line := strings.Fields(string(out))[0]
	if got, _ := strconv.ParseUint(line, 10, 64); got != hashFields(hashSample, []int{0, 1, 2, 3}, 0) {
		t.Errorf("another process hashed to %s, this one to %d", line, hashFields(hashSample, []int{0, 1, 2, 3}, 0))
	}
}

var hashSample = []any{"word", int64(-3), 2.5, []any{true, nil, map[string]any{"b": 1, "a": "x"}}}

func TestFieldsHashPrint(t *testing.T) {
	if os.Getenv("WORKER_HASH_CHILD") == "" {
		t.Skip("helper for TestFieldsStableAcrossTypesAndProcesses")
	}
	fmt.Println(hashFields(hashSample, []int{0, 1, 2, 3}, 0))
}

func TestGlobalAndAll(t *testing.T) {
	targets := []int{4, 5, 6}
	g := mustGrouper(t, topology.Grouping{Type: topology.Global}, targets, nil, nil)
	if c := counts(g, 50, func(int) []any { return nil }); c[4] != 50 || len(c) != 1 {
		t.Errorf("global: %v, want everything on the lowest task 4", c)
	}
	a := mustGrouper(t, topology.Grouping{Type: topology.All}, targets, nil, nil)
	if got := a.choose(nil, nil); !slices.Equal(got, targets) {
		t.Errorf("all chose %v, want %v", got, targets)
	}
}

func TestLocalOrShufflePrefersLocal(t *testing.T) {
	local := func(task int) bool { return task == 5 || task == 7 }
	g := mustGrouper(t, topology.Grouping{Type: topology.LocalOrShuffle}, []int{4, 5, 6, 7}, nil, local)
	c := counts(g, 100, func(int) []any { return nil })
	if c[5] != 50 || c[7] != 50 {
		t.Errorf("local-or-shuffle: %v, want only local tasks 5 and 7, evenly", c)
	}
	none := mustGrouper(t, topology.Grouping{Type: topology.LocalOrShuffle}, []int{4, 6}, nil, func(int) bool { return false })
	if c := counts(none, 100, func(int) []any { return nil }); c[4] != 50 || c[6] != 50 {
		t.Errorf("local-or-shuffle without local tasks: %v, want a shuffle", c)
	}
}

// TestPartialKeyBalancesHotKey: a key carrying most of the traffic is
// split over two tasks, where fields grouping puts it all on one.
func TestPartialKeyBalancesHotKey(t *testing.T) {
	targets := []int{1, 2, 3, 4}
	skewed := func(i int) []any {
		if i%10 < 8 {
			return []any{"hot"}
		}
		return []any{fmt.Sprintf("cold-%d", i)}
	}
	pk := counts(mustGrouper(t, topology.Grouping{Type: topology.PartialKey, Fields: []string{"k"}}, targets, []string{"k"}, nil), 10000, skewed)
	fg := counts(mustGrouper(t, topology.Grouping{Type: topology.FieldsGrouping, Fields: []string{"k"}}, targets, []string{"k"}, nil), 10000, skewed)
	maxOf := func(c map[int]int) int {
		m := 0
		for _, n := range c {
			m = max(m, n)
		}
		return m
	}
	if maxOf(fg) < 8000 {
		t.Fatalf("fields grouping should put the hot key on one task: %v", fg)
	}
	if m := maxOf(pk); m > 5500 {
		t.Errorf("partial key: busiest task got %d of 10000 (%v), want the hot key split over two tasks", m, pk)
	}
	hot := mustGrouper(t, topology.Grouping{Type: topology.PartialKey, Fields: []string{"k"}}, targets, []string{"k"}, nil)
	used := map[int]bool{}
	for range 100 {
		used[hot.choose([]any{"hot"}, nil)[0]] = true
	}
	if len(used) != 2 {
		t.Errorf("the hot key went to %d tasks, want exactly its two candidates", len(used))
	}
}

func TestHashSpread(t *testing.T) {
	// The folding of the high bits keeps small moduli balanced.
	c := make([]int, 8)
	for i := range 80000 {
		c[hashFields([]any{strconv.Itoa(i)}, []int{0}, 0)%8]++
	}
	for i, n := range c {
		if math.Abs(float64(n)-10000) > 500 {
			t.Errorf("bucket %d got %d of 80000", i, n)
		}
	}
}
