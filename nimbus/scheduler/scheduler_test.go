package scheduler

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/squallstream/squall/topology"
)

// roundRobin3 is the even assignment of 10 executors to 3 workers on two
// supervisors of 4 ports: workers interleaved over the nodes (a, b, a),
// executors dealt round-robin (4/3/3).
var roundRobin3 = layout{
	"a:6700": {1, 4, 7, 10},
	"b:6700": {2, 5, 8},
	"a:6701": {3, 6, 9},
}

type scheduleCase struct {
	name    string
	sups    []Supervisor
	others  map[string]layout // other topologies' assignments
	current layout            // the topology's current assignment
	execs   int
	workers int
	bad     []string
	want    layout
	short   bool
}

func (tc scheduleCase) input(t *testing.T) (Cluster, Request) {
	t.Helper()
	c := Cluster{Supervisors: tc.sups, Assignments: map[string]Assignment{}}
	for id, l := range tc.others {
		c.Assignments[id] = assign(t, l)
	}
	if tc.current != nil {
		c.Assignments["topo"] = assign(t, tc.current)
	}
	req := Request{TopologyID: "topo", Executors: execs(tc.execs), NumWorkers: tc.workers}
	for _, s := range tc.bad {
		req.BadSlots = append(req.BadSlots, slot(t, s))
	}
	return c, req
}

func (tc scheduleCase) check(t *testing.T, fn string, got Result, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s() error = %v", fn, err)
	}
	if l := layoutOf(got.Assignment); !reflect.DeepEqual(l, tc.want) {
		t.Errorf("%s() = %v, want %v", fn, l, tc.want)
	}
	if got.Workers != len(tc.want) || got.Short != tc.short {
		t.Errorf("%s() Workers, Short = %d, %v; want %d, %v", fn, got.Workers, got.Short, len(tc.want), tc.short)
	}
	for _, s := range got.Assignment {
		if want := "host-" + s.Node; got.NodeHost[s.Node] != want {
			t.Errorf("%s() NodeHost[%q] = %q, want %q", fn, s.Node, got.NodeHost[s.Node], want)
		}
	}
}

