package worker

import (
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/testenv"
	"github.com/squallstream/squall/topology"
)

// chaosBolt re-emits its input anchored, and fails or panics on a
// fraction of tuples, chosen at random.
type chaosBolt struct {
	out       topology.BoltCollector
	failRate  float64
	panicRate float64
	fails     *atomic.Int64
	panics    *atomic.Int64
	emit      bool
}

func (b *chaosBolt) DeclareOutputs() []topology.Stream {
	return []topology.Stream{{ID: topology.DefaultStream, Fields: []string{"sentence"}}}
}
func (b *chaosBolt) Prepare(_ *topology.TaskContext, out topology.BoltCollector) error {
	b.out = out
	return nil
}
func (b *chaosBolt) Execute(t topology.Tuple) {
	switch r := rand.Float64(); {
	case r < b.panicRate:
		b.panics.Add(1)
		panic("chaos: " + t.String(0))
	case r < b.panicRate+b.failRate:
		b.fails.Add(1)
		b.out.Fail(t)
		return
	}
	if b.emit {
		b.out.Emit(topology.DefaultStream, []topology.Tuple{t}, t.Values())
	}
	b.out.Ack(t)
}
func (b *chaosBolt) Cleanup() {}

// TestReliableThroughFailures sends N reliable messages through Go spout
// -> Python bolt (random failures, and a child that crashes mid-run) -> Go
// bolt (random failures and panics) -> Go bolt. Every message ends acked
// exactly once; every failure reaches the spout at once (no message has to
// wait for its timeout); the panics are reported and the bolt goes on.
func TestReliableThroughFailures(t *testing.T) {
	opts, resources := pythonOptions(t)
	const n = 3000
	sentences := testSentences(n)
	rec := newAckRecord()
	var fails, panics, ignored atomic.Int64
	marker := filepath.Join(t.TempDir(), "crashed")
	b := topology.NewBuilder("reliable")
	b.AddConfig(topology.KeyMessageTimeoutSecs, 120) // a lost failure would stall the test
	b.AddConfig(topology.KeyMaxSpoutPending, 200)
	b.SetSpout("spout", topology.SpoutFunc(func() (topology.Spout, error) {
		return &listSpout{field: "sentence", sentences: sentences, rec: rec}, nil
	}), 1)
	shellDef := topology.Shell("python3", "flaky.py").Fields("sentence").
		Env("FAIL_RATE", "0.05").Env("CRASH_AFTER", "400").Env("CRASH_MARKER", marker)
	b.SetBolt("flaky", shellDef, 2).ShuffleGrouping("spout")
	b.SetBolt("chaos", topology.BoltFunc(func() (topology.Bolt, error) {
		return &chaosBolt{failRate: 0.05, panicRate: 0.01, fails: &fails, panics: &panics, emit: true}, nil
	}), 2).ShuffleGrouping("flaky")
	b.SetBolt("sink", topology.BoltFunc(func() (topology.Bolt, error) {
		return &chaosBolt{fails: &ignored, panics: &ignored}, nil
	}), 1).ShuffleGrouping("chaos")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	w := runWorker(t, Config{Topology: topo, ResourcesDir: resources, Shell: opts})
	waitUntil(t, 90*time.Second, "every message acked", func() bool {
		acked, _, _ := rec.snapshot()
		return len(acked) == n
	})
	acked, failed, maxInFlight := rec.snapshot()
	for id, k := range acked {
		if k != 1 {
			t.Errorf("message %d acked %d times", id, k)
		}
	}
	var totalFails int
	for _, k := range failed {
		totalFails += k
	}
	if int64(totalFails) < fails.Load()+panics.Load() {
		t.Errorf("spout saw %d failures, the Go bolt alone caused %d", totalFails, fails.Load()+panics.Load())
	}
	if w.TimedOut() != 0 {
		t.Errorf("%d tuples timed out: failures did not reach the spout at once", w.TimedOut())
	}
	if maxInFlight > 200 {
		t.Errorf("%d messages in flight, above topology.max.spout.pending 200", maxInFlight)
	}
	errs := w.Errors()
	var crash, panicked bool
	for _, r := range errs["flaky"] {
		crash = crash || strings.Contains(r.Err.Error(), "crashing on purpose")
	}
	for _, r := range errs["chaos"] {
		panicked = panicked || strings.Contains(r.Err.Error(), "panicked")
	}
	if !crash || (panics.Load() > 0 && !panicked) {
		t.Errorf("errors reported: %v; want the child's crash and the bolt's panics", errs)
	}
	t.Logf("%d messages, %d failures seen by the spout (%d injected in Go, %d panics), peak in flight %d",
		n, totalFails, fails.Load(), panics.Load(), maxInFlight)
}

