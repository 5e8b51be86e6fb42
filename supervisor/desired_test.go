package supervisor

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/internal/backoff"
	"github.com/squallstream/squall/internal/layout"
)

func TestDesiredWorkers(t *testing.T) {
	e := func(s, n int) cluster.ExecutorID { return cluster.ExecutorID{Start: s, End: n} }
	at := func(node string, port int) cluster.Slot { return cluster.Slot{NodeID: node, Port: port} }
	tests := []struct {
		name         string
		assignments  []cluster.Assignment
		want         map[int]desiredWorker
		wantProblems int
	}{
		{name: "none", want: map[int]desiredWorker{}},
		{
			name: "slots of this node only, executors sorted",
			assignments: []cluster.Assignment{{TopologyID: "a", Version: 4, Executors: map[cluster.ExecutorID]cluster.Slot{
				e(3, 4): at("n1", 6700), e(1, 2): at("n1", 6700), e(5, 5): at("n1", 6701), e(6, 6): at("n2", 6700),
			}}},
			want: map[int]desiredWorker{
				6700: {StormID: "a", Port: 6700, Executors: []cluster.ExecutorID{e(1, 2), e(3, 4)}, AssignmentVersion: 4},
				6701: {StormID: "a", Port: 6701, Executors: []cluster.ExecutorID{e(5, 5)}, AssignmentVersion: 4},
			},
		},
		{
			name: "port not offered",
			assignments: []cluster.Assignment{{TopologyID: "a", Version: 1, Executors: map[cluster.ExecutorID]cluster.Slot{
				e(1, 1): at("n1", 9999),
			}}},
			want:         map[int]desiredWorker{},
			wantProblems: 1,
		},
		{
			name: "port assigned twice: the first topology id wins",
			assignments: []cluster.Assignment{
				{TopologyID: "b", Version: 1, Executors: map[cluster.ExecutorID]cluster.Slot{e(1, 1): at("n1", 6700)}},
				{TopologyID: "a", Version: 2, Executors: map[cluster.ExecutorID]cluster.Slot{e(1, 1): at("n1", 6700)}},
			},
			want: map[int]desiredWorker{
				6700: {StormID: "a", Port: 6700, Executors: []cluster.ExecutorID{e(1, 1)}, AssignmentVersion: 2},
			},
			wantProblems: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, problems := desiredWorkers("n1", []int{6700, 6701}, tt.assignments)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("desiredWorkers() = %v, want %v", got, tt.want)
			}
			if len(problems) != tt.wantProblems {
				t.Errorf("problems = %q, want %d", problems, tt.wantProblems)
			}
		})
	}
}

func TestDesiredRuns(t *testing.T) {
	d := desiredWorker{StormID: "a", Port: 6700, AssignmentVersion: 7,
		Executors: []cluster.ExecutorID{{Start: 1, End: 2}, {Start: 3, End: 3}}}
	meta := layout.WorkerMeta{StormID: "a", Port: 6700, AssignmentVersion: 3,
		Executors: []layout.Executor{{Start: 3, End: 3}, {Component: "x", Start: 1, End: 2}}}
	tests := []struct {
		name   string
		change func(*layout.WorkerMeta)
		want   bool
	}{
		{"same executors, any order and version", func(*layout.WorkerMeta) {}, true},
		{"other topology", func(m *layout.WorkerMeta) { m.StormID = "b" }, false},
		{"other port", func(m *layout.WorkerMeta) { m.Port = 6701 }, false},
		{"fewer executors", func(m *layout.WorkerMeta) { m.Executors = m.Executors[:1] }, false},
		{"other range", func(m *layout.WorkerMeta) { m.Executors = []layout.Executor{{Start: 3, End: 3}, {Start: 1, End: 1}} }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := meta
			m.Executors = slices.Clone(meta.Executors)
			tt.change(&m)
			if got := d.runs(m); got != tt.want {
				t.Errorf("runs(%+v) = %v, want %v", m, got, tt.want)
			}
		})
	}
}

func TestJudge(t *testing.T) {
	launched := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	beat := func(d time.Duration) *layout.Heartbeat { return &layout.Heartbeat{Time: launched.Add(d)} }
	tests := []struct {
		name string
		hb   *layout.Heartbeat
		at   time.Duration // after launch
		want verdict
	}{
		{"no heartbeat yet", nil, 100 * time.Second, starting},
		{"no heartbeat at the start timeout", nil, 120 * time.Second, starting},
		{"no heartbeat after the start timeout", nil, 121 * time.Second, neverStarted},
		{"fresh heartbeat", beat(200 * time.Second), 229 * time.Second, healthy},
		{"heartbeat at the timeout", beat(200 * time.Second), 230 * time.Second, healthy},
		{"old heartbeat", beat(200 * time.Second), 231 * time.Second, timedOut},
		{"old heartbeat during the start timeout", beat(time.Second), 60 * time.Second, timedOut},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := judge(launched, tt.hb, launched.Add(tt.at), 120*time.Second, 30*time.Second); got != tt.want {
				t.Errorf("judge(at %v) = %v, want %v", tt.at, got, tt.want)
			}
		})
	}
}

