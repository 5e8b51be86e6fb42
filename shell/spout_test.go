package shell

import (
	"errors"
	"reflect"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/squallstream/squall/topology"
)

type spoutFixture struct {
	spout *Spout
	rec   *recorder
	logs  *logRecorder
}

func startSpout(t *testing.T, mode string, conf topology.Config, opts Options) *spoutFixture {
	t.Helper()
	logs := &logRecorder{}
	ctx := taskContext(t, "counter", counterTask, conf, logs)
	f := &spoutFixture{spout: NewSpout(childSpec(mode), opts), rec: &recorder{taskIDs: []int{2}}, logs: logs}
	if err := f.spout.Open(ctx, spoutRecorder{f.rec}); err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(f.spout.Close)
	waitUntil(t, patience, "the child to start", func() bool { return f.spout.Health().Pid != 0 })
	return f
}

func msgIDs(emits []emitRecord) []any {
	var ids []any
	for _, e := range emits {
		ids = append(ids, e.msgID)
	}
	return ids
}

func TestSpoutCycle(t *testing.T) {
	checkLeaks(t)
	f := startSpout(t, "counterspout", topology.Config{childCounterLimit: 3}, fastOptions)
	f.spout.Activate()
	if got := f.logs.matching("INFO activated", "source=child"); len(got) != 1 {
		t.Fatalf("activate: log lines %q", got)
	}
	for range 4 { // the fourth has nothing to emit
		f.spout.Next()
	}
	emits, _, _, _ := f.rec.snapshot()
	if got, want := msgIDs(emits), []any{int64(0), int64(1), int64(2)}; !reflect.DeepEqual(got, want) {
		t.Fatalf("emitted ids %v, want %v", got, want)
	}
	for i, e := range emits {
		if e.stream != "default" || !reflect.DeepEqual(e.values, []any{int64(i)}) {
			t.Errorf("emit %d = %+v", i, e)
		}
	}
	// Each call returned only after the child's sync: the replay is there
	// as soon as Fail returns and Next is called.
	f.spout.Ack(int64(0))
	f.spout.Fail(int64(1))
	f.spout.Next()
	emits, _, _, errs := f.rec.snapshot()
	if got := msgIDs(emits); !reflect.DeepEqual(got[3:], []any{int64(1)}) {
		t.Errorf("after Fail(1), Next emitted ids %v, want the replay of 1", got[3:])
	}
	f.spout.Deactivate()
	if got := f.logs.matching("INFO deactivated"); len(got) != 1 {
		t.Errorf("deactivate: log lines %q", got)
	}
	if len(errs) != 0 {
		t.Errorf("errors %v", errs)
	}
}

// TestSpoutRestart checks that a spout child killed from outside is
// replaced, activated again, and given the acks and fails that came while
// it was down.
func TestSpoutRestart(t *testing.T) {
	checkLeaks(t)
	f := startSpout(t, "counterspout", topology.Config{childCounterLimit: 1}, fastOptions)
	f.spout.Activate()
	f.spout.Next() // emits 0
	pid := f.spout.Health().Pid
	syscall.Kill(pid, syscall.SIGKILL)
	waitUntil(t, patience, "the failure report", func() bool { _, _, _, errs := f.rec.snapshot(); return len(errs) == 1 })
	f.spout.Fail(int64(0)) // may find no child yet: then it waits for the next
	waitUntil(t, patience, "a new child", func() bool { p := f.spout.Health().Pid; return p != 0 && p != pid })
	f.spout.Next() // the new child: activated, told of the failure, replays 0
	emits, _, _, errs := f.rec.snapshot()
	if got := msgIDs(emits); !reflect.DeepEqual(got, []any{int64(0), int64(0)}) {
		t.Errorf("emitted ids %v, want 0 then its replay", got)
	}
	var ce *ChildError
	if !errors.As(errs[0], &ce) || ce.Status.Signal != syscall.SIGKILL {
		t.Errorf("reported %v", errs[0])
	}
	if got := f.logs.matching("INFO activated"); len(got) != 2 {
		t.Errorf("activated %d times, want 2 (once per child)", len(got))
	}
}

func TestSpoutHungChildIsKilled(t *testing.T) {
	checkLeaks(t)
	f := startSpout(t, "hang", topology.Config{topology.KeySubprocessTimeoutSecs: 0.3}, fastOptions)
	done := make(chan struct{})
	go func() { f.spout.Next(); close(done) }()
	select {
	case <-done:
	case <-time.After(patience):
		t.Fatal("Next still blocked on a hung child")
	}
	waitUntil(t, patience, "the report", func() bool { _, _, _, errs := f.rec.snapshot(); return len(errs) == 1 })
	_, _, _, errs := f.rec.snapshot()
	if !errors.Is(errs[0], ErrTimeout) {
		t.Errorf("reported %v, want a timeout", errs[0])
	}
}

// TestSpoutIdleIsNotHung checks that the liveness clock only runs while
// the host waits on the child: an idle spout is not killed.
func TestSpoutIdleIsNotHung(t *testing.T) {
	// The child has 2 s to answer next, generous on a busy machine; it is
	// idle for longer than that first.
	f := startSpout(t, "counterspout", topology.Config{topology.KeySubprocessTimeoutSecs: 2}, fastOptions)
	time.Sleep(5 * time.Second)
	f.spout.Next()
	if h := f.spout.Health(); h.Failures != 0 {
		t.Errorf("health = %+v, want no failure of an idle spout", h)
	}
	emits, _, _, _ := f.rec.snapshot()
	if len(emits) != 1 {
		t.Errorf("emits = %d, want 1", len(emits))
	}
}

func TestSpoutProtocolErrors(t *testing.T) {
	// The bolt-only split child acks and emits anchored: sent next, it
	// fails on its first message, which is not a tuple.
	f := startSpout(t, "split", nil, fastOptions)
	f.spout.Next()
	waitUntil(t, patience, "the report", func() bool { _, _, _, errs := f.rec.snapshot(); return len(errs) == 1 })
	_, _, _, errs := f.rec.snapshot()
	var ce *ChildError
	if !errors.As(errs[0], &ce) || !slices.ContainsFunc(ce.Stderr, func(s string) bool { return s != "" }) {
		t.Errorf("reported %v, want the child's complaint on stderr", errs[0])
	}
}

// Health is read by other goroutines (squall local's progress, the
// worker's heartbeats) from the moment the task exists: before Open it
// reports no child, and while Open runs it races nothing.
func TestHealthBeforeAndDuringOpen(t *testing.T) {
	checkLeaks(t)
	spout, bolt := NewSpout(childSpec("counterspout"), fastOptions), NewBolt(childSpec("split"), fastOptions)
	if h := spout.Health(); h != (Health{}) {
		t.Errorf("spout Health before Open = %+v, want none", h)
	}
	if h := bolt.Health(); h != (Health{}) {
		t.Errorf("bolt Health before Open = %+v, want none", h)
	}
	read := make(chan struct{})
	go func() {
		defer close(read)
		for range 1000 {
			spout.Health()
			bolt.Health()
			bolt.Backlog() // as load-aware shuffle reads it from other executors
		}
	}()
	logs := &logRecorder{}
	if err := spout.Open(taskContext(t, "counter", counterTask, nil, logs), spoutRecorder{&recorder{}}); err != nil {
		t.Fatalf("spout Open: %v", err)
	}
	t.Cleanup(spout.Close)
	if err := bolt.Prepare(taskContext(t, "split", splitTask, nil, logs), &recorder{}); err != nil {
		t.Fatalf("bolt Prepare: %v", err)
	}
	t.Cleanup(bolt.Cleanup)
	<-read
}
