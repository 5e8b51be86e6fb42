package worker

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/redisserver/redistest"
	"github.com/squallstream/squall/state/checkpoint"
	"github.com/squallstream/squall/state/provider"
	"github.com/squallstream/squall/topology"
)

// ackLog is what a durable source remembers across worker runs: the
// message ids acked so far (as a queue would, or a Kafka offset).
type ackLog struct {
	mu    sync.Mutex
	acked map[int]int
}

func newAckLog() *ackLog { return &ackLog{acked: map[int]int{}} }

func (l *ackLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

func (l *ackLog) snapshot() map[int]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.acked)
}

// durableSpout emits, reliably with its index as message id, every
// sentence its log has not seen acked, and replays what fails.
type durableSpout struct {
	sentences []string
	log       *ackLog
	out       topology.SpoutCollector
	next      int
	replay    []int
}

func (s *durableSpout) DeclareOutputs() []topology.Stream {
	return []topology.Stream{{ID: topology.DefaultStream, Fields: []string{"sentence"}}}
}
func (s *durableSpout) Open(_ *topology.TaskContext, out topology.SpoutCollector) error {
	s.out = out
	return nil
}
func (s *durableSpout) Next() {
	var i int
	switch {
	case len(s.replay) > 0:
		i, s.replay = s.replay[0], s.replay[1:]
	default:
		s.log.mu.Lock()
		for s.next < len(s.sentences) && s.log.acked[s.next] > 0 {
			s.next++
		}
		s.log.mu.Unlock()
		if s.next >= len(s.sentences) {
			return
		}
		i = s.next
		s.next++
	}
	s.out.Emit(topology.DefaultStream, []any{s.sentences[i]}, i)
}
func (s *durableSpout) Ack(id any) {
	s.log.mu.Lock()
	s.log.acked[id.(int)]++
	s.log.mu.Unlock()
}
func (s *durableSpout) Fail(id any) { s.replay = append(s.replay, id.(int)) }
func (s *durableSpout) Close()      {}

// flakySplit splits sentences into words, anchored, then fails a fraction
// of its inputs after emitting their words: the tree fails, the spout
// replays the sentence, and its words reach the counter again.
type flakySplit struct {
	out      topology.BoltCollector
	failRate float64
	failed   *atomic.Int64
}

func (b *flakySplit) DeclareOutputs() []topology.Stream {
	return []topology.Stream{{ID: topology.DefaultStream, Fields: []string{"word"}}}
}
func (b *flakySplit) Prepare(_ *topology.TaskContext, out topology.BoltCollector) error {
	b.out = out
	return nil
}
func (b *flakySplit) Execute(t topology.Tuple) {
	for _, w := range strings.Fields(t.String(0)) {
		b.out.Emit(topology.DefaultStream, []topology.Tuple{t}, []any{w})
	}
	if rand.Float64() < b.failRate {
		b.failed.Add(1)
		b.out.Fail(t)
		return
	}
	b.out.Ack(t)
}
func (b *flakySplit) Cleanup() {}

// statefulCounter is a Go StatefulBolt counting words in its state.
type statefulCounter struct {
	out   topology.BoltCollector
	state topology.KeyValueState
	// inits counts InitState calls.
	inits *atomic.Int64
}

func (b *statefulCounter) DeclareOutputs() []topology.Stream {
	return []topology.Stream{{ID: topology.DefaultStream, Fields: []string{"word", "count"}}}
}
func (b *statefulCounter) Prepare(_ *topology.TaskContext, out topology.BoltCollector) error {
	b.out = out
	return nil
}
func (b *statefulCounter) InitState(s topology.KeyValueState) {
	b.state = s
	if b.inits != nil {
		b.inits.Add(1)
	}
}
func (b *statefulCounter) Execute(t topology.Tuple) {
	word := t.String(0)
	var n int64
	if v, ok, err := b.state.Get(word); err != nil {
		b.out.Fail(t)
		return
	} else if ok {
		n, _ = strconv.ParseInt(string(v), 10, 64)
	}
	n++
	if err := b.state.Put(word, []byte(strconv.FormatInt(n, 10))); err != nil {
		b.out.Fail(t)
		return
	}
	b.out.Emit(topology.DefaultStream, nil, []any{word, n}) // anchored by the runtime
	b.out.Ack(t)
}
func (b *statefulCounter) Cleanup() {}