// slowBolt takes a while over every tuple.
type slowBolt struct {
	out   topology.BoltCollector
	delay time.Duration
}

func (b *slowBolt) Prepare(_ *topology.TaskContext, out topology.BoltCollector) error {
	b.out = out
	return nil
}
func (b *slowBolt) Execute(t topology.Tuple) {
	time.Sleep(b.delay)
	b.out.Ack(t)
}
func (b *slowBolt) Cleanup() {}

func TestMaxSpoutPending(t *testing.T) {
	rec := newAckRecord()
	b := topology.NewBuilder("pending")
	b.AddConfig(topology.KeyMaxSpoutPending, 7)
	b.SetSpout("spout", topology.SpoutFunc(func() (topology.Spout, error) {
		return &listSpout{field: "sentence", sentences: testSentences(300), rec: rec}, nil
	}), 1)
	b.SetBolt("slow", topology.BoltFunc(func() (topology.Bolt, error) { return &slowBolt{delay: time.Millisecond}, nil }), 2).ShuffleGrouping("spout")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	runWorker(t, Config{Topology: topo})
	waitUntil(t, 30*time.Second, "every message acked", func() bool {
		acked, _, _ := rec.snapshot()
		return len(acked) == 300
	})
	if _, _, peak := rec.snapshot(); peak > 7 || peak < 2 {
		t.Errorf("peak in flight %d, want at most topology.max.spout.pending 7 (and the window used)", peak)
	}
}

// TestSlowBoltBoundsQueues: a fast unreliable spout feeding a slow bolt
// fills the bolt's queue to its configured size and no further, and the
// spout is slowed to the bolt's pace.
func TestSlowBoltBoundsQueues(t *testing.T) {
	const size = 500
	var emitted atomic.Int64
	b := topology.NewBuilder("backpressure")
	b.AddConfig(topology.KeyExecutorReceiveBufferSize, size)
	b.SetSpout("spout", topology.SpoutFunc(func() (topology.Spout, error) {
		return &countingSpout{n: &emitted}, nil
	}), 1)
	b.SetBolt("slow", topology.BoltFunc(func() (topology.Bolt, error) { return &slowBolt{delay: 50 * time.Microsecond}, nil }), 1).ShuffleGrouping("spout")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	w := runWorker(t, Config{Topology: topo})
	slow := w.route(w.tasks.Tasks("slow")[0], kindTuple)
	// Sample the queue for a second, and on until it has filled to half
	// its size: on a loaded machine the spout may start late.
	peak := 0
	start, deadline := time.Now(), time.Now().Add(testenv.Patience(time.Minute))
	for time.Since(start) < time.Second || peak < size/2 && time.Now().Before(deadline) {
		peak = max(peak, slow.len())
		time.Sleep(100 * time.Microsecond)
	}
	if peak > size {
		t.Errorf("the slow bolt's queue held %d messages, above its size %d", peak, size)
	}
	if peak < size/2 {
		t.Errorf("the slow bolt's queue peaked at %d of %d: the spout was not held back by a full queue", peak, size)
	}
	// Emitted is read first: what the bolt executes after it only
	// shortens the lag.
	sent := emitted.Load()
	var executed int64
	for _, c := range w.Stats() {
		if c.Component == "slow" {
			executed = c.Totals().Executed
		}
	}
	// In flight between the two: the queue (size), the batch the bolt took
	// from it and is executing (size), the spout's unflushed batch
	// (maxOutBatch) and the tuple being emitted.
	if lag := sent - executed; lag > 2*size+maxOutBatch+1 {
		t.Errorf("the spout is %d tuples ahead of the bolt, more than the queues and batches hold", lag)
	}
}

// countingSpout emits unreliable tuples as fast as it can.
type countingSpout struct {
	out    topology.SpoutCollector
	n      *atomic.Int64
	values []any
}

