package shell

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/procgroup"
	"github.com/squallstream/squall/multilang"
	"github.com/squallstream/squall/topology"
)

// stopWithin runs stop and fails the test if it takes limit or more:
// limit is well below the timeout the stop must not wait for.
func stopWithin(t *testing.T, limit time.Duration, what string, stop func()) {
	t.Helper()
	start := time.Now()
	stop()
	if d := time.Since(start); d >= limit {
		t.Errorf("%s took %v; it must not wait for the timeouts of the phase it interrupts", what, d.Round(time.Millisecond))
	}
}

// TestStopInEveryPhase stops a bolt task while its child is in each phase
// that waits: the stop is immediate and reports nothing.
func TestStopInEveryPhase(t *testing.T) {
	tests := []struct {
		name  string
		mode  string
		conf  topology.Config
		opts  Options
		ready func(*boltFixture) bool
	}{
		// The child ignores SIGTERM and never reads its handshake: the
		// startup timeout is a minute.
		{"handshake", "sleep", topology.Config{KeyStartupTimeoutSecs: 60}, fastOptions,
			func(f *boltFixture) bool { return true }},
		// The child fails at once and the restart waits a minute.
		{"backoff", "failstart", nil, Options{StopGrace: 500 * time.Millisecond, MinBackoff: time.Minute, MaxBackoff: time.Minute},
			func(f *boltFixture) bool { return f.bolt.Health().Failures == 1 }},
		// The child holds a tuple and would be given a minute to answer.
		{"running", "hang", topology.Config{topology.KeySubprocessTimeoutSecs: 60}, fastOptions,
			func(f *boltFixture) bool { return f.bolt.Health().Pid != 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkLeaks(t)
			f := startBolt(t, tt.mode, tt.conf, tt.opts)
			waitUntil(t, patience, "the phase", func() bool { return tt.ready(f) })
			if tt.name == "running" {
				f.bolt.Execute(tracked("held"))
			}
			stopWithin(t, 20*time.Second, "Cleanup", f.bolt.Cleanup)
			_, _, failed, errs := f.rec.snapshot()
			if tt.name != "backoff" && (len(errs) != 0 || len(failed) != 0) {
				t.Errorf("failed %d, errors %v; a stop is no failure", len(failed), errs)
			}
		})
	}
}

// TestBoltStopIsNonBlocking checks that Stop returns at once and unblocks
// an Execute waiting for room, so that a worker stops its tasks in
// parallel and waits for them in Cleanup.
func TestBoltStopIsNonBlocking(t *testing.T) {
	checkLeaks(t)
	f := startBolt(t, "slowstart", topology.Config{KeyStartupTimeoutSecs: 60, topology.KeyShellBoltMaxPending: 1}, Options{StopGrace: time.Minute})
	f.bolt.Execute(sentence("queued: no child is ready"))
	blocked := make(chan struct{})
	go func() {
		f.bolt.Execute(sentence("waits for room"))
		close(blocked)
	}()
	stopWithin(t, 20*time.Second, "Stop", f.bolt.Stop)
	select {
	case <-blocked:
	case <-time.After(patience):
		t.Fatal("Execute still blocked after Stop")
	}
	f.bolt.Cleanup()
}

// TestSpoutStopInterruptsNext stops a spout whose child never answers
// next: the round trip returns, and so does Close, at once.
func TestSpoutStopInterruptsNext(t *testing.T) {
	checkLeaks(t)
	f := startSpout(t, "slownext", topology.Config{topology.KeySubprocessTimeoutSecs: 60}, fastOptions)
	returned := make(chan struct{})
	go func() {
		f.spout.Next()
		close(returned)
	}()
	waitUntil(t, patience, "the child to hang", func() bool { return len(f.logs.matching("hanging in next")) == 1 })
	stopWithin(t, 20*time.Second, "Stop and Close", func() {
		f.spout.Stop()
		select {
		case <-returned:
		case <-time.After(patience):
			t.Fatal("Next still blocked after Stop")
		}
		f.spout.Deactivate() // as the worker does, after the stop began
		f.spout.Close()
	})
	if _, _, _, errs := f.rec.snapshot(); len(errs) != 0 {
		t.Errorf("errors %v; a stop is no failure", errs)
	}
}

