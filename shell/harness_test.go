package shell

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/testenv"
	"github.com/squallstream/squall/topology"
)

// testTopology is source (Go spout) -> split (the shell bolt under test)
// -> count (FIELDS) and direct-sink (DIRECT); counter is a shell spout.
func testTopology() *topology.Topology {
	return &topology.Topology{
		Name:   "shelltest",
		Config: topology.Config{},
		Components: []*topology.Component{
			{ID: "count", Kind: topology.KindBolt, Parallelism: 2, NumTasks: 2,
				Inputs: []topology.Input{{From: "split", Stream: "default", Grouping: topology.Grouping{Type: topology.FieldsGrouping, Fields: []string{"word"}}}}},
			{ID: "counter", Kind: topology.KindSpout, Parallelism: 1, NumTasks: 1,
				Outputs: []topology.Stream{{ID: "default", Fields: []string{"n"}}}},
			{ID: "direct-sink", Kind: topology.KindBolt, Parallelism: 1, NumTasks: 1,
				Inputs: []topology.Input{{From: "split", Stream: "direct", Grouping: topology.Grouping{Type: topology.Direct}}}},
			{ID: "global-sink", Kind: topology.KindBolt, Parallelism: 1, NumTasks: 1,
				Inputs: []topology.Input{{From: "split", Stream: "other", Grouping: topology.Grouping{Type: topology.Global}}}},
			{ID: "source", Kind: topology.KindSpout, Parallelism: 1, NumTasks: 1,
				Outputs: []topology.Stream{{ID: "default", Fields: []string{"sentence"}}}},
			{ID: "split", Kind: topology.KindBolt, Parallelism: 1, NumTasks: 1,
				Inputs: []topology.Input{{From: "source", Stream: "default", Grouping: topology.Grouping{Type: topology.Shuffle}}},
				Outputs: []topology.Stream{
					{ID: "default", Fields: []string{"word"}},
					{ID: "direct", Fields: []string{"v"}, Direct: true},
					{ID: "other", Fields: []string{"v"}},
				}},
		},
	}
}

// Task ids of testTopology with one acker: __acker 1, count 2-3,
// counter 4, direct-sink 5, global-sink 6, source 7, split 8.
const (
	sourceTask  = 7
	splitTask   = 8
	counterTask = 4
)

var sourceSrc = &topology.Source{Component: "source", Task: sourceTask, Stream: "default", Fields: topology.NewFields("sentence")}

func sentence(s string) topology.Tuple { return topology.NewTuple(sourceSrc, []any{s}, nil) }

// taskContext returns the context of a task of testTopology whose child
// runs in the given test child mode.
func taskContext(t *testing.T, component string, task int, conf topology.Config, logs *logRecorder) *topology.TaskContext {
	t.Helper()
	topo := testTopology()
	topo.Config = topology.Defaults().Merge(conf)
	return &topology.TaskContext{
		Topology:     topo,
		Tasks:        topology.TopologyTasks(topo, 1),
		TaskID:       task,
		ComponentID:  component,
		Config:       topo.Config.Merge(topology.Config{topology.KeyTopologyName: "shelltest", topology.KeyStormID: "shelltest-1-1"}),
		ResourcesDir: t.TempDir(),
		PidDir:       t.TempDir(),
		Logger:       slog.New(logs).With("component", component, "task", task),
	}
}

func childSpec(mode string, env ...string) *topology.ShellSpec {
	e := map[string]string{childModeEnv: mode}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		e[k] = v
	}
	return &topology.ShellSpec{Command: []string{os.Args[0]}, Env: e}
}

// fastOptions make failures and restarts quick in tests.
var fastOptions = Options{
	StopGrace:         500 * time.Millisecond,
	HeartbeatInterval: 50 * time.Millisecond,
	MinBackoff:        10 * time.Millisecond,
	MaxBackoff:        100 * time.Millisecond,
}

type emitRecord struct {
	stream  string
	anchors []topology.Tuple
	values  []any
	task    int // direct emits only
	msgID   any
}

// recorder is a fake collector recording what a shell task does.
type recorder struct {
	mu sync.Mutex
	// guarded by mu:
	emits          []emitRecord
	acked, failed  []topology.Tuple
	errs           []error
	taskIDs        []int
	gate           chan struct{} // when set, emits wait until it is closed
	emitsWhileGate int
	metrics        map[string]any
}

func (r *recorder) RecordMetric(name string, v any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.metrics == nil {
		r.metrics = map[string]any{}
	}
	r.metrics[name] = v
}