func TestSchedule(t *testing.T) {
	tests := []scheduleCase{
		{
			name:    "even spread from scratch",
			sups:    []Supervisor{sup("a", 4), sup("b", 4)},
			execs:   10,
			workers: 3,
			want:    roundRobin3,
		},
		{
			// The example in Storm's EvenScheduler.sortSlots: nodes with
			// most free slots first, interleaved.
			name:    "nodes of different sizes",
			sups:    []Supervisor{sup("s1", 2), sup("s2", 3), sup("s3", 4)},
			execs:   9,
			workers: 9,
			want: layout{
				"s3:6700": {1}, "s2:6700": {2}, "s1:6700": {3},
				"s3:6701": {4}, "s2:6701": {5}, "s1:6701": {6},
				"s3:6702": {7}, "s2:6702": {8},
				"s3:6703": {9},
			},
		},
		{
			name:    "one worker",
			sups:    []Supervisor{sup("a", 4), sup("b", 4)},
			execs:   5,
			workers: 1,
			want:    layout{"a:6700": {1, 2, 3, 4, 5}},
		},
		{
			name:    "healthy assignment kept",
			sups:    []Supervisor{sup("a", 4), sup("b", 4)},
			current: roundRobin3,
			execs:   10,
			workers: 3,
			want:    roundRobin3,
		},
		{
			name: "healthy assignment kept whatever its shape",
			sups: []Supervisor{sup("a", 4), sup("b", 4)},
			current: layout{
				"a:6703": {1, 2, 3, 4},
				"b:6702": {5, 6, 7},
				"a:6702": {8, 9, 10},
			},
			execs:   10,
			workers: 3,
			want: layout{
				"a:6703": {1, 2, 3, 4},
				"b:6702": {5, 6, 7},
				"a:6702": {8, 9, 10},
			},
		},
		{
			// A worker outlives its supervisor: while it heartbeats (its
			// slot is not bad), it stays.
			name:    "supervisor dead, its worker still heartbeats: kept",
			sups:    []Supervisor{sup("a", 4), dead("b", 4)},
			current: roundRobin3,
			execs:   10,
			workers: 3,
			want:    roundRobin3,
		},
		{
			name:    "supervisor dead, its worker silent: only its executors move",
			sups:    []Supervisor{sup("a", 4), dead("b", 4)},
			current: roundRobin3,
			execs:   10,
			workers: 3,
			bad:     []string{"b:6700"},
			want: layout{
				"a:6700": {1, 4, 7, 10},
				"a:6701": {3, 6, 9},
				"a:6702": {2, 5, 8},
			},
		},
		{
			name:    "supervisor dead, its worker silent: moved executors go to the least used node",
			sups:    []Supervisor{sup("a", 4), dead("b", 4), sup("c", 4)},
			current: roundRobin3,
			execs:   10,
			workers: 3,
			bad:     []string{"b:6700"},
			want: layout{
				"a:6700": {1, 4, 7, 10},
				"a:6701": {3, 6, 9},
				"c:6700": {2, 5, 8},
			},
		},
		{
			name:    "supervisor dead: no new worker placed on it",
			sups:    []Supervisor{dead("a", 4), sup("b", 1)},
			current: layout{"a:6700": {1, 3}},
			execs:   4,
			workers: 3,
			want:    layout{"a:6700": {1, 3}, "b:6700": {2, 4}},
			short:   true,
		},
		{
			// No free slot: the lost worker's executors join the others,
			// which keep theirs (three executors move, not ten).
			name:    "fewest moves: a lost worker's executors join the others",
			sups:    []Supervisor{sup("a", 2), dead("b", 1)},
			current: roundRobin3,
			execs:   10,
			workers: 3,
			bad:     []string{"b:6700"},
			want: layout{
				"a:6700": {1, 2, 4, 7, 10},
				"a:6701": {3, 5, 6, 8, 9},
			},
			short: true,
		},
		{
			name:    "node gone from the list",
			sups:    []Supervisor{sup("a", 4)},
			current: roundRobin3,
			execs:   10,
			workers: 3,
			want: layout{
				"a:6700": {1, 4, 7, 10},
				"a:6701": {3, 6, 9},
				"a:6702": {2, 5, 8},
			},
		},
		{
			name:    "worker lost: only its executors move",
			sups:    []Supervisor{sup("a", 4), sup("b", 4)},
			current: roundRobin3,
			execs:   10,
			workers: 3,
			bad:     []string{"b:6700"},
			want: layout{
				"a:6700": {1, 4, 7, 10},
				"b:6701": {2, 5, 8},
				"a:6701": {3, 6, 9},
			},
		},
		{
			name:    "worker lost with no other slot: bad slot reused",
			sups:    []Supervisor{sup("a", 2)},
			current: layout{"a:6700": {1, 3}, "a:6701": {2, 4}},
			execs:   4,
			workers: 2,
			bad:     []string{"a:6701"},
			want:    layout{"a:6700": {1, 3}, "a:6701": {2, 4}},
		},
		{
			name:    "port no longer offered",
			sups:    []Supervisor{sup("a", 1), sup("b", 4)},
			current: roundRobin3,
			execs:   10,
			workers: 3,
			want: layout{
				"a:6700": {1, 4, 7, 10},
				"b:6700": {2, 5, 8},
				"b:6701": {3, 6, 9},
			},
		},
		{
			name:    "fewer slots than workers",
			sups:    []Supervisor{sup("a", 2)},
			execs:   10,
			workers: 3,
			want:    layout{"a:6700": {1, 3, 5, 7, 9}, "a:6701": {2, 4, 6, 8, 10}},
			short:   true,
		},
		{
			name:    "still short: kept",
			sups:    []Supervisor{sup("a", 2)},
			current: layout{"a:6700": {1, 3, 5, 7, 9}, "a:6701": {2, 4, 6, 8, 10}},
			execs:   10,
			workers: 3,
			want:    layout{"a:6700": {1, 3, 5, 7, 9}, "a:6701": {2, 4, 6, 8, 10}},
			short:   true,
		},
		{
			// As Storm's DefaultScheduler, the topology grows to the
			// workers requested once slots are free; unlike it, the
			// workers keep what fits their share (three executors move,
			// not seven).
			name:    "no longer short: grows to the workers requested",
			sups:    []Supervisor{sup("a", 2), sup("b", 4)},
			current: layout{"a:6700": {1, 3, 5, 7, 9}, "a:6701": {2, 4, 6, 8, 10}},
			execs:   10,
			workers: 3,
			want: layout{
				"a:6700": {1, 3, 5, 7},
				"a:6701": {2, 4, 6},
				"b:6700": {8, 9, 10},
			},
		},
		{
			name:    "fewest moves: larger shares go to the larger workers",
			sups:    []Supervisor{sup("a", 4)},
			current: layout{"a:6700": {1, 2}, "a:6701": {3, 4, 5, 6}, "a:6702": {7, 8, 9, 10, 11}},
			execs:   11,
			workers: 3,
			want: layout{
				"a:6700": {1, 2, 11},
				"a:6701": {3, 4, 5, 6},
				"a:6702": {7, 8, 9, 10},
			},
		},
		{
			name:    "more workers than executors",
			sups:    []Supervisor{sup("a", 4), sup("b", 4)},
			execs:   2,
			workers: 4,
			want:    layout{"a:6700": {1}, "b:6700": {2}},
		},
		{
			name:    "slots of other topologies are not used",
			sups:    []Supervisor{sup("a", 4), sup("b", 4)},
			others:  map[string]layout{"other": {"a:6700": {1}, "a:6701": {2}, "b:6700": {3}}},
			execs:   6,
			workers: 3,
			want: layout{
				"b:6701": {1, 4},
				"a:6702": {2, 5},
				"b:6702": {3, 6},
			},
		},
		{
			name: "several topologies: short when others hold the rest",
			sups: []Supervisor{sup("a", 2), sup("b", 2)},
			others: map[string]layout{
				"one": {"a:6700": {1, 2}},
				"two": {"b:6700": {1}, "b:6701": {2}},
			},
			execs:   4,
			workers: 2,
			want:    layout{"a:6701": {1, 2, 3, 4}},
			short:   true,
		},
		{
			name:    "slot held by another topology is given up",
			sups:    []Supervisor{sup("a", 4), sup("b", 4)},
			others:  map[string]layout{"other": {"b:6700": {1}}},
			current: roundRobin3,
			execs:   10,
			workers: 3,
			want: layout{
				"a:6700": {1, 4, 7, 10},
				"b:6701": {2, 5, 8},
				"a:6701": {3, 6, 9},
			},
		},
		{
			name:    "dead slots of other topologies do not matter",
			sups:    []Supervisor{sup("a", 2), dead("b", 2)},
			others:  map[string]layout{"other": {"b:6700": {1}, "b:6701": {2}}},
			execs:   2,
			workers: 2,
			want:    layout{"a:6700": {1}, "a:6701": {2}},
		},
		{
			name:    "worker running an executor that no longer exists is redone",
			sups:    []Supervisor{sup("a", 4), sup("b", 4)},
			current: layout{"a:6700": {1, 3, 5, 7, 9}, "b:6700": {2, 4, 6, 8, 10, 11}},
			execs:   10,
			workers: 2,
			want:    layout{"a:6700": {1, 3, 5, 7, 9}, "b:6700": {2, 4, 6, 8, 10}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, req := tc.input(t)
			got, err := Schedule(c, req)
			tc.check(t, "Schedule", got, err)
		})
	}
}