// TestSpoutStopStillDeactivates checks that an idle spout child still
// gets deactivate once the stop began, as the worker sends it.
func TestSpoutStopStillDeactivates(t *testing.T) {
	checkLeaks(t)
	f := startSpout(t, "counterspout", nil, fastOptions)
	f.spout.Activate()
	f.spout.Stop()
	f.spout.Next() // a stopping spout asks for nothing more
	f.spout.Deactivate()
	f.spout.Close()
	if got := f.logs.matching("INFO deactivated"); len(got) != 1 {
		t.Errorf("deactivate log lines %q, want one", got)
	}
	if emits, _, _, _ := f.rec.snapshot(); len(emits) != 0 {
		t.Errorf("emits %v after Stop", emits)
	}
}

// TestStopKillsSetsidGrandchild checks that a grandchild that left the
// child's process group, and wrote its pid file as multilang children do,
// dies with the child.
func TestStopKillsSetsidGrandchild(t *testing.T) {
	f := startBolt(t, "setsid", nil, fastOptions)
	var line []string
	waitUntil(t, patience, "the grandchild's pid", func() bool { line = f.logs.matching("INFO grandchild "); return len(line) == 1 })
	pid, err := strconv.Atoi(strings.Fields(strings.TrimPrefix(line[0], "INFO grandchild "))[0])
	if err != nil || !procgroup.Alive(pid) {
		t.Fatalf("grandchild %q not running: %v", line[0], err)
	}
	t.Cleanup(func() { procgroup.Ident{Pid: pid}.Kill(9) })
	f.bolt.Cleanup()
	waitUntil(t, patience, "the grandchild to die", func() bool { return !procgroup.Alive(pid) || zombie(pid) })
}

// TestErrorsAfterStopAreNotErrors stops a child that, as Storm's own
// adapters do, raises on the EOF of its stdin and reports the exception:
// the report is logged at debug, not counted, and the tuple it held is not
// failed.
func TestErrorsAfterStopAreNotErrors(t *testing.T) {
	checkLeaks(t)
	f := startBolt(t, "raiseoneof", nil, fastOptions)
	f.waitUp(t)
	f.bolt.Execute(tracked("in flight"))
	waitUntil(t, patience, "the tuple to be written", func() bool {
		f.bolt.mu.Lock()
		defer f.bolt.mu.Unlock()
		return f.bolt.cur != nil && f.bolt.cur.queued.Load() == 0 && f.bolt.held.len() == 1
	})
	f.bolt.Cleanup()
	_, _, failed, errs := f.rec.snapshot()
	if len(errs) != 0 || len(failed) != 0 {
		t.Errorf("failed %d, errors %v; want none for a stop", len(failed), errs)
	}
	if got := f.logs.matching("DEBUG", "after its stop began", "Read EOF from stdin"); len(got) != 1 {
		t.Errorf("debug log lines %q, want the child's report", got)
	}
}

// TestInterruptBeforeHandshake interrupts a child before its handshake
// begins, as a stop that lands between the launch and the handshake does:
// the handshake's own deadlines must not undo the interrupt and wait out
// the startup timeout.
func TestInterruptBeforeHandshake(t *testing.T) {
	logs := &logRecorder{}
	ctx := taskContext(t, "split", splitTask, nil, logs)
	spec := childSpec("sleep")
	c, err := launch(spec.Command, t.TempDir(), childEnv(nil, spec.Env, nil), discardLogger(logs), 0, nil)
	if err != nil {
		t.Fatalf("launch: %v", err)
	}
	t.Cleanup(func() { c.shutdown(fastOptions.StopGrace, ioWait, "") })
	c.interrupt()
	stopWithin(t, 20*time.Second, "the handshake", func() {
		err = c.handshake(handshake(ctx), time.Minute, 1<<20, func(*multilang.Message) {})
	})
	if err == nil {
		t.Fatal("an interrupted handshake succeeded")
	}
}
