package scheduler

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/squallstream/squall/topology"
)

// Layouts write assignments compactly: slot "node:port" → the start task
// ids of the single-task executors ("c", i, i) it runs.
type layout map[string][]int

// execs returns n single-task executors of component "c", tasks 1..n.
func execs(n int) []topology.Executor {
	out := make([]topology.Executor, n)
	for i := range out {
		out[i] = topology.Executor{Component: "c", Start: i + 1, End: i + 1}
	}
	return out
}

// sup returns a live supervisor with ports 6700, 6701, ... .
func sup(id string, ports int) Supervisor {
	s := Supervisor{ID: id, Host: "host-" + id, Alive: true}
	for p := range ports {
		s.Ports = append(s.Ports, 6700+p)
	}
	return s
}

func dead(id string, ports int) Supervisor {
	s := sup(id, ports)
	s.Alive = false
	return s
}

func slot(t *testing.T, s string) Slot {
	t.Helper()
	node, port, ok := strings.Cut(s, ":")
	p, err := strconv.Atoi(port)
	if !ok || err != nil {
		t.Fatalf("bad slot %q", s)
	}
	return Slot{Node: node, Port: p}
}

// assign builds the assignment a layout describes.
func assign(t *testing.T, l layout) Assignment {
	t.Helper()
	if l == nil {
		return nil
	}
	a := make(Assignment)
	for s, starts := range l {
		for _, start := range starts {
			a[topology.Executor{Component: "c", Start: start, End: start}] = slot(t, s)
		}
	}
	return a
}

// layoutOf describes an assignment of single-task executors as a layout.
func layoutOf(a Assignment) layout {
	l := make(layout)
	for _, w := range Workers(a) {
		for _, e := range w.Executors {
			l[w.Slot.String()] = append(l[w.Slot.String()], e.Start)
		}
	}
	return l
}

func (l layout) String() string {
	a := make(Assignment)
	for s, starts := range l {
		node, port, _ := strings.Cut(s, ":")
		p, _ := strconv.Atoi(port)
		for _, start := range starts {
			a[topology.Executor{Start: start, End: start}] = Slot{node, p}
		}
	}
	var b strings.Builder
	for _, w := range Workers(a) {
		fmt.Fprintf(&b, "%s:", w.Slot)
		for _, e := range w.Executors {
			fmt.Fprintf(&b, " %d", e.Start)
		}
		b.WriteString("; ")
	}
	return b.String()
}

// ex returns the executor of tasks start..end of component c.
func ex(c string, start, end int) topology.Executor {
	return topology.Executor{Component: c, Start: start, End: end}
}