func TestRebalance(t *testing.T) {
	tests := []scheduleCase{
		{
			name:    "nothing changed",
			sups:    []Supervisor{sup("a", 4), sup("b", 4)},
			current: roundRobin3,
			execs:   10,
			workers: 3,
			want:    roundRobin3,
		},
		{
			name:    "more workers",
			sups:    []Supervisor{sup("a", 4), sup("b", 4)},
			current: roundRobin3,
			execs:   10,
			workers: 4,
			want: layout{
				"a:6700": {1, 5, 9},
				"b:6700": {2, 6, 10},
				"a:6701": {3, 7},
				"b:6701": {4, 8},
			},
		},
		{
			name:    "fewer workers",
			sups:    []Supervisor{sup("a", 4), sup("b", 4)},
			current: roundRobin3,
			execs:   10,
			workers: 2,
			want: layout{
				"a:6700": {1, 3, 5, 7, 9},
				"b:6700": {2, 4, 6, 8, 10},
			},
		},
		{
			name:    "more executors",
			sups:    []Supervisor{sup("a", 4), sup("b", 4)},
			current: roundRobin3,
			execs:   12,
			workers: 3,
			want: layout{
				"a:6700": {1, 4, 7, 10},
				"b:6700": {2, 5, 8, 11},
				"a:6701": {3, 6, 9, 12},
			},
		},
		{
			name:    "fewer executors",
			sups:    []Supervisor{sup("a", 4), sup("b", 4)},
			current: roundRobin3,
			execs:   6,
			workers: 3,
			want: layout{
				"a:6700": {1, 4},
				"b:6700": {2, 5},
				"a:6701": {3, 6},
			},
		},
		{
			name: "spreads onto a new supervisor",
			sups: []Supervisor{sup("a", 4), sup("b", 4)},
			current: layout{
				"a:6700": {1, 5}, "a:6701": {2, 6}, "a:6702": {3, 7}, "a:6703": {4, 8},
			},
			execs:   8,
			workers: 4,
			want: layout{
				"a:6700": {1, 5}, "a:6701": {2, 6}, "b:6700": {3, 7}, "b:6701": {4, 8},
			},
		},
		{
			name:    "moves off a dead supervisor",
			sups:    []Supervisor{sup("a", 4), dead("b", 4), sup("c", 4)},
			current: roundRobin3,
			execs:   10,
			workers: 3,
			want: layout{
				"a:6700": {1, 4, 7, 10},
				"a:6701": {2, 5, 8},
				"c:6700": {3, 6, 9},
			},
		},
		{
			name:    "short of slots",
			sups:    []Supervisor{sup("a", 4)},
			others:  map[string]layout{"other": {"a:6702": {1}, "a:6703": {2}}},
			current: layout{"a:6700": {1, 3}, "a:6701": {2, 4}},
			execs:   4,
			workers: 4,
			want:    layout{"a:6700": {1, 3}, "a:6701": {2, 4}},
			short:   true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, req := tc.input(t)
			got, err := Rebalance(c, req)
			tc.check(t, "Rebalance", got, err)
		})
	}
}