// A worker whose heartbeat would change only in its Time sets the file's
// modification time instead of rewriting it: the later of the two is the
// beat's time.
func TestReadHeartbeatTime(t *testing.T) {
	written := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		modTime time.Time
		want    time.Time
	}{
		{"touched since written", written.Add(45 * time.Second), written.Add(45 * time.Second)},
		{"as written", written, written},
		{"modification time older than the content", written.Add(-time.Hour), written},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := layout.HeartbeatFile(dir)
			if err := layout.WriteJSON(path, layout.Heartbeat{StormID: "t-1-1", Port: 6700, Time: written, Ready: true}); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(path, tt.modTime, tt.modTime); err != nil {
				t.Fatal(err)
			}
			hb, err := readHeartbeat(dir)
			if err != nil || hb == nil || !hb.Time.Equal(tt.want) || !hb.Ready || hb.Port != 6700 {
				t.Fatalf("readHeartbeat = %+v, %v; want a ready heartbeat of port 6700 at %v", hb, err, tt.want)
			}
		})
	}
}

func TestRestartTracker(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := newRestartTracker(backoff.Policy{Min: time.Second, Max: 10 * time.Second, Jitter: -1})
	var delays []time.Duration
	for range 6 {
		delays = append(delays, r.failed(now, time.Second))
	}
	want := []time.Duration{1, 2, 4, 8, 10, 10}
	for i := range want {
		want[i] *= time.Second
	}
	if !slices.Equal(delays, want) {
		t.Errorf("delays = %v, want %v", delays, want)
	}
	if r.due(now.Add(9*time.Second)) || !r.due(now.Add(10*time.Second)) {
		t.Errorf("due: not before %v", r.notBefore)
	}
	// A worker that ran long enough starts the count again.
	if d := r.failed(now, 10*time.Second); d != time.Second || r.failures() != 1 {
		t.Errorf("after a long run: delay %v, failures %d; want 1s, 1", d, r.failures())
	}
}

func TestValidStormID(t *testing.T) {
	for id, want := range map[string]bool{
		"wc-1-1700000000": true, "": false, ".": false, "..": false, ".download-x": false,
		"a/b": false, `a\b`: false, "a\x00": false, "../x": false,
	} {
		if got := validStormID(id); got != want {
			t.Errorf("validStormID(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	good := DefaultConfig()
	good.Host, good.LocalDir, good.WorkerBinary = "h", "/tmp/x", "/bin/squall"
	if err := good.Validate(); err != nil {
		t.Fatalf("Validate() = %v for a good config", err)
	}
	tests := []struct {
		name   string
		change func(*Config)
	}{
		{"no host", func(c *Config) { c.Host = "" }},
		{"no ports", func(c *Config) { c.Ports = nil }},
		{"bad port", func(c *Config) { c.Ports = []int{0} }},
		{"port twice", func(c *Config) { c.Ports = []int{6700, 6700} }},
		{"no local dir", func(c *Config) { c.LocalDir = "" }},
		{"no binary", func(c *Config) { c.WorkerBinary = "" }},
		{"zero timeout", func(c *Config) { c.WorkerTimeout = 0 }},
		{"negative grace", func(c *Config) { c.StopGrace = -time.Second }},
		{"backoff above its max", func(c *Config) { c.RestartBackoff = time.Hour }},
		{"no package size", func(c *Config) { c.MaxPackageBytes = 0 }},
		{"negative GOMAXPROCS", func(c *Config) { c.WorkerMaxProcs = -1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.change(&c)
			if err := c.Validate(); !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("Validate() = %v, want ErrInvalidConfig", err)
			}
		})
	}
}

func TestWorkerMaxProcs(t *testing.T) {
	tests := []struct {
		cpus, slots, want int
	}{
		{2, 2, 1},
		{2, 4, 1}, // at least one
		{1, 4, 1},
		{4, 1, 4},
		{8, 4, 2},
		{8, 3, 3}, // 2.67
		{6, 4, 2}, // 1.5 rounds up
		{4, 3, 1}, // 1.33
		{16, 0, 16},
	}
	for _, tt := range tests {
		if got := WorkerMaxProcs(tt.cpus, tt.slots); got != tt.want {
			t.Errorf("WorkerMaxProcs(%d, %d) = %d, want %d", tt.cpus, tt.slots, got, tt.want)
		}
	}
}

func TestNodeIDStable(t *testing.T) {
	path := layout.NodeIDFile(t.TempDir())
	first, err := loadNodeID(path)
	if err != nil || first == "" {
		t.Fatalf("loadNodeID() = %q, %v", first, err)
	}
	again, err := loadNodeID(path)
	if err != nil || again != first {
		t.Errorf("loadNodeID() again = %q, %v; want %q", again, err, first)
	}
	if other, _ := loadNodeID(layout.NodeIDFile(t.TempDir())); other == first {
		t.Errorf("two local dirs got the same node id %q", first)
	}
}
