package worker

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/window"
)

// windowRecorder is a Go windowed bolt that records its windows' words,
// emits one tuple per window (unanchored: the runtime anchors it to the
// window) and panics on the windows failFirst asks to fail.
type windowRecorder struct {
	out topology.BoltCollector
	rec *windowLog
}

type windowLog struct {
	mu      sync.Mutex
	windows []windowSeen
	// failFirst is how many windows still panic.
	failFirst int
}

type windowSeen struct {
	tuples, added, expired []string
	start, end             int64
}

func (l *windowLog) snapshot() []windowSeen {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.windows)
}

func words(ts []topology.Tuple) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.String(0)
	}
	return out
}

func (b *windowRecorder) DeclareOutputs() []topology.Stream {
	return []topology.Stream{{ID: topology.DefaultStream, Fields: []string{"n"}}}
}
func (b *windowRecorder) Prepare(_ *topology.TaskContext, out topology.BoltCollector) error {
	b.out = out
	return nil
}
func (b *windowRecorder) Execute(topology.Tuple) { panic("Execute called on a windowed bolt") }
func (b *windowRecorder) Cleanup()               {}
func (b *windowRecorder) ExecuteWindow(w topology.TupleWindow) {
	b.rec.mu.Lock()
	if b.rec.failFirst > 0 {
		b.rec.failFirst--
		b.rec.mu.Unlock()
		panic("failing this window")
	}
	b.rec.windows = append(b.rec.windows, windowSeen{words(w.Tuples), words(w.New), words(w.Expired), w.Start, w.End})
	b.rec.mu.Unlock()
	b.out.Emit(topology.DefaultStream, nil, []any{len(w.Tuples)})
}

// runWindowed runs sentences → split → a windowed recorder, and waits
// until all but tail sentences are acked and windows have fired: the
// tuples of a count window's last windows never leave it, as in Storm.
func runWindowed(t *testing.T, n int, conf map[string]any, failFirst, tail, windows int) (*windowLog, []string, map[int]int) {
	t.Helper()
	sentences := testSentences(n)
	rec := newAckRecord()
	log := &windowLog{failFirst: failFirst}
	b := topology.NewBuilder("win")
	b.SetSpout("sentences", topology.SpoutFunc(func() (topology.Spout, error) {
		return &listSpout{field: "sentence", sentences: sentences, rec: rec}, nil
	}), 1)
	b.SetBolt("split", topology.BoltFunc(func() (topology.Bolt, error) { return &splitBolt{}, nil }), 1).ShuffleGrouping("sentences")
	d := b.SetBolt("win", topology.BoltFunc(func() (topology.Bolt, error) { return &windowRecorder{rec: log}, nil }), 1).GlobalGrouping("split")
	for k, v := range conf {
		d.AddConfig(k, v)
	}
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	runWorker(t, Config{Topology: topo})
	waitUntil(t, deadline(60*time.Second), "the sentences acked and the windows fired", func() bool {
		acked, _, _ := rec.snapshot()
		return len(acked) >= len(sentences)-tail && len(log.snapshot()) >= windows
	})
	acked, failed, _ := rec.snapshot()
	for id, k := range acked {
		if k != 1 {
			t.Errorf("sentence %d acked %d times", id, k)
		}
	}
	var all []string
	for _, s := range sentences {
		all = append(all, strings.Fields(s)...)
	}
	return log, all, failed
}

func deadline(d time.Duration) time.Duration {
	if isCI() {
		return 3 * d
	}
	return d
}

// checkChain checks that each window is the previous one minus its
// expired tuples plus its new ones.
func checkChain(t *testing.T, ws []windowSeen) {
	t.Helper()
	var prev []string
	for i, w := range ws {
		want := slices.Concat(prev[len(w.expired):], w.added)
		if !slices.Equal(w.tuples, want) || !slices.Equal(prev[:len(w.expired)], w.expired) {
			t.Fatalf("window %d = %q (new %q, expired %q), want the previous %q minus expired plus new", i, w.tuples, w.added, w.expired, prev)
		}
		prev = w.tuples
	}
}

func TestWindowedGoBoltTumblingCount(t *testing.T) {
	log, all, failed := runWindowed(t, 200, map[string]any{window.KeyLengthCount: 10, window.KeySlideCount: 10}, 0, 20, 0)
	waitUntil(t, deadline(30*time.Second), "every window", func() bool { return len(log.snapshot()) >= len(all)/10 })
	ws := log.snapshot()
	if len(failed) != 0 {
		t.Errorf("failed: %v", failed)
	}
	if len(ws) != len(all)/10 {
		t.Fatalf("%d windows, want %d (%d words, 10 a window)", len(ws), len(all)/10, len(all))
	}
	checkChain(t, ws)
	var seen []string
	for i, w := range ws {
		if len(w.tuples) != 10 || len(w.added) != 10 {
			t.Errorf("window %d holds %d tuples, %d new; want 10, 10", i, len(w.tuples), len(w.added))
		}
		seen = append(seen, w.tuples...)
	}
	// One spout task and one split task: the words arrive in order.
	if n := len(all) / 10 * 10; !slices.Equal(seen, all[:n]) {
		t.Errorf("windows hold %q, want the first %d words in order", seen, n)
	}
}