// statefulWordCount is spout -> split (flaky) -> count (stateful) -> sink.
func statefulWordCount(t *testing.T, sentences []string, log *ackLog, failRate float64, failed *atomic.Int64, conf map[string]any) *topology.Topology {
	t.Helper()
	b := topology.NewBuilder("swc")
	for k, v := range conf {
		b.AddConfig(k, v)
	}
	b.SetSpout("sentences", topology.SpoutFunc(func() (topology.Spout, error) {
		return &durableSpout{sentences: sentences, log: log}, nil
	}), 1)
	b.SetBolt("split", topology.BoltFunc(func() (topology.Bolt, error) {
		return &flakySplit{failRate: failRate, failed: failed}, nil
	}), 2).ShuffleGrouping("sentences")
	b.SetBolt("count", topology.BoltFunc(func() (topology.Bolt, error) {
		return &statefulCounter{}, nil
	}), 2).SetNumTasks(3).FieldsGrouping("split", "word")
	b.SetBolt("sink", topology.BoltFunc(func() (topology.Bolt, error) {
		return &chaosBolt{fails: &atomic.Int64{}, panics: &atomic.Int64{}}, nil
	}), 1).ShuffleGrouping("count")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// startWorker runs a worker until the returned stop is called (or the
// test ends).
func startWorker(t *testing.T, cfg Config) (*Worker, func()) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	if cfg.StormID == "" {
		cfg.StormID = cfg.Topology.Name + "-1-1"
	}
	w, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(60 * time.Second):
				t.Errorf("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return w, stop
}

func testDeadline() time.Duration {
	if isCI() {
		return 180 * time.Second
	}
	return 90 * time.Second
}

// cpSpout returns the worker's checkpoint spout task.
func cpSpout(t *testing.T, w *Worker) *checkpointSpout {
	t.Helper()
	for _, x := range w.spouts {
		for _, task := range x.tasks {
			if s, ok := task.spout.(*checkpointSpout); ok {
				return s
			}
		}
	}
	t.Fatal("no checkpoint spout in the worker")
	return nil
}

// quiesce waits for a commit after the last input, and holds the
// checkpoint spout at rest on it.
func quiesce(t *testing.T, w *Worker) {
	t.Helper()
	cp := cpSpout(t, w)
	before, _ := cp.committed()
	waitUntil(t, testDeadline(), "a commit after the last input", func() bool {
		txid, resting := cp.committed()
		return resting && txid > before
	})
	cp.holdAtRest()
	waitUntil(t, testDeadline(), "the checkpoint spout at rest", func() bool {
		_, resting := cp.committed()
		return resting
	})
}

// committedState reads, with the worker stopped, the committed counts of
// a component's tasks and the checkpoint spout's saved state.
func committedState(t *testing.T, pc provider.Config, path, topo, comp string, tasks []int, cpTask int) (counts map[string]int64, cp checkpoint.TxState) {
	t.Helper()
	p, err := provider.New(pc, provider.Options{EmbeddedPath: path})
	if err != nil {
		t.Fatalf("open the state file: %v", err)
	}
	defer p.Close()
	counts = map[string]int64{}
	for _, task := range tasks {
		st, err := p.State(provider.Namespace(topo, comp, task))
		if err != nil {
			t.Fatal(err)
		}
		if st.Prepared() != -1 {
			t.Errorf("task %d has transaction %d prepared, not committed", task, st.Prepared())
		}
		err = st.Range(func(k string, v []byte) bool {
			if !strings.HasPrefix(k, "\x00") {
				n, _ := strconv.ParseInt(string(v), 10, 64)
				counts[k] += n
			}
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	st, err := p.State(provider.Namespace(topo, topology.CheckpointSpout, cpTask))
	if err != nil {
		t.Fatal(err)
	}
	v, ok, err := st.Get(checkpoint.StateKey)
	if err != nil || !ok {
		t.Fatalf("checkpoint spout state: %q, %v, %v", v, ok, err)
	}
	if cp, err = checkpoint.UnmarshalTxState(v); err != nil {
		t.Fatal(err)
	}
	return counts, cp
}

// A stateful Go word count on the embedded provider: its counts survive a
// restart of the worker and continue; the checkpoint spout ends COMMITTED.
func TestStatefulWordCountContinues(t *testing.T) {
	dir := t.TempDir()
	sentences := testSentences(1000)
	log := newAckLog()
	conf := map[string]any{topology.KeyLocalDir: dir, checkpoint.KeyInterval: 100, topology.KeyMaxSpoutPending: 500}
	topo := statefulWordCount(t, sentences, log, 0, &atomic.Int64{}, conf)
	path := filepath.Join(dir, "state", "swc", "local.db")
	tasks := topology.TopologyTasks(topo, 1)

	for round, upTo := range []int{400, 1000} {
		run := statefulWordCount(t, sentences[:upTo], log, 0, &atomic.Int64{}, conf)
		w, stop := startWorker(t, Config{Topology: run})
		waitUntil(t, testDeadline(), "every sentence acked", func() bool { return log.count() == upTo })
		quiesce(t, w)
		stop()
		counts, cp := committedState(t, provider.Config{Kind: provider.Embedded}, path, "swc", "count", tasks.Tasks("count"), tasks.Tasks(topology.CheckpointSpout)[0])
		if want := wordCounts(sentences[:upTo]); !maps.Equal(counts, want) {
			t.Errorf("round %d: committed counts differ from the %d sentences' (%d words vs %d)", round, upTo, len(counts), len(want))
		}
		if cp.Phase != checkpoint.Committed || cp.Txid < 1 {
			t.Errorf("round %d: checkpoint spout ended %v, want COMMITTED", round, cp)
		}
		t.Logf("round %d: %d sentences, checkpoint spout %v", round, upTo, cp)
	}
	for id, n := range log.snapshot() {
		if n != 1 {
			t.Errorf("sentence %d acked %d times", id, n)
		}
	}
}

// Faults against exactly-once and Storm's mode: the split bolt fails a few
// percent of its input after emitting (the tree fails elsewhere after the
// counter counted it: the doc's case 2), and the worker restarts half-way
// (tuples counted, committed or not, whose acks are lost: case 1). With
// exactly-once the committed counts are exact and the replays dropped are
// counted; in Storm's mode no count is below its expected value and the
// duplicates are reported.
func TestStatefulFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test")
	}
	t.Run("exactly-once", func(t *testing.T) { statefulFaults(t, true, nil) })
	t.Run("storm", func(t *testing.T) { statefulFaults(t, false, nil) })
	// The Redis provider, on a real redis-server.
	t.Run("exactly-once-redis", func(t *testing.T) {
		srv := redistest.Start(t)
		statefulFaults(t, true, map[string]any{provider.KeyProvider: provider.StormRedisProvider,
			provider.KeyProviderConfig: fmt.Sprintf(`{"jedisPoolConfig": {"host": "127.0.0.1", "port": %d}}`, srv.Port())})
	})
}

func statefulFaults(t *testing.T, exactly bool, providerConf map[string]any) {
	const n = 3000
	dir := t.TempDir()
	sentences := testSentences(n)
	log := newAckLog()
	var failed atomic.Int64
	conf := map[string]any{topology.KeyLocalDir: dir, checkpoint.KeyInterval: 100,
		topology.KeyMaxSpoutPending: 300, checkpoint.KeyExactlyOnce: exactly}
	maps.Copy(conf, providerConf)
	pc, err := provider.ParseConfig(topology.Config(conf))
	if err != nil {
		t.Fatal(err)
	}
	topo := statefulWordCount(t, sentences, log, 0.03, &failed, conf)
	tasks := topology.TopologyTasks(topo, 1)
	var dups int64
	countDups := func(w *Worker) {
		for _, task := range tasks.Tasks("count") {
			if c, err := w.metrics.Task("count", task).UserCounter(MetricCheckpointDuplicates); err == nil {
				dups += c.Value()
			}
		}
	}
	w, stop := startWorker(t, Config{Topology: topo})
	waitUntil(t, testDeadline(), "half the sentences acked", func() bool { return log.count() >= n/2 })
	stop() // a restart: in-flight trees and held acks are lost
	countDups(w)
	w, stop = startWorker(t, Config{Topology: topo})
	waitUntil(t, testDeadline(), "every sentence acked", func() bool { return log.count() == n })
	quiesce(t, w)
	stop()
	countDups(w)

	counts, cp := committedState(t, pc, filepath.Join(dir, "state", "swc", "local.db"), "swc", "count",
		tasks.Tasks("count"), tasks.Tasks(topology.CheckpointSpout)[0])
	if cp.Phase != checkpoint.Committed {
		t.Errorf("checkpoint spout ended %v, want COMMITTED", cp)
	}
	want := wordCounts(sentences)
	var extra int64
	for word, k := range want {
		switch got := counts[word]; {
		case got < k:
			t.Errorf("%q counted %d times, expected %d", word, got, k)
		case got > k:
			extra += got - k
		}
	}
	if len(counts) != len(want) {
		t.Errorf("%d words counted, want %d", len(counts), len(want))
	}
	t.Logf("%s: %d sentences, %d split failures, duplicates committed %d, replays dropped %d, checkpoint spout %v",
		t.Name(), n, failed.Load(), extra, dups, cp)
	switch {
	case failed.Load() == 0:
		t.Fatal("no failure was injected")
	case exactly && extra != 0:
		t.Errorf("exactly-once: %d duplicate counts committed, want 0", extra)
	case exactly && dups == 0:
		t.Errorf("exactly-once: no replay was dropped, yet %d trees failed after counting", failed.Load())
	case !exactly && extra == 0:
		t.Errorf("Storm's mode: no duplicate counted although %d trees failed after counting: the test cannot tell the modes apart", failed.Load())
	}
}

// A stateful Python bolt (the state extension spoken by
// testdata/resources/statecount.py) under faults: its child dies (os._exit
// after its 300th tuple, as a kill would; twice), the split bolt fails
// trees after emitting, and the worker restarts half-way. Exactly-once
// commits exact counts, with and without child crashes; Storm's mode none
// below expected.
func TestStatefulPythonFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test")
	}
	t.Run("storm", func(t *testing.T) { statefulPythonFaults(t, false, 2) })
	t.Run("exactly-once", func(t *testing.T) { statefulPythonFaults(t, true, 0) })
	t.Run("exactly-once-child-crashes", func(t *testing.T) { statefulPythonFaults(t, true, 2) })
}