func TestScheduleErrors(t *testing.T) {
	overlap := []topology.Executor{{Component: "c", Start: 1, End: 3}, {Component: "d", Start: 3, End: 4}}
	tests := []struct {
		name string
		sups []Supervisor
		held layout
		req  Request
		want error
	}{
		{"no supervisors", nil, nil, Request{TopologyID: "t", Executors: execs(2), NumWorkers: 1}, ErrNoSlots},
		{"all dead", []Supervisor{dead("a", 4)}, nil, Request{TopologyID: "t", Executors: execs(2), NumWorkers: 1}, ErrNoSlots},
		{"no ports", []Supervisor{sup("a", 0)}, nil, Request{TopologyID: "t", Executors: execs(2), NumWorkers: 1}, ErrNoSlots},
		{"all held", []Supervisor{sup("a", 2)}, layout{"a:6700": {1}, "a:6701": {2}}, Request{TopologyID: "t", Executors: execs(2), NumWorkers: 1}, ErrNoSlots},
		{"no id", []Supervisor{sup("a", 2)}, nil, Request{Executors: execs(2), NumWorkers: 1}, ErrInvalidRequest},
		{"no workers", []Supervisor{sup("a", 2)}, nil, Request{TopologyID: "t", Executors: execs(2)}, ErrInvalidRequest},
		{"no executors", []Supervisor{sup("a", 2)}, nil, Request{TopologyID: "t", NumWorkers: 1}, ErrInvalidRequest},
		{"empty executor", []Supervisor{sup("a", 2)}, nil, Request{TopologyID: "t", Executors: []topology.Executor{{Component: "c", Start: 2, End: 1}}, NumWorkers: 1}, ErrInvalidRequest},
		{"repeated executor", []Supervisor{sup("a", 2)}, nil, Request{TopologyID: "t", Executors: append(execs(2), execs(1)...), NumWorkers: 1}, ErrInvalidRequest},
		{"overlapping executors", []Supervisor{sup("a", 2)}, nil, Request{TopologyID: "t", Executors: overlap, NumWorkers: 1}, ErrInvalidRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Cluster{Supervisors: tc.sups, Assignments: map[string]Assignment{"other": assign(t, tc.held)}}
			for name, fn := range map[string]func(Cluster, Request) (Result, error){"Schedule": Schedule, "Rebalance": Rebalance} {
				if _, err := fn(c, tc.req); !errors.Is(err, tc.want) {
					t.Errorf("%s() error = %v, want %v", name, err, tc.want)
				}
			}
		})
	}
}