func (r *recorder) record(e emitRecord) []int {
	r.mu.Lock()
	gate := r.gate
	if gate != nil {
		r.emitsWhileGate++
	}
	r.mu.Unlock()
	if gate != nil {
		<-gate
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.emits = append(r.emits, e)
	return r.taskIDs
}

func (r *recorder) Emit(stream string, anchors []topology.Tuple, values []any) []int {
	return r.record(emitRecord{stream: stream, anchors: slices.Clone(anchors), values: values})
}
func (r *recorder) EmitDirect(task int, stream string, anchors []topology.Tuple, values []any) {
	r.record(emitRecord{stream: stream, anchors: slices.Clone(anchors), values: values, task: task})
}
func (r *recorder) Ack(t topology.Tuple)          { r.mu.Lock(); r.acked = append(r.acked, t); r.mu.Unlock() }
func (r *recorder) Fail(t topology.Tuple)         { r.mu.Lock(); r.failed = append(r.failed, t); r.mu.Unlock() }
func (r *recorder) ResetTimeout(t topology.Tuple) {}
func (r *recorder) ReportError(err error)         { r.mu.Lock(); r.errs = append(r.errs, err); r.mu.Unlock() }

// spoutRecorder adapts recorder to SpoutCollector.
type spoutRecorder struct{ *recorder }

func (r spoutRecorder) Emit(stream string, values []any, msgID any) []int {
	return r.record(emitRecord{stream: stream, values: values, msgID: msgID})
}
func (r spoutRecorder) EmitDirect(task int, stream string, values []any, msgID any) {
	r.record(emitRecord{stream: stream, values: values, msgID: msgID, task: task})
}

func (r *recorder) snapshot() (emits []emitRecord, acked, failed []topology.Tuple, errs []error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.emits), slices.Clone(r.acked), slices.Clone(r.failed), slices.Clone(r.errs)
}

// words returns the first value of every emit.
func words(emits []emitRecord) []string {
	var out []string
	for _, e := range emits {
		out = append(out, fmt.Sprint(e.values...))
	}
	return out
}

func values(ts []topology.Tuple) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.String(0))
	}
	return out
}

// logRecorder is a slog.Handler keeping every record's message and
// attributes as text.
type logRecorder struct {
	mu sync.Mutex
	// lines is guarded by mu.
	lines  []string
	attrs  []slog.Attr
	parent *logRecorder
}

func (l *logRecorder) root() *logRecorder {
	if l.parent != nil {
		return l.parent.root()
	}
	return l
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.Level, r.Message)
	for _, a := range l.attrs {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
	}
	r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s=%v", a.Key, a.Value); return true })
	root := l.root()
	root.mu.Lock()
	root.lines = append(root.lines, b.String())
	root.mu.Unlock()
	return nil
}
func (l *logRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &logRecorder{attrs: append(slices.Clone(l.attrs), as...), parent: l}
}
func (l *logRecorder) WithGroup(string) slog.Handler { return l }

// matching returns the log lines containing every one of subs.
func (l *logRecorder) matching(subs ...string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
next:
	for _, line := range l.lines {
		for _, s := range subs {
			if !strings.Contains(line, s) {
				continue next
			}
		}
		out = append(out, line)
	}
	return out
}

// patience bounds every wait for a child in the tests: long, as a busy
// machine may take seconds to start a process; longer where CI is set.
var patience = testenv.Patience(time.Minute)

// waitUntil polls cond until it holds or the deadline passes.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	testenv.WaitUntil(t, timeout, what, cond)
}

// checkLeaks registers a cleanup, to run after every later one, that fails
// the test if goroutines started during it are still running.
func checkLeaks(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(patience)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				t.Fatalf("%d goroutines leaked:\n%s", runtime.NumGoroutine()-before, buf[:runtime.Stack(buf, true)])
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

type boltFixture struct {
	bolt *Bolt
	rec  *recorder
	logs *logRecorder
	ctx  *topology.TaskContext
}

// startBolt prepares a shell bolt running the test child in mode and
// stops it when the test ends.
func startBolt(t *testing.T, mode string, conf topology.Config, opts Options, env ...string) *boltFixture {
	t.Helper()
	logs := &logRecorder{}
	ctx := taskContext(t, "split", splitTask, conf, logs)
	f := &boltFixture{bolt: NewBolt(childSpec(mode, env...), opts), rec: &recorder{taskIDs: []int{2, 3}}, logs: logs, ctx: ctx}
	if err := f.bolt.Prepare(ctx, f.rec); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	t.Cleanup(f.bolt.Cleanup)
	return f
}

func (f *boltFixture) waitUp(t *testing.T) int {
	t.Helper()
	var pid int
	waitUntil(t, patience, "the child to start", func() bool { pid = f.bolt.Health().Pid; return pid != 0 })
	return pid
}

// discardLogger returns a logger that drops everything but errors, which
// go to logs.
func discardLogger(logs *logRecorder) *slog.Logger {
	return slog.New(levelFilter{slog.LevelError, logs})
}

type levelFilter struct {
	min slog.Level
	slog.Handler
}

func (f levelFilter) Enabled(_ context.Context, l slog.Level) bool { return l >= f.min }
