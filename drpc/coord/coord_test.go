package coord

import (
	"maps"
	"slices"
	"testing"
	"time"
)

var t0 = time.Unix(1_000_000, 0)

// step is one event of a scenario, with what it must decide.
type step struct {
	do string // "report N", "id", "ack", "fail", "emit", "finish", "abort", "expire"
	n  int64
	// tup names the tuple of the event.
	tup      string
	at       time.Duration
	tasks    []int
	ack      []string
	fail     []string
	ready    bool
	held     []string // finish: the tuples to ack
	counts   map[int]int64
	tracking *int // entries after the step; nil: unchecked
}

func n(i int) *int { return &i }

func TestTracker(t *testing.T) {
	cases := []struct {
		name  string
		spec  Spec
		steps []step
	}{
		{
			name: "first bolt: complete when its tuple is acked, which is held",
			spec: Spec{},
			steps: []step{
				{do: "emit", tasks: []int{7, 8, 7}, tracking: n(1)},
				{do: "ack", tup: "t1", ready: true, tracking: n(1)},
				{do: "finish", held: []string{"t1"}, counts: map[int]int64{7: 2, 8: 1}, tracking: n(0)},
			},
		},
		{
			name: "single report: waits for its count of acks",
			spec: Spec{Reports: 1},
			steps: []step{
				{do: "ack", tup: "a", ack: []string{"a"}, tracking: n(1)},
				{do: "report", n: 2, tup: "r1", tracking: n(1)},
				{do: "ack", tup: "b", ready: true, tracking: n(1)},
				{do: "finish", held: []string{"r1", "b"}, counts: nil, tracking: n(0)},
			},
		},
		{
			name: "all reports: waits for every source task",
			spec: Spec{Reports: 3},
			steps: []step{
				{do: "report", n: 0, tup: "r1"},
				{do: "report", n: 1, tup: "r2"},
				{do: "ack", tup: "a", ack: []string{"a"}},
				{do: "report", n: 0, tup: "r3", ready: true},
				{do: "finish", held: []string{"r1", "r2", "r3"}},
			},
		},
		{
			name: "last bolt that finishes: waits for the id as well",
			spec: Spec{Reports: 1, WaitID: true},
			steps: []step{
				{do: "report", n: 1, tup: "r1"},
				{do: "ack", tup: "a", ack: []string{"a"}},
				{do: "id", tup: "i", ready: true},
				{do: "finish", held: []string{"r1", "i"}},
			},
		},
		{
			name: "a failed tuple fails what the request held, and what comes later",
			spec: Spec{Reports: 2},
			steps: []step{
				{do: "report", n: 2, tup: "r1"},
				{do: "fail", tup: "a", fail: []string{"a", "r1"}, tracking: n(1)},
				{do: "report", n: 0, tup: "r2", fail: []string{"r2"}},
				{do: "ack", tup: "b", fail: []string{"b"}},
			},
		},
		{
			name: "a failed finish fails what it held",
			spec: Spec{Reports: 1},
			steps: []step{
				{do: "report", n: 0, tup: "r1", ready: true},
				{do: "abort", fail: []string{"r1"}},
			},
		},
		{
			name: "requests that never finish expire, failing what they held",
			spec: Spec{Reports: 2, Timeout: 10 * time.Second},
			steps: []step{
				{do: "report", n: 1, tup: "r1", at: 0},
				{do: "expire", at: 9 * time.Second, tracking: n(1)},
				{do: "expire", at: 11 * time.Second, fail: []string{"r1"}, tracking: n(0)},
			},
		},
		{
			name: "beyond MaxRequests a new request's tuples fail",
			spec: Spec{Reports: 1, MaxRequests: 1},
			steps: []step{
				{do: "report", n: 1, tup: "r1", tracking: n(1)},
				{do: "report2", n: 1, tup: "x", fail: []string{"x"}, tracking: n(1)},
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := New[string](c.spec)
			for i, s := range c.steps {
				now := t0.Add(s.at)
				var d Decision[string]
				var gotHeld []string
				var gotCounts map[int]int64
				switch s.do {
				case "report":
					d = tr.Received("req", Report, s.n, s.tup, now)
				case "report2":
					d = tr.Received("other", Report, s.n, s.tup, now)
				case "id":
					d = tr.Received("req", ID, 0, s.tup, now)
				case "ack":
					d = tr.Acked("req", s.tup, now)
				case "fail":
					d = tr.Failed("req", s.tup, now)
				case "emit":
					tr.Emitted("req", s.tasks, now)
				case "finish":
					f := tr.Finished("req")
					gotHeld, gotCounts = f.Held, f.Counts
				case "abort":
					d.Fail = tr.Abort("req")
				case "expire":
					d.Fail = tr.Expire(now)
				}
				if !slices.Equal(d.Ack, s.ack) || !slices.Equal(d.Fail, s.fail) || (d.Ready != nil) != s.ready {
					t.Errorf("step %d %s(%s) = ack %v fail %v ready %v, want ack %v fail %v ready %v",
						i, s.do, s.tup, d.Ack, d.Fail, d.Ready, s.ack, s.fail, s.ready)
				}
				if s.do == "finish" {
					if !slices.Equal(gotHeld, s.held) || !maps.Equal(gotCounts, s.counts) {
						t.Errorf("step %d finish = held %v counts %v, want %v %v", i, gotHeld, gotCounts, s.held, s.counts)
					}
				}
				if s.tracking != nil && tr.Len() != *s.tracking {
					t.Errorf("step %d: tracking %d requests, want %d", i, tr.Len(), *s.tracking)
				}
			}
		})
	}
}