// TestScheduleEven checks, over a grid of cluster sizes, that every
// executor is placed, worker sizes differ by at most one, a topology's
// workers spread over the nodes as evenly as the ports allow, and that
// scheduling the result again changes nothing.
func TestScheduleEven(t *testing.T) {
	for nodes := 1; nodes <= 4; nodes++ {
		for ports := 1; ports <= 4; ports++ {
			for workers := 1; workers <= 10; workers++ {
				for n := 1; n <= 13; n++ {
					var sups []Supervisor
					for i := range nodes {
						sups = append(sups, sup(string(rune('a'+i)), ports))
					}
					c := Cluster{Supervisors: sups}
					req := Request{TopologyID: "t", Executors: execs(n), NumWorkers: workers}
					got, err := Schedule(c, req)
					if err != nil {
						t.Fatalf("Schedule(%d nodes × %d ports, %d workers, %d executors) error = %v", nodes, ports, workers, n, err)
					}
					wantWorkers := min(workers, n, nodes*ports)
					ws := Workers(got.Assignment)
					if len(got.Assignment) != n || len(ws) != wantWorkers || got.Workers != wantWorkers {
						t.Errorf("Schedule(%d nodes × %d ports, %d workers, %d executors) = %d executors on %d workers, want %d on %d",
							nodes, ports, workers, n, len(got.Assignment), len(ws), n, wantWorkers)
					}
					if got.Short != (wantWorkers < min(workers, n)) {
						t.Errorf("Schedule(%d nodes × %d ports, %d workers, %d executors) Short = %v", nodes, ports, workers, n, got.Short)
					}
					sizes := map[int]bool{}
					perNode := map[string]int{}
					for _, w := range ws {
						sizes[len(w.Executors)] = true
						perNode[w.Slot.Node]++
					}
					if len(sizes) > 2 || len(sizes) == 2 && !sizes[n/wantWorkers+1] {
						t.Errorf("Schedule(%d nodes × %d ports, %d workers, %d executors) worker sizes %v", nodes, ports, workers, n, sizes)
					}
					lo, hi := wantWorkers, 0
					for _, s := range sups {
						lo, hi = min(lo, perNode[s.ID]), max(hi, perNode[s.ID])
					}
					if hi-lo > 1 {
						t.Errorf("Schedule(%d nodes × %d ports, %d workers, %d executors) workers per node %v", nodes, ports, workers, n, perNode)
					}
					c.Assignments = map[string]Assignment{"t": got.Assignment}
					for name, fn := range map[string]func(Cluster, Request) (Result, error){"Schedule": Schedule, "Rebalance": Rebalance} {
						again, err := fn(c, req)
						if err != nil || !reflect.DeepEqual(again.Assignment, got.Assignment) {
							t.Errorf("%s(its own result, %d nodes × %d ports, %d workers, %d executors) changed it: %v, %v",
								name, nodes, ports, workers, n, layoutOf(again.Assignment), err)
						}
					}
				}
			}
		}
	}
}

// TestScheduleExecutorRanges schedules executors of several tasks, as
// TaskMap.Executors makes them, acker included.
func TestScheduleExecutorRanges(t *testing.T) {
	m := topology.NewTaskMap(map[string]int{topology.AckerComponent: 2, "count": 8, "split": 3, "spout": 1})
	executors := m.Executors(map[string]int{"count": 3, "split": 3, "spout": 1})
	c := Cluster{Supervisors: []Supervisor{sup("a", 4), sup("b", 4)}}
	got, err := Schedule(c, Request{TopologyID: "t", Executors: executors, NumWorkers: 2})
	if err != nil {
		t.Fatal(err)
	}
	want := []Worker{
		{Slot{"a", 6700}, []topology.Executor{ex("__acker", 1, 1), ex("count", 3, 5), ex("count", 9, 10), ex("split", 12, 12), ex("spout", 14, 14)}},
		{Slot{"b", 6700}, []topology.Executor{ex("__acker", 2, 2), ex("count", 6, 8), ex("split", 11, 11), ex("split", 13, 13)}},
	}
	if ws := Workers(got.Assignment); !reflect.DeepEqual(ws, want) {
		t.Errorf("Schedule() workers = %v, want %v", ws, want)
	}
}

