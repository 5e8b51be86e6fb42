package worker

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/squallstream/squall/state/checkpoint"
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
	var count *topology.BoltDeclarer
	if len(py) > 0 {
		count = b.SetBolt("count", py[0], 2).Stateful()
	} else {
		count = b.SetBolt("count", topology.BoltFunc(func() (topology.Bolt, error) {
			return &windowedCounter{windows: windows}, nil
		}), 2)
	}
	count.SetNumTasks(3).FieldsGrouping("split", "word").
		AddConfig(window.KeyLengthDurationMs, 200).AddConfig(window.KeySlideDurationMs, 200)
	b.SetBolt("sink", topology.BoltFunc(func() (topology.Bolt, error) {
		return &chaosBolt{fails: &atomic.Int64{}, panics: &atomic.Int64{}}, nil
	}), 1).ShuffleGrouping("count")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return topo
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
	script := filepath.Join(t.TempDir(), "count.py")
	if err := os.WriteFile(script, []byte(windowedCountStatePy), 0o644); err != nil {
		t.Fatal(err)
	}
	statefulWindowedRestart(t, Config{Shell: opts}, topology.Shell("python3", script).Fields("n"))
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