func (s *countingSpout) DeclareOutputs() []topology.Stream {
	return []topology.Stream{{ID: topology.DefaultStream, Fields: []string{"x"}}}
}
func (s *countingSpout) Open(_ *topology.TaskContext, out topology.SpoutCollector) error {
	s.out, s.values = out, []any{"x"}
	return nil
}
func (s *countingSpout) Next() {
	s.n.Add(1)
	s.out.Emit(topology.DefaultStream, s.values, nil)
}
func (s *countingSpout) Ack(any)  {}
func (s *countingSpout) Fail(any) {}
func (s *countingSpout) Close()   {}

func TestGoBoltPanicIsReported(t *testing.T) {
	rec := newAckRecord()
	var fails, panics atomic.Int64
	b := topology.NewBuilder("panics")
	b.SetSpout("spout", topology.SpoutFunc(func() (topology.Spout, error) {
		return &listSpout{field: "sentence", sentences: testSentences(50), rec: rec}, nil
	}), 1)
	b.SetBolt("bad", topology.BoltFunc(func() (topology.Bolt, error) {
		return &chaosBolt{panicRate: 1, fails: &fails, panics: &panics}, nil
	}), 1).ShuffleGrouping("spout")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	w := runWorker(t, Config{Topology: topo})
	// Every tuple panics and fails; the spout replays, so keep going until
	// each message has failed at least once.
	waitUntil(t, 30*time.Second, "every message failed", func() bool {
		_, failed, _ := rec.snapshot()
		return len(failed) == 50
	})
	errs := w.Errors()["bad"]
	if len(errs) == 0 || !strings.Contains(errs[0].Err.Error(), "chaos:") {
		t.Fatalf("reported %v, want the panic", errs)
	}
	if len(errs) > 5 {
		t.Errorf("%d errors kept in the first interval, want Storm's throttle of 5", len(errs))
	}
	if errs[0].Task != w.tasks.Tasks("bad")[0] || errs[0].Component != "bad" {
		t.Errorf("error from %s task %d, want bad task %d", errs[0].Component, errs[0].Task, w.tasks.Tasks("bad")[0])
	}
}

// holdBolt keeps every tuple for hold, resetting its timeout every
// resetEvery (if set), then acks it, from another goroutine.
type holdBolt struct {
	out        topology.BoltCollector
	hold       time.Duration
	resetEvery time.Duration
}

func (b *holdBolt) Prepare(_ *topology.TaskContext, out topology.BoltCollector) error {
	b.out = out
	return nil
}
func (b *holdBolt) Execute(t topology.Tuple) {
	go func() {
		deadline := time.Now().Add(b.hold)
		for b.resetEvery > 0 && time.Until(deadline) > b.resetEvery {
			time.Sleep(b.resetEvery)
			b.out.ResetTimeout(t)
		}
		time.Sleep(time.Until(deadline))
		b.out.Ack(t)
	}()
}
func (b *holdBolt) Cleanup() {}

// TestResetTimeout: tuples held three timeouts long are acked when the
// bolt keeps resetting their timeout, and time out when it does not.
func TestResetTimeout(t *testing.T) {
	for _, tt := range []struct {
		name      string
		reset     time.Duration
		wantFails bool
	}{
		{"reset", 300 * time.Millisecond, false},
		{"no reset", 0, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := newAckRecord()
			b := topology.NewBuilder("reset")
			b.AddConfig(topology.KeyMessageTimeoutSecs, 1)
			b.SetSpout("spout", topology.SpoutFunc(func() (topology.Spout, error) {
				return &listSpout{field: "sentence", sentences: testSentences(5), rec: rec}, nil
			}), 1)
			b.SetBolt("hold", topology.BoltFunc(func() (topology.Bolt, error) {
				return &holdBolt{hold: 3 * time.Second, resetEvery: tt.reset}, nil
			}), 1).ShuffleGrouping("spout")
			topo, err := b.Build()
			if err != nil {
				t.Fatal(err)
			}
			w := runWorker(t, Config{Topology: topo})
			if tt.wantFails {
				waitUntil(t, 10*time.Second, "the first timeouts", func() bool { return w.TimedOut() >= 5 })
				return
			}
			waitUntil(t, 10*time.Second, "every tuple acked", func() bool {
				acked, _, _ := rec.snapshot()
				return len(acked) == 5
			})
			if _, failed, _ := rec.snapshot(); len(failed) != 0 || w.TimedOut() != 0 {
				t.Errorf("%d failures, %d timeouts, although the bolt reset every timeout", len(failed), w.TimedOut())
			}
		})
	}
}