// statefulPythonFaults: crashes is how many times a counting child dies.
func statefulPythonFaults(t *testing.T, exactly bool, crashes int) {
	opts, resources := pythonOptions(t)
	const n = 1500
	dir := t.TempDir()
	marker := filepath.Join(t.TempDir(), "crashed")
	sentences := testSentences(n)
	log := newAckLog()
	var failed atomic.Int64
	b := topology.NewBuilder("pswc")
	b.AddConfig(topology.KeyLocalDir, dir)
	b.AddConfig(checkpoint.KeyInterval, 200)
	b.AddConfig(topology.KeyMaxSpoutPending, 300)
	b.AddConfig(topology.KeyMessageTimeoutSecs, 60)
	b.AddConfig(checkpoint.KeyExactlyOnce, exactly)
	b.SetSpout("sentences", topology.SpoutFunc(func() (topology.Spout, error) {
		return &durableSpout{sentences: sentences, log: log}, nil
	}), 1)
	b.SetBolt("split", topology.BoltFunc(func() (topology.Bolt, error) {
		return &flakySplit{failRate: 0.02, failed: &failed}, nil
	}), 2).ShuffleGrouping("sentences")
	count := topology.Shell("python3", "statecount.py").Fields("word", "count").
		Env("CRASH_AFTER", "300").Env("CRASHES", strconv.Itoa(crashes)).Env("CRASH_MARKER", marker)
	b.SetBolt("count", count, 2).Stateful().FieldsGrouping("split", "word")
	b.SetBolt("sink", topology.BoltFunc(func() (topology.Bolt, error) {
		return &chaosBolt{fails: &atomic.Int64{}, panics: &atomic.Int64{}}, nil
	}), 1).ShuffleGrouping("count")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	tasks := topology.TopologyTasks(topo, 1)
	deadline := 2 * testDeadline()
	w, stop := startWorker(t, Config{Topology: topo, ResourcesDir: resources, Shell: opts})
	waitUntil(t, deadline, "half the sentences acked", func() bool { return log.count() >= n/2 })
	stop()
	crashed := w.Errors()["count"]
	w, stop = startWorker(t, Config{Topology: topo, ResourcesDir: resources, Shell: opts})
	waitUntil(t, deadline, "every sentence acked", func() bool { return log.count() == n })
	quiesce(t, w)
	stop()
	crashed = append(crashed, w.Errors()["count"]...)

	raw, cp := committedState(t, provider.Config{Kind: provider.Embedded}, filepath.Join(dir, "state", "pswc", "local.db"), "pswc", "count",
		tasks.Tasks("count"), tasks.Tasks(topology.CheckpointSpout)[0])
	counts := map[string]int64{}
	for k, v := range raw {
		word, err := strconv.Unquote(k) // keys are JSON text
		if err != nil {
			t.Fatalf("state key %q: %v", k, err)
		}
		counts[word] = v
	}
	if cp.Phase != checkpoint.Committed {
		t.Errorf("checkpoint spout ended %v, want COMMITTED", cp)
	}
	reported := 0
	for _, r := range crashed {
		if strings.Contains(r.Err.Error(), "crashing on purpose") {
			reported++
		}
	}
	want := wordCounts(sentences)
	var extra int64
	for word, k := range want {
		switch got := counts[word]; {
		case got < k:
			t.Errorf("%q counted %d times, expected %d", word, got, k)
		case got > k:
			extra += got - k
		}
	}
	t.Logf("%s: %d sentences, %d child crashes reported, %d split failures, duplicates committed %d, checkpoint spout %v",
		t.Name(), n, reported, failed.Load(), extra, cp)
	if exactly && extra != 0 {
		t.Errorf("exactly-once: %d duplicate counts committed, want 0", extra)
	}
	for i := 1; i <= crashes; i++ {
		if _, err := os.Stat(marker + "." + strconv.Itoa(i)); err != nil {
			t.Errorf("child crash %d did not happen: %v", i, err)
		}
	}
}