// TestScheduleDeterministic shuffles every slice of the input and rebuilds
// every map, and expects the same result each time.
func TestScheduleDeterministic(t *testing.T) {
	base := scheduleCase{
		sups: []Supervisor{sup("a", 4), dead("b", 4), sup("c", 3), sup("d", 4), sup("e", 2)},
		others: map[string]layout{
			"x": {"a:6700": {1, 2}, "c:6701": {3}},
			"y": {"d:6700": {1}, "d:6703": {2}, "b:6701": {3}},
		},
		current: layout{"a:6701": {1, 6, 11}, "b:6700": {2, 7, 12}, "c:6700": {3, 8}, "d:6701": {4, 9}, "e:6700": {5, 10}},
		execs:   12,
		workers: 6,
		bad:     []string{"e:6700", "c:6702"},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var first Result
	for i := range 50 {
		c, req := base.input(t)
		for j := range c.Supervisors {
			c.Supervisors[j].Ports = slices.Clone(c.Supervisors[j].Ports)
			rng.Shuffle(len(c.Supervisors[j].Ports), func(a, b int) {
				c.Supervisors[j].Ports[a], c.Supervisors[j].Ports[b] = c.Supervisors[j].Ports[b], c.Supervisors[j].Ports[a]
			})
		}
		c.Supervisors = slices.Clone(c.Supervisors)
		rng.Shuffle(len(c.Supervisors), func(a, b int) { c.Supervisors[a], c.Supervisors[b] = c.Supervisors[b], c.Supervisors[a] })
		rng.Shuffle(len(req.Executors), func(a, b int) { req.Executors[a], req.Executors[b] = req.Executors[b], req.Executors[a] })
		rng.Shuffle(len(req.BadSlots), func(a, b int) { req.BadSlots[a], req.BadSlots[b] = req.BadSlots[b], req.BadSlots[a] })
		got, err := Schedule(c, req)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = got
			continue
		}
		if !reflect.DeepEqual(got, first) {
			t.Fatalf("Schedule() run %d = %v, first run gave %v", i, layoutOf(got.Assignment), layoutOf(first.Assignment))
		}
	}
	if got := len(Workers(first.Assignment)); got != 6 {
		t.Errorf("Schedule() used %d workers, want 6", got)
	}
}

func TestScheduleDoesNotModifyInput(t *testing.T) {
	tc := scheduleCase{sups: []Supervisor{sup("b", 2), sup("a", 2)}, current: layout{"a:6700": {1, 2}, "b:6700": {3}}, execs: 4, workers: 2}
	c, req := tc.input(t)
	before := layoutOf(c.Assignments["topo"])
	supsBefore := slices.Clone(c.Supervisors)
	execsBefore := slices.Clone(req.Executors)
	if _, err := Schedule(c, req); err != nil {
		t.Fatal(err)
	}
	if got := layoutOf(c.Assignments["topo"]); !reflect.DeepEqual(got, before) {
		t.Errorf("Schedule() changed the current assignment to %v", got)
	}
	if !reflect.DeepEqual(c.Supervisors, supsBefore) || !reflect.DeepEqual(req.Executors, execsBefore) {
		t.Errorf("Schedule() reordered its input")
	}
}

func TestWorkers(t *testing.T) {
	a := Assignment{
		ex("count", 6, 8):   {"b", 6701},
		ex("spout", 14, 14): {"a", 6700},
		ex("__acker", 1, 1): {"a", 6700},
		ex("count", 3, 5):   {"b", 6700},
		ex("split", 11, 11): {"b", 6701},
	}
	tests := []struct {
		name string
		got  []Worker
		want []Worker
	}{
		{"Workers", Workers(a), []Worker{
			{Slot{"a", 6700}, []topology.Executor{ex("__acker", 1, 1), ex("spout", 14, 14)}},
			{Slot{"b", 6700}, []topology.Executor{ex("count", 3, 5)}},
			{Slot{"b", 6701}, []topology.Executor{ex("count", 6, 8), ex("split", 11, 11)}},
		}},
		{"NodeWorkers(b)", NodeWorkers(a, "b"), []Worker{
			{Slot{"b", 6700}, []topology.Executor{ex("count", 3, 5)}},
			{Slot{"b", 6701}, []topology.Executor{ex("count", 6, 8), ex("split", 11, 11)}},
		}},
		{"NodeWorkers(c)", NodeWorkers(a, "c"), []Worker{}},
		{"Workers(nil)", Workers(nil), []Worker{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !reflect.DeepEqual(tc.got, tc.want) {
				t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
			}
		})
	}
}