func TestWindowedGoBoltSlidingCount(t *testing.T) {
	log, all, failed := runWindowed(t, 100, map[string]any{window.KeyLengthCount: 6, window.KeySlideCount: 3}, 0, 10, 0)
	waitUntil(t, deadline(30*time.Second), "every window", func() bool { return len(log.snapshot()) >= len(all)/3 })
	ws := log.snapshot()
	if len(failed) != 0 {
		t.Errorf("failed: %v", failed)
	}
	if len(ws) != len(all)/3 {
		t.Fatalf("%d windows, want %d", len(ws), len(all)/3)
	}
	checkChain(t, ws)
	for i, w := range ws[1:] {
		if len(w.tuples) != 6 || len(w.added) != 3 {
			t.Errorf("window %d: %d tuples, %d new, want 6, 3", i+1, len(w.tuples), len(w.added))
		}
	}
}

// Duration windows fire on the executor's timer, also after the input
// stopped, so the last tuples are acked.
func TestWindowedGoBoltDuration(t *testing.T) {
	log, all, failed := runWindowed(t, 300, map[string]any{window.KeyLengthDurationMs: 200, window.KeySlideDurationMs: 100}, 0, 0, 0)
	if len(failed) != 0 {
		t.Errorf("failed: %v", failed)
	}
	ws := log.snapshot()
	checkChain(t, ws)
	var shown []string
	for _, w := range ws {
		shown = append(shown, w.added...)
	}
	if len(shown) != len(all) {
		t.Errorf("windows showed %d new tuples, want every one of %d words", len(shown), len(all))
	}
	for i, w := range ws {
		if w.end-w.start != 200 {
			t.Errorf("window %d covers (%d, %d], want 200 ms", i, w.start, w.end)
		}
	}
}

// A window the bolt fails fails its tuples: the spout replays them and
// every sentence is acked in the end.
func TestWindowedGoBoltFailedWindowReplays(t *testing.T) {
	log, all, failed := runWindowed(t, 50, map[string]any{window.KeyLengthCount: 5, window.KeySlideCount: 5}, 2, 10, 0)
	if len(failed) == 0 {
		t.Errorf("no sentence failed, want those of the two failed windows")
	}
	// runWindowed returned once all but 10 sentences were acked: the
	// replays of the others may still be on their way to a window.
	shown := func() int {
		n := 0
		for _, w := range log.snapshot() {
			n += len(w.added)
		}
		return n
	}
	waitUntil(t, deadline(60*time.Second), fmt.Sprintf("windows to show at least %d tuples", len(all)-10), func() bool {
		return shown() >= len(all)-10
	})
}

// tsSpout emits (word, ts) pairs once each, reliably.
type tsSpout struct {
	words []string
	ts    []int64
	// hold, if set, holds back the word at index holdAt until it is true.
	hold   func() bool
	holdAt int
	out    topology.SpoutCollector
	next   int
	rec    *ackRecord
}

func (s *tsSpout) DeclareOutputs() []topology.Stream {
	return []topology.Stream{{ID: topology.DefaultStream, Fields: []string{"word", "ts"}}}
}
func (s *tsSpout) Open(_ *topology.TaskContext, out topology.SpoutCollector) error {
	s.out = out
	return nil
}
func (s *tsSpout) Next() {
	if s.hold != nil && s.next == s.holdAt && !s.hold() {
		return
	}
	if s.next < len(s.words) {
		s.out.Emit(topology.DefaultStream, []any{s.words[s.next], s.ts[s.next]}, s.next)
		s.next++
	}
}
func (s *tsSpout) Ack(id any) {
	s.rec.mu.Lock()
	s.rec.acked[id.(int)]++
	s.rec.mu.Unlock()
}
func (s *tsSpout) Fail(id any) {
	s.rec.mu.Lock()
	s.rec.failed[id.(int)]++
	s.rec.mu.Unlock()
}
func (s *tsSpout) Close() {}

// lateRecorder is a windowed bolt declaring the late-tuple stream.
type lateRecorder struct{ windowRecorder }

func (b *lateRecorder) DeclareOutputs() []topology.Stream {
	return []topology.Stream{{ID: topology.DefaultStream, Fields: []string{"n"}}, {ID: "late", Fields: []string{window.LateTupleField}}}
}