// rollbackOrder is a Go stateful bolt keeping its state in memory, loaded
// at InitState, as Storm's bolts may: it logs its InitState, PreRollback
// and Execute calls. Its first tuple stays in flight until release says
// so, then fails.
type rollbackOrder struct {
	out topology.BoltCollector
	// release is set before ready is closed.
	release func() bool
	ready   chan struct{}
	mu      sync.Mutex
	events  []string
	stalled bool
}

func (b *rollbackOrder) log(e string) {
	b.mu.Lock()
	b.events = append(b.events, e)
	b.mu.Unlock()
}

func (b *rollbackOrder) snapshot() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.events)
}

func (b *rollbackOrder) DeclareOutputs() []topology.Stream { return nil }
func (b *rollbackOrder) Prepare(_ *topology.TaskContext, out topology.BoltCollector) error {
	b.out = out
	return nil
}
func (b *rollbackOrder) InitState(topology.KeyValueState) { b.log("init") }
func (b *rollbackOrder) PrePrepare(int64)                 {}
func (b *rollbackOrder) PreCommit(int64)                  {}
func (b *rollbackOrder) PreRollback()                     { b.log("rollback") }
func (b *rollbackOrder) Cleanup()                         {}
func (b *rollbackOrder) Execute(t topology.Tuple) {
	b.log("execute")
	if !b.stalled {
		b.stalled = true
		go func() {
			<-b.ready
			for !b.release() {
				time.Sleep(10 * time.Millisecond)
			}
			b.out.Fail(t)
		}()
		return
	}
	b.out.Ack(t)
}

