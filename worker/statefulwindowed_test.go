package worker

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/squallstream/squall/state"
	"github.com/squallstream/squall/state/checkpoint"
	"github.com/squallstream/squall/state/memstore"
	"github.com/squallstream/squall/state/provider"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/window"
)

// windowedCounter is a Go stateful windowed bolt (Storm's
// IStatefulWindowedBolt): each window adds its new words to their counts
// in the state, and emits how many words it held.
type windowedCounter struct {
	out     topology.BoltCollector
	state   topology.KeyValueState
	windows *atomic.Int64
}

func (b *windowedCounter) DeclareOutputs() []topology.Stream {
	return []topology.Stream{{ID: topology.DefaultStream, Fields: []string{"n"}}}
}
func (b *windowedCounter) Prepare(_ *topology.TaskContext, out topology.BoltCollector) error {
	b.out = out
	return nil
}
func (b *windowedCounter) InitState(s topology.KeyValueState) { b.state = s }
func (b *windowedCounter) Execute(topology.Tuple)             { panic("Execute called on a windowed bolt") }
func (b *windowedCounter) Cleanup()                           {}
func (b *windowedCounter) ExecuteWindow(w topology.TupleWindow) {
	for _, t := range w.New {
		word := t.String(0)
		var n int64
		v, ok, err := b.state.Get(word)
		if err != nil {
			panic(err) // fails the window: its tuples are replayed
		}
		if ok {
			n, _ = strconv.ParseInt(string(v), 10, 64)
		}
		if err := b.state.Put(word, []byte(strconv.FormatInt(n+1, 10))); err != nil {
			panic(err)
		}
	}
	b.windows.Add(1)
	b.out.Emit(topology.DefaultStream, nil, []any{len(w.Tuples)})
}