// TestScheduleMovesFewest builds random current assignments on random
// clusters (dead supervisors, ports no longer offered, bad slots, other
// topologies) and checks that Schedule keeps as many executors where they
// run as any even split over the same number of workers could: the best
// choice of kept workers and shares, found by brute force.
func TestScheduleMovesFewest(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for i := range 500 {
		var sups []Supervisor
		for n := range 1 + rng.IntN(3) {
			s := sup(string(rune('a'+n)), 1+rng.IntN(4))
			s.Alive = rng.IntN(4) > 0
			sups = append(sups, s)
		}
		numExec := 1 + rng.IntN(12)
		// The current assignment: executors dealt at random over a few
		// slots, some of which the cluster no longer offers (port 6703).
		current := make(Assignment)
		var slots []Slot
		for range 1 + rng.IntN(4) {
			slots = append(slots, Slot{string(rune('a' + rng.IntN(3))), 6700 + rng.IntN(4)})
		}
		for _, e := range execs(numExec) {
			current[e] = slots[rng.IntN(len(slots))]
		}
		var bad []Slot
		for _, s := range slots {
			if rng.IntN(5) == 0 {
				bad = append(bad, s)
			}
		}
		c := Cluster{Supervisors: sups, Assignments: map[string]Assignment{"t": current}}
		if rng.IntN(3) == 0 {
			c.Assignments["other"] = Assignment{ex("o", 1, 1): slots[0]}
		}
		req := Request{TopologyID: "t", Executors: execs(numExec), NumWorkers: 1 + rng.IntN(5), BadSlots: bad}
		got, err := Schedule(c, req)
		if errors.Is(err, ErrNoSlots) {
			continue
		}
		if err != nil {
			t.Fatalf("case %d: Schedule() error = %v", i, err)
		}
		// Executors dealt back onto a bad slot reused for lack of another
		// stay there by chance, not by choice: they are not counted.
		stayed := 0
		for e, s := range got.Assignment {
			if current[e] == s && !slices.Contains(bad, s) {
				stayed++
			}
		}
		if best := bestStay(c, req, got.Workers); stayed != best {
			t.Errorf("case %d: Schedule(%v on %+v, bad %v, %d workers) = %v: %d executors stay, %d could",
				i, layoutOf(current), sups, bad, req.NumWorkers, layoutOf(got.Assignment), stayed, best)
		}
	}
}

// bestStay returns the most executors that can stay on their slot when
// numExec executors are split evenly over `workers` workers, by trying
// every choice of share (none, size, size+1) for each current worker that
// may stay.
func bestStay(c Cluster, req Request, workers int) int {
	offered := map[Slot]bool{}
	for _, s := range c.Supervisors {
		for _, p := range s.Ports {
			offered[Slot{s.ID, p}] = true
		}
	}
	for id, a := range c.Assignments {
		if id != req.TopologyID {
			for _, s := range a {
				delete(offered, s)
			}
		}
	}
	for _, s := range req.BadSlots {
		delete(offered, s)
	}
	var counts []int
	for _, w := range Workers(c.Assignments[req.TopologyID]) {
		if offered[w.Slot] {
			counts = append(counts, len(w.Executors))
		}
	}
	numExec := len(req.Executors)
	size, large := numExec/workers, numExec%workers
	small := workers - large
	var best func(i, large, small int) int
	best = func(i, large, small int) int {
		if i == len(counts) {
			return 0
		}
		b := best(i+1, large, small) // not kept
		if small > 0 {
			b = max(b, min(counts[i], size)+best(i+1, large, small-1))
		}
		if large > 0 {
			b = max(b, min(counts[i], size+1)+best(i+1, large-1, small))
		}
		return b
	}
	return best(0, large, small)
}