// After a ROLLBACK, the input a Go stateful bolt's task held while the
// rollback waited runs only once InitState handed the bolt its restored
// state (Storm buffers tuples until initState): a bolt keeping its state in
// memory must not count them on the rolled-back values. The bolt keeps its
// first tuple in flight, so that in exactly-once mode the PREPARE waits
// (holding input), times out, and the ROLLBACK that replaces it waits too,
// holding input, until the tuple fails.
func TestStatefulGoRollbackInitStateFirst(t *testing.T) {
	log := newAckLog()
	bolt := &rollbackOrder{ready: make(chan struct{})}
	b := topology.NewBuilder("rbo")
	for k, v := range map[string]any{topology.KeyLocalDir: t.TempDir(), checkpoint.KeyInterval: 100,
		topology.KeyMaxSpoutPending: 50, checkpoint.KeyExactlyOnce: true, topology.KeyMessageTimeoutSecs: 2} {
		b.AddConfig(k, v)
	}
	b.SetSpout("sentences", topology.SpoutFunc(func() (topology.Spout, error) {
		return &durableSpout{sentences: testSentences(200), log: log}, nil
	}), 1)
	b.SetBolt("count", topology.BoltFunc(func() (topology.Bolt, error) { return bolt, nil }), 1).ShuffleGrouping("sentences")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	task := topology.TopologyTasks(topo, 1).Tasks("count")[0]
	w, _ := startWorker(t, Config{Topology: topo})
	m := w.metrics.Task("count", task)
	stale, err := m.UserCounter(MetricCheckpointStaleBarriers)
	if err != nil {
		t.Fatal(err)
	}
	held, err := m.UserGauge(MetricCheckpointBuffered)
	if err != nil {
		t.Fatal(err)
	}
	// The timed-out PREPARE counts as stale when the ROLLBACK replaces it.
	bolt.release = func() bool { return stale.Value() > 0 && held.Value() > 0 }
	close(bolt.ready)
	waitUntil(t, testDeadline(), "a rollback, then InitState and input", func() bool {
		ev := bolt.snapshot()
		i := slices.Index(ev, "rollback")
		return i >= 0 && slices.Contains(ev[i:], "init") && slices.Contains(ev[i:], "execute")
	})
	ev := bolt.snapshot()
	after := ev[slices.Index(ev, "rollback")+1:]
	if i := slices.IndexFunc(after, func(e string) bool { return e != "rollback" }); after[i] != "init" {
		t.Errorf("after the rollback the bolt got %v: input ran before InitState handed it the restored state", after[:min(len(after), 8)])
	}
	waitUntil(t, testDeadline(), "every sentence acked", func() bool { return log.count() == 200 })
}