// windowedWordCount is spout -> split -> count (stateful, windowed:
// tumbling 200 ms) -> sink; count is the Go windowedCounter, or the shell
// component py if set.
func windowedWordCount(t *testing.T, sentences []string, log *ackLog, windows *atomic.Int64, conf map[string]any, py ...*topology.ShellDef) *topology.Topology {
	t.Helper()
	b := topology.NewBuilder("swin")
	for k, v := range conf {
		b.AddConfig(k, v)
	}
	b.SetSpout("sentences", topology.SpoutFunc(func() (topology.Spout, error) {
		return &durableSpout{sentences: sentences, log: log}, nil
	}), 1)
	b.SetBolt("split", topology.BoltFunc(func() (topology.Bolt, error) {
		return &flakySplit{failed: &atomic.Int64{}}, nil
	}), 2).ShuffleGrouping("sentences")
	windowedCountAndSink(b, windows, py).
		AddConfig(window.KeyLengthDurationMs, 200).AddConfig(window.KeySlideDurationMs, 200)
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// windowedCountAndSink adds count, fed by split's words (FIELDS) at 3 tasks
// in 2 executors, and the sink after it; count is the Go windowedCounter,
// or the stateful shell component py if set. The caller sets its window.
func windowedCountAndSink(b *topology.Builder, windows *atomic.Int64, py []*topology.ShellDef) *topology.BoltDeclarer {
	var count *topology.BoltDeclarer
	if len(py) > 0 {
		count = b.SetBolt("count", py[0], 2).Stateful()
	} else {
		count = b.SetBolt("count", topology.BoltFunc(func() (topology.Bolt, error) {
			return &windowedCounter{windows: windows}, nil
		}), 2)
	}
	count.SetNumTasks(3).FieldsGrouping("split", "word")
	b.SetBolt("sink", topology.BoltFunc(func() (topology.Bolt, error) {
		return &chaosBolt{fails: &atomic.Int64{}, panics: &atomic.Int64{}}, nil
	}), 1).ShuffleGrouping("count")
	return count
}

// A stateful windowed Go bolt on the embedded provider, its worker
// stopped a third of the way without a final checkpoint (tuples in windows
// and uncommitted acks lost, as in a crash) and started again: the state
// survives, windows resume on the replayed and remaining input, and, in
// Storm's mode (at least once), no count ends below its expected value.
// A clean second round on the same input then changes nothing.
func TestStatefulWindowedWordCountSurvivesARestart(t *testing.T) {
	statefulWindowedRestart(t, Config{})
}

// windowedCountPy is the same count as a Python StatefulWindowedBolt; it
// emits when it starts, which the test counts as a window (a restarted
// child).
const windowedCountStatePy = `import storm

class Count(storm.StatefulWindowedBolt):
    def process_window(self, window):
        for t in window.new:
            word = t.values[0]
            self.state[word] = self.state.get(word, 0) + 1
        storm.emit([len(window.tuples)])

Count().run()
`

// The same with a Python StatefulWindowedBolt: the host keeps its state
// and runs the checkpoints, the child writes through the state commands.
func TestStatefulWindowedPythonSurvivesARestart(t *testing.T) {
	opts, _ := pythonOptions(t)
	count := pythonCount(t, windowedCountStatePy)
	statefulWindowedRestart(t, Config{Shell: opts}, count)
}

// statefulWindowedRestart runs the stateful windowed word count on cfg
// (py: its count in Python) twice, stopped mid-stream, then once more.
func statefulWindowedRestart(t *testing.T, cfg Config, py ...*topology.ShellDef) {
	dir := t.TempDir()
	sentences := testSentences(600)
	log := newAckLog()
	conf := map[string]any{topology.KeyLocalDir: dir, checkpoint.KeyInterval: 100, topology.KeyMaxSpoutPending: 200,
		topology.KeyMessageTimeoutSecs: 60}
	path := filepath.Join(dir, "state", "swin", "local.db")
	tasks := topology.TopologyTasks(windowedWordCount(t, sentences, log, &atomic.Int64{}, conf, py...), 1)
	run := func(windows *atomic.Int64) Config {
		c := cfg
		c.Topology = windowedWordCount(t, sentences, log, windows, conf, py...)
		return c
	}
	read := func() (map[string]int64, checkpoint.TxState) {
		counts, cp := committedState(t, provider.Config{Kind: provider.Embedded}, path, "swin", "count", tasks.Tasks("count"), tasks.Tasks(topology.CheckpointSpout)[0])
		if len(py) == 0 {
			return counts, cp
		}
		words := map[string]int64{} // a shell child's keys are stored as JSON text
		for k, n := range counts {
			word, err := strconv.Unquote(k)
			if err != nil {
				t.Fatalf("key %q of a Python child's state is not a JSON string: %v", k, err)
			}
			words[word] = n
		}
		return words, cp
	}

	// Round 1: stopped once a third is acked, mid-stream.
	var windows1 atomic.Int64
	_, stop := startWorker(t, run(&windows1))
	waitUntil(t, testDeadline(), "a third of the sentences acked", func() bool { return log.count() >= len(sentences)/3 })
	stop()
	acked1 := log.count()
	// Its state may hold a prepared transaction: the restart settles it.
	// Had an ack gone out before the commit after its window, the spout
	// would not replay that sentence, and its words would be missing from
	// the counts below.

	// Round 2: the rest, and the replays of what round 1 left unacked.
	var windows2 atomic.Int64
	w, stop := startWorker(t, run(&windows2))
	waitUntil(t, testDeadline(), "every sentence acked", func() bool { return log.count() == len(sentences) })
	quiesce(t, w)
	stop()
	if len(py) == 0 && windows2.Load() == 0 {
		t.Errorf("no window fired after the restart")
	}
	counts2, cp := read()
	want := wordCounts(sentences)
	dups := int64(0)
	for word, n := range want {
		if counts2[word] < n {
			t.Errorf("%q counted %d times, want at least %d", word, counts2[word], n)
		}
		dups += counts2[word] - n
	}
	if cp.Phase != checkpoint.Committed {
		t.Errorf("checkpoint spout ended %v, want COMMITTED", cp)
	}
	t.Logf("round 1 acked %d sentences in %d windows; round 2 %d windows; %d duplicate counts (at least once); checkpoint %v",
		acked1, windows1.Load(), windows2.Load(), dups, cp)

	// Round 3, nothing left to replay: the counts stay as committed.
	w, stop = startWorker(t, run(&atomic.Int64{}))
	quiesce(t, w)
	stop()
	if counts3, _ := read(); !maps.Equal(counts3, counts2) {
		t.Errorf("a run with nothing to replay changed the committed counts")
	}
	for id, n := range log.snapshot() {
		if n != 1 {
			t.Errorf("sentence %d acked %d times", id, n)
		}
	}
}

// Exactly-once state is refused for a windowed bolt, with an error
// saying why.
func TestStatefulWindowedRefusesExactlyOnce(t *testing.T) {
	conf := map[string]any{topology.KeyLocalDir: t.TempDir(), checkpoint.KeyExactlyOnce: true}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where New makes its pid directory
	_, err := New(Config{Topology: windowedWordCount(t, testSentences(1), newAckLog(), &atomic.Int64{}, conf), StormID: "swin-1-1", Logger: testLogger(t)})
	if !errors.Is(err, errExactlyOnceWindowed) {
		t.Fatalf("New = %v, want %v", err, errExactlyOnceWindowed)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("a refused worker left %v in TMPDIR", left)
	}
}

// numberedSpout is a durableSpout whose tuples carry their message id as
// a second field, n, emitting one sentence every 2 ms at most: a stream
// over many windows and checkpoints rather than one burst.
type numberedSpout struct {
	durableSpout
	last time.Time
}

func (s *numberedSpout) Next() {
	if time.Since(s.last) < 2*time.Millisecond {
		return
	}
	s.last = time.Now()
	s.durableSpout.Next()
}

func (s *numberedSpout) DeclareOutputs() []topology.Stream {
	return []topology.Stream{{ID: topology.DefaultStream, Fields: []string{"sentence", "n"}}}
}
func (s *numberedSpout) Open(ctx *topology.TaskContext, out topology.SpoutCollector) error {
	return s.durableSpout.Open(ctx, numbering{out})
}

type numbering struct{ topology.SpoutCollector }

func (c numbering) Emit(stream string, values []any, id any) []int {
	return c.SpoutCollector.Emit(stream, append(values, id), id)
}

// idSplit splits sentence n into words with message ids n*64+i: unique,
// and increasing on the stream from each split task to each count task,
// replays included, since sentence n always takes the same split task
// (FIELDS on n) and the spout replays in order after a restart: Storm's
// condition for its recovery by message id.
type idSplit struct{ out topology.BoltCollector }

func (b *idSplit) DeclareOutputs() []topology.Stream {
	return []topology.Stream{{ID: topology.DefaultStream, Fields: []string{"word", "mid"}}}
}
func (b *idSplit) Prepare(_ *topology.TaskContext, out topology.BoltCollector) error {
	b.out = out
	return nil
}
func (b *idSplit) Execute(t topology.Tuple) {
	n := t.Values()[1].(int)
	for i, w := range strings.Fields(t.String(0)) {
		b.out.Emit(topology.DefaultStream, []topology.Tuple{t}, []any{w, int64(n*64 + i)})
	}
	b.out.Ack(t)
}
func (b *idSplit) Cleanup() {}

// recoveringWordCount is the stateful windowed word count with Storm's
// recovery by message id: spout -> split (FIELDS on the sentence number)
// -> count (stateful, a 2 s window sliding every 200 ms, message ids in
// field mid) -> sink; count is the Go windowedCounter, or the shell
// component py if set.
func recoveringWordCount(t *testing.T, sentences []string, log *ackLog, windows *atomic.Int64, conf map[string]any, py ...*topology.ShellDef) *topology.Topology {
	t.Helper()
	b := topology.NewBuilder("swid")
	for k, v := range conf {
		b.AddConfig(k, v)
	}
	b.SetSpout("sentences", topology.SpoutFunc(func() (topology.Spout, error) {
		return &numberedSpout{durableSpout: durableSpout{sentences: sentences, log: log}}, nil
	}), 1)
	b.SetBolt("split", topology.BoltFunc(func() (topology.Bolt, error) { return &idSplit{}, nil }), 2).
		FieldsGrouping("sentences", "n")
	windowedCountAndSink(b, windows, py).
		AddConfig(window.KeyLengthDurationMs, 2000).AddConfig(window.KeySlideDurationMs, 200).
		AddConfig(window.KeyMessageIDField, "mid")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// Storm's recovery by message id: a Go stateful windowed word count,
// stopped mid-stream without a final checkpoint and started again on its
// state. The replayed tuples that windows evaluated before the last commit
// are acked (expired) or put back into the windows (still in one) without
// being new in any window again, so every word is counted exactly once:
// none lost, none twice. Without the recovery, windows evaluated before the
// commit are evaluated again (TestStatefulWindowedWordCountSurvivesARestart
// counts those duplicates).
func TestStatefulWindowedRecoversByMessageID(t *testing.T) {
	recoveringRestart(t, Config{}, true)
}

// recoveringRestart runs the recovering word count on cfg (py: its count
// in Python), stopped mid-stream without a final checkpoint at a quarter,
// a half and three quarters of the sentences acked, then to the end;
// exact: every count must equal its expected value, else none may be
// below it.
func recoveringRestart(t *testing.T, cfg Config, exact bool, py ...*topology.ShellDef) {
	dir := t.TempDir()
	sentences := testSentences(600)
	log := newAckLog()
	// A tuple stays 2 s in the windows, checkpoints come every 100 ms: at
	// any time the windows hold tuples evaluated before the last commit,
	// and not acked, which a stop leaves to be replayed.
	conf := map[string]any{topology.KeyLocalDir: dir, checkpoint.KeyInterval: 100, topology.KeyMaxSpoutPending: 150,
		topology.KeyMessageTimeoutSecs: 60}
	path := filepath.Join(dir, "state", "swid", "local.db")
	var windows atomic.Int64
	cfg.Topology = recoveringWordCount(t, sentences, log, &windows, conf, py...)
	tasks := topology.TopologyTasks(cfg.Topology, 1)
	var acked, restored int64
	count := func(w *Worker) {
		for _, task := range tasks.Tasks("count") {
			m := w.metrics.Task("count", task)
			if c, err := m.UserCounter(MetricWindowReplaysAcked); err == nil {
				acked += c.Value()
			}
			if c, err := m.UserCounter(MetricWindowReplaysRestored); err == nil {
				restored += c.Value()
			}
		}
	}
	for _, part := range []int{4, 2} {
		want := len(sentences) / part
		if part == 2 {
			want = len(sentences) * 3 / 4
		}
		w, stop := startWorker(t, cfg)
		waitUntil(t, testDeadline(), fmt.Sprintf("%d sentences acked", want), func() bool { return log.count() >= want })
		// Acks come in bursts, at commits: a few more commits, so that the
		// stop does not fall right after one, with nothing evaluated yet
		// unacked.
		cp := cpSpout(t, w)
		from, _ := cp.committed()
		waitUntil(t, testDeadline(), "five more commits", func() bool { txid, _ := cp.committed(); return txid >= from+5 })
		stop()
		count(w)
	}
	w, stop := startWorker(t, cfg)
	waitUntil(t, testDeadline(), "every sentence acked", func() bool { return log.count() == len(sentences) })
	quiesce(t, w)
	stop()
	count(w)

	counts, cp := committedState(t, provider.Config{Kind: provider.Embedded}, path, "swid", "count", tasks.Tasks("count"), tasks.Tasks(topology.CheckpointSpout)[0])
	if len(py) > 0 {
		counts = unquoted(t, counts)
	}
	var dups int64
	for word, n := range wordCounts(sentences) {
		switch got := counts[word]; {
		case got < n:
			t.Errorf("%q counted %d times, want %d: lost", word, got, n)
		case got > n && exact:
			t.Errorf("%q counted %d times, want %d: evaluated again", word, got, n)
		}
		dups += counts[word] - n
	}
	if cp.Phase != checkpoint.Committed {
		t.Errorf("checkpoint spout ended %v, want COMMITTED", cp)
	}
	if acked+restored == 0 {
		t.Errorf("no restart replayed anything that windows had evaluated: the recovery was not exercised")
	}
	for id, n := range log.snapshot() {
		if n != 1 {
			t.Errorf("sentence %d acked %d times", id, n)
		}
	}
	t.Logf("%d windows in three runs; after the restarts, %d replays acked at once, %d put back into windows; %d duplicate counts",
		windows.Load(), acked, restored, dups)
}

// unquoted decodes a shell child's keys, stored as JSON text.
func unquoted(t *testing.T, counts map[string]int64) map[string]int64 {
	t.Helper()
	words := map[string]int64{}
	for k, n := range counts {
		word, err := strconv.Unquote(k)
		if err != nil {
			t.Fatalf("key %q of a shell child's state is not a JSON string: %v", k, err)
		}
		words[word] = n
	}
	return words
}

// The same with a Python StatefulWindowedBolt: the tuples put back reach
// the child in a whole window that lists them as old, so they are in its
// window but not in window.new.
func TestStatefulWindowedPythonRecoversByMessageID(t *testing.T) {
	opts, _ := pythonOptions(t)
	count := pythonCount(t, windowedCountStatePy)
	recoveringRestart(t, Config{Shell: opts}, true, count)
}

// A stateful windowed bolt recovering by message id fails a tuple without
// an integer id in the field, and reports it.
func TestStatefulWindowedFailsATupleWithoutMessageID(t *testing.T) {
	rec := newAckRecord()
	b := topology.NewBuilder("swbad")
	b.AddConfig(topology.KeyLocalDir, t.TempDir())
	b.SetSpout("spout", topology.SpoutFunc(func() (topology.Spout, error) {
		return &listSpout{field: "word", sentences: testSentences(5), rec: rec}, nil
	}), 1)
	b.SetBolt("count", topology.BoltFunc(func() (topology.Bolt, error) {
		return &windowedCounter{windows: &atomic.Int64{}}, nil
	}), 1).ShuffleGrouping("spout").
		AddConfig(window.KeyLengthCount, 2).AddConfig(window.KeyMessageIDField, "mid")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	w := runWorker(t, Config{Topology: topo})
	waitUntil(t, testDeadline(), "every message failed", func() bool {
		_, failed, _ := rec.snapshot()
		return len(failed) == 5
	})
	errs := w.Errors()["count"]
	if len(errs) == 0 || !errors.Is(errs[0].Err, errBadMessageID) {
		t.Fatalf("reported %v, want %v", errs, errBadMessageID)
	}
}

// The marks written stay below a tuple the bolt failed until its replay is
// evaluated: a restart before then must evaluate it, not put it back.
func TestWindowMarksStayBelowFailedTuples(t *testing.T) {
	st, err := state.Open(memstore.New().Backend("marks"))
	if err != nil {
		t.Fatal(err)
	}
	b := &windowedBolt{rec: &recovery{state: func() *state.State { return st }}}
	m := &streamMarks{key: "k", expired: noMark, evaluated: noMark, floor: math.MaxInt64}
	check := func(want string) {
		t.Helper()
		v, _, err := st.Get("k")
		if err != nil || string(v) != want {
			t.Fatalf("marks written %q, %v; want %q", v, err, want)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.raiseMarks([]markUpdate{{m, 10}}, nil, nil)
	check(fmt.Sprintf("%d 10", int64(noMark)))
	m.failedTuple(7) // its window failed
	b.raiseMarks([]markUpdate{{m, 12}}, nil, []*windowed{{marks: m, mid: 11}})
	check("6 6")
	b.raiseMarks([]markUpdate{{m, 13}}, []*windowed{{marks: m, mid: 7, back: true}}, nil) // replayed and evaluated
	check("11 13")
	for i := range maxFailedIDs + 1 { // past the bound, the lowest holds the marks for good
		m.failedTuple(int64(100 + i))
	}
	b.raiseMarks([]markUpdate{{m, 20000}}, []*windowed{{marks: m, mid: 100, back: true}}, nil)
	check("11 99")
}

// The lowest failed id a stream's marks stay below is the lowest of those
// failed and not evaluated since, whatever the order replays come back in,
// and the heap that finds it stays about the size of the set.
func TestWindowMarksLowestFailed(t *testing.T) {
	for _, order := range []string{"ascending", "descending", "random"} {
		t.Run(order, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			m := &streamMarks{floor: math.MaxInt64}
			model := map[int64]bool{}
			for round := range 50 {
				ids := r.Perm(300)
				for _, id := range ids[:100] {
					m.failedTuple(int64(round*10 + id))
					model[int64(round*10+id)] = true
				}
				back := slices.Sorted(maps.Keys(model))
				switch order {
				case "descending":
					slices.Reverse(back)
				case "random":
					r.Shuffle(len(back), func(i, j int) { back[i], back[j] = back[j], back[i] })
				}
				for _, id := range back[:len(back)*2/3] {
					m.evaluatedTuple(id)
					delete(model, id)
					want := int64(math.MaxInt64)
					if len(model) > 0 {
						want = slices.Min(slices.Collect(maps.Keys(model)))
					}
					if got := m.lowestFailed(); got != want {
						t.Fatalf("lowestFailed = %d, want %d", got, want)
					}
					if len(m.failedOrder) > 2*len(m.failed)+65 {
						t.Fatalf("a heap of %d ids for %d failed", len(m.failedOrder), len(m.failed))
					}
				}
			}
		})
	}
}

// windowedCountCrashPy is windowedCountStatePy whose child dies (as kill -9
// would) in its fifth window, once: the marker file says it did.
const windowedCountCrashPy = `import os, storm

class Count(storm.StatefulWindowedBolt):
    def initialize(self, conf, context):
        self.windows = 0

    def process_window(self, window):
        for t in window.new:
            word = t.values[0]
            self.state[word] = self.state.get(word, 0) + 1
        self.windows += 1
        marker = os.environ["CRASH_MARKER"]
        if self.windows == 5 and not os.path.exists(marker):
            open(marker, "w").close()
            os._exit(9)
        storm.emit([len(window.tuples)])

Count().run()
`

// A rollback with the recovery by message id: a counting Python child dies
// mid-window; its task fails the checkpoint, every task rolls back, the
// windows' tuples are failed and replayed and the marks are read back from
// the last commit. No count may end below its expected value. (Duplicates
// remain after a rollback, 100-1100 extra counts here, which the
// restart tests do not see: not explained yet.)
func TestStatefulWindowedPythonRollbackByMessageID(t *testing.T) {
	opts, _ := pythonOptions(t)
	count := pythonCount(t, windowedCountCrashPy)
	marker := filepath.Join(t.TempDir(), "crashed")
	dir := t.TempDir()
	sentences := testSentences(600)
	log := newAckLog()
	conf := map[string]any{topology.KeyLocalDir: dir, checkpoint.KeyInterval: 100, topology.KeyMaxSpoutPending: 150,
		topology.KeyMessageTimeoutSecs: 60}
	topo := recoveringWordCount(t, sentences, log, &atomic.Int64{}, conf,
		count.Env("CRASH_MARKER", marker))
	tasks := topology.TopologyTasks(topo, 1)
	w, stop := startWorker(t, Config{Topology: topo, Shell: opts})
	waitUntil(t, testDeadline(), "every sentence acked", func() bool { return log.count() == len(sentences) })
	quiesce(t, w)
	stop()
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("the child never crashed: %v", err)
	}
	var acked, restored int64
	for _, task := range tasks.Tasks("count") {
		m := w.metrics.Task("count", task)
		if c, err := m.UserCounter(MetricWindowReplaysAcked); err == nil {
			acked += c.Value()
		}
		if c, err := m.UserCounter(MetricWindowReplaysRestored); err == nil {
			restored += c.Value()
		}
	}
	counts, cp := committedState(t, provider.Config{Kind: provider.Embedded}, filepath.Join(dir, "state", "swid", "local.db"),
		"swid", "count", tasks.Tasks("count"), tasks.Tasks(topology.CheckpointSpout)[0])
	counts = unquoted(t, counts)
	var dups int64
	for word, n := range wordCounts(sentences) {
		if counts[word] < n {
			t.Errorf("%q counted %d times, want at least %d: lost", word, counts[word], n)
		}
		dups += counts[word] - n
	}
	if cp.Phase != checkpoint.Committed {
		t.Errorf("checkpoint spout ended %v, want COMMITTED", cp)
	}
	t.Logf("after the rollback, %d replays acked at once, %d put back into windows; %d duplicate counts", acked, restored, dups)
}