// In event time, windows follow the tuples' timestamps, and a tuple
// behind the watermark goes to the late-tuple stream and is acked.
func TestWindowedGoBoltEventTimeLate(t *testing.T) {
	rec := newAckRecord()
	log := &windowLog{}
	late := &tupleLog{}
	const base = int64(1_700_000_000_000)
	// a, b in (base-1000, base]; c in (base+1000, base+2000]; d moves the
	// watermark past both, which fire; then "late", at base+500, is behind
	// it; z moves it past every window.
	words := []string{"a", "b", "c", "d", "late", "z"}
	ts := []int64{base - 500, base, base + 2000, base + 5000, base + 500, base + 60_000}
	fired := func() bool { return len(log.snapshot()) >= 2 }
	b := topology.NewBuilder("late")
	b.SetSpout("src", topology.SpoutFunc(func() (topology.Spout, error) {
		return &tsSpout{words: words, ts: ts, rec: rec, hold: fired, holdAt: 4}, nil
	}), 1)
	b.SetBolt("win", topology.BoltFunc(func() (topology.Bolt, error) { return &lateRecorder{windowRecorder{rec: log}}, nil }), 1).
		GlobalGrouping("src").
		AddConfig(window.KeyLengthDurationMs, 1000).AddConfig(window.KeySlideDurationMs, 1000).
		AddConfig(window.KeyTimestampField, "ts").AddConfig(window.KeyWatermarkInterval, 10).
		AddConfig(window.KeyLateTupleStream, "late")
	b.SetBolt("sink", topology.BoltFunc(func() (topology.Bolt, error) { return &recordBolt{rec: late}, nil }), 1).GlobalGrouping("win", "late")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	runWorker(t, Config{Topology: topo})
	waitUntil(t, deadline(30*time.Second), "every tuple but the last acked", func() bool {
		acked, _, _ := rec.snapshot()
		return len(acked) == len(words)-1
	})
	ws := log.snapshot()
	var got [][]string
	for _, w := range ws {
		got = append(got, w.tuples)
	}
	want := [][]string{{"a", "b"}, {"c"}}
	if len(got) < 2 || !slices.Equal(got[0], want[0]) || !slices.Equal(got[1], want[1]) {
		t.Errorf("windows = %q, want %q first", got, want)
	}
	if ws[0].end != base || ws[0].start != base-1000 {
		t.Errorf("first window (%d, %d], want (%d, %d]", ws[0].start, ws[0].end, base-1000, base)
	}
	lt := late.all()
	if len(lt) != 1 {
		t.Fatalf("late stream got %d tuples, want 1", len(lt))
	}
	v, _ := lt[0].Value(0).(map[string]any)
	if vals, _ := v["values"].([]any); v["component"] != "src" || len(vals) != 2 || vals[0] != "late" {
		t.Errorf("late tuple = %v, want the tuple \"late\" from src", v)
	}
}

// failSink fails every tuple it gets.
type failSink struct{ out topology.BoltCollector }

func (b *failSink) Prepare(_ *topology.TaskContext, out topology.BoltCollector) error {
	b.out = out
	return nil
}
func (b *failSink) Execute(t topology.Tuple) { b.out.Fail(t) }
func (b *failSink) Cleanup()                 {}

// countWindowPy emits, from each window, how many tuples are new in it
// (anchored, by the adapter, to the window).
const countWindowPy = `import storm

class Count(storm.WindowedBolt):
    def process_window(self, window):
        storm.emit([len(window.new)])

Count().run()
`

// What a windowed bolt emits for a window is anchored to every tuple of
// the window, whether a Go bolt emits unanchored or a shell child anchors
// to the window tuple: when the emitted tuple fails downstream, so does
// every sentence of the window, and none is acked.
func TestWindowEmitsAnchoredToTheWindow(t *testing.T) {
	for _, lang := range []string{"go", "python"} {
		t.Run(lang, func(t *testing.T) {
			const n = 10
			rec := newAckRecord()
			b := topology.NewBuilder("winanchor")
			b.SetSpout("sentences", topology.SpoutFunc(func() (topology.Spout, error) {
				return &listSpout{field: "sentence", sentences: testSentences(n), rec: rec}, nil
			}), 1)
			var win topology.BoltImpl
			cfg := Config{}
			if lang == "go" {
				win = topology.BoltFunc(func() (topology.Bolt, error) { return &windowRecorder{rec: &windowLog{}}, nil })
			} else {
				opts, _ := pythonOptions(t)
				cfg.Shell = opts
				win = pythonCount(t, countWindowPy)
			}
			b.SetBolt("win", win, 1).GlobalGrouping("sentences").
				AddConfig(window.KeyLengthCount, 5).AddConfig(window.KeySlideCount, 5)
			b.SetBolt("sink", topology.BoltFunc(func() (topology.Bolt, error) { return &failSink{}, nil }), 1).GlobalGrouping("win")
			topo, err := b.Build()
			if err != nil {
				t.Fatal(err)
			}
			cfg.Topology = topo
			runWorker(t, cfg)
			waitUntil(t, deadline(60*time.Second), "every sentence failed", func() bool {
				_, failed, _ := rec.snapshot()
				return len(failed) == n
			})
			if acked, _, _ := rec.snapshot(); len(acked) > 0 {
				t.Errorf("sentences acked although what their windows emitted failed: %v", acked)
			}
		})
	}
}

// pythonCount writes source as count.py in a temporary directory and
// returns the shell bolt that runs it, declaring the field n.
func pythonCount(t *testing.T, source string) *topology.ShellDef {
	t.Helper()
	script := filepath.Join(t.TempDir(), "count.py")
	if err := os.WriteFile(script, []byte(source), 0o644); err != nil {
		t.Fatal(err)
	}
	return topology.Shell("python3", script).Fields("n")
}
