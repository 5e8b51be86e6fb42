package worker

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/window"
)

// crashingWindowPy is a windowed Python bolt that emits each window's
// words and, the first time a window holds "crash", dies with SIGKILL's
// status before acking it.
const crashingWindowPy = `import os, storm

class Words(storm.WindowedBolt):
    def initialize(self, conf, context):
        self.marker = conf["test.marker"]

    def process_window(self, window):
        words = [t.values[0] for t in window.tuples]
        if "crash" in words and not os.path.exists(self.marker):
            open(self.marker, "w").close()
            os._exit(9)
        storm.emit([" ".join(words)])

Words().run()
`

// A windowed Python child that dies loses the window it held: the host
// fails that window's tuples (the spout replays them), restarts the child
// and sends it the next window whole, so every window it then processes is
// complete, and every sentence is acked in the end.
func TestWindowedPythonChildCrash(t *testing.T) {
	opts, _ := pythonOptions(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "words.py")
	if err := os.WriteFile(script, []byte(crashingWindowPy), 0o644); err != nil {
		t.Fatal(err)
	}
	const n = 40
	sentences := make([]string, n)
	for i := range sentences {
		sentences[i] = fmt.Sprintf("s%d", i)
	}
	sentences[12] = "crash"
	rec := newAckRecord()
	out := &tupleLog{}
	b := topology.NewBuilder("wincrash")
	b.AddConfig("test.marker", filepath.Join(dir, "crashed"))
	b.SetSpout("sentences", topology.SpoutFunc(func() (topology.Spout, error) {
		return &listSpout{field: "sentence", sentences: sentences, rec: rec}, nil
	}), 1)
	b.SetBolt("words", topology.Shell("python3", script).Fields("words"), 1).GlobalGrouping("sentences").
		AddConfig(window.KeyLengthCount, 5).AddConfig(window.KeySlideCount, 5)
	b.SetBolt("sink", topology.BoltFunc(func() (topology.Bolt, error) { return &recordBolt{rec: out}, nil }), 1).GlobalGrouping("words")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	runWorker(t, Config{Topology: topo, Shell: opts})
	// The last window's tuples stay until pushed out, as in Storm.
	waitUntil(t, deadline(90*time.Second), "all but the last window's sentences acked", func() bool {
		acked, _, _ := rec.snapshot()
		return len(acked) >= n-5
	})
	if _, err := os.Stat(filepath.Join(dir, "crashed")); err != nil {
		t.Fatalf("the child never crashed: %v", err)
	}
	acked, failed, _ := rec.snapshot()
	for id, k := range acked {
		if k != 1 {
			t.Errorf("sentence %d acked %d times", id, k)
		}
	}
	if len(failed) == 0 {
		t.Errorf("no sentence failed: the crashed window's should have")
	}
	var windows []string
	for _, tup := range out.all() {
		windows = append(windows, tup.String(0))
	}
	for _, w := range windows {
		if len(strings.Fields(w)) != 5 {
			t.Errorf("window %q does not hold 5 tuples: the restarted child did not get the window whole", w)
		}
	}
	if !slices.ContainsFunc(windows, func(w string) bool { return strings.Contains(w, "crash") }) {
		t.Errorf("no window after the restart holds the replayed sentence \"crash\": %q", windows)
	}
}

// streamingWindowPy is a windowed Python bolt that emits, per window, its
// tuples' sentence numbers, how many of its new tuples were named by id
// (streamed ahead of the window) and sent whole, and how many tuples it
// was streamed so far: it wraps the adapter's reader to see the messages.
const streamingWindowPy = `import storm

counts = {"streamed": 0, "ids": 0, "whole": 0}
_read = storm.readCommand
def readCommand():
    msg = _read()
    if msg.get("stream") == "__window":
        w = msg["tuple"][0]
        for run in w.get("add", ()):
            counts["streamed"] += len(run[3])
        for t in w.get("new", ()):
            counts["ids" if isinstance(t, str) else "whole"] += 1
    return msg
storm.readCommand = readCommand

class Numbers(storm.WindowedBolt):
    def process_window(self, window):
        nums = " ".join(t.values[0] for t in window.tuples)
        storm.emit([nums, counts["ids"], counts["whole"], counts["streamed"]])

Numbers().run()
`

// A windowed shell child is streamed each tuple ahead of its window, and
// the window names them by id: the child decodes while the window fills.
// The windows it sees are those of the host, in a sliding count window.
func TestWindowedPythonStreamsTuples(t *testing.T) {
	opts, _ := pythonOptions(t)
	script := filepath.Join(t.TempDir(), "numbers.py")
	if err := os.WriteFile(script, []byte(streamingWindowPy), 0o644); err != nil {
		t.Fatal(err)
	}
	const n, length, slide = 3000, 1000, 500
	sentences := make([]string, n)
	for i := range sentences {
		sentences[i] = fmt.Sprint(i)
	}
	rec := newAckRecord()
	out := &tupleLog{}
	b := topology.NewBuilder("winstream")
	b.SetSpout("sentences", topology.SpoutFunc(func() (topology.Spout, error) {
		return &listSpout{field: "sentence", sentences: sentences, rec: rec}, nil
	}), 1)
	b.SetBolt("numbers", topology.Shell("python3", script).Fields("numbers", "ids", "whole", "streamed"), 1).
		GlobalGrouping("sentences").AddConfig(window.KeyLengthCount, length).AddConfig(window.KeySlideCount, slide)
	b.SetBolt("sink", topology.BoltFunc(func() (topology.Bolt, error) { return &recordBolt{rec: out}, nil }), 1).GlobalGrouping("numbers")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	runWorker(t, Config{Topology: topo, Shell: opts})
	waitUntil(t, deadline(90*time.Second), "every window and the sentences that left them", func() bool {
		acked, _, _ := rec.snapshot()
		return len(out.all()) >= n/slide && len(acked) >= n-length
	})
	got := out.all()
	if len(got) != n/slide {
		t.Fatalf("%d windows, want %d", len(got), n/slide)
	}
	for i, tup := range got {
		end := (i + 1) * slide
		var want []string
		for k := max(0, end-length); k < end; k++ {
			want = append(want, fmt.Sprint(k))
		}
		if nums := tup.String(0); nums != strings.Join(want, " ") {
			t.Errorf("window %d holds %q, want %d..%d", i, nums, max(0, end-length), end-1)
		}
		ids, whole, streamed := tup.Value(1), tup.Value(2), tup.Value(3)
		if ids != int64(end) || whole != int64(0) || streamed.(int64) < int64(end) {
			t.Errorf("after window %d: %v tuples named by id, %v sent whole, %v streamed; want %d by id, none whole",
				i, ids, whole, streamed, end)
		}
	}
	acked, failed, _ := rec.snapshot()
	if len(failed) > 0 {
		t.Errorf("%d sentences failed", len(failed))
	}
	for id, k := range acked {
		if k != 1 {
			t.Errorf("sentence %d acked %d times", id, k)
		}
	}
}

// forgettingWindowPy emits, per window, how many tuples it was streamed,
// named by id in windows, and told to forget.
const forgettingWindowPy = `import storm

counts = {"streamed": 0, "ids": 0, "forgot": 0}
_read = storm.readCommand
def readCommand():
    msg = _read()
    if msg.get("stream") == "__window":
        w = msg["tuple"][0]
        for run in w.get("add", ()):
            counts["streamed"] += len(run[3])
        counts["forgot"] += len(w.get("forget", ()))
        counts["ids"] += sum(1 for t in w.get("new", ()) if isinstance(t, str))
    return msg
storm.readCommand = readCommand

class Probe(storm.WindowedBolt):
    def process_window(self, window):
        storm.emit([counts["streamed"], counts["ids"], counts["forgot"]])

Probe().run()
`

// Tuples the window's cap drops after they were streamed, before any
// window showed them, are forgotten by the child: at every window, each
// tuple streamed so far was named by a window or forgotten, but for the
// one tuple whose arrival fired the window, so the child holds nothing for
// no window. The spout replays what the cap failed until all is acked.
func TestWindowedPythonForgetsDroppedTuples(t *testing.T) {
	opts, _ := pythonOptions(t)
	script := filepath.Join(t.TempDir(), "probe.py")
	if err := os.WriteFile(script, []byte(forgettingWindowPy), 0o644); err != nil {
		t.Fatal(err)
	}
	const n = 300
	sentences := make([]string, n)
	for i := range sentences {
		sentences[i] = fmt.Sprint(i)
	}
	log := newAckLog()
	out := &tupleLog{}
	b := topology.NewBuilder("winforget")
	b.SetSpout("sentences", topology.SpoutFunc(func() (topology.Spout, error) {
		return &durableSpout{sentences: sentences, log: log}, nil
	}), 1)
	b.SetBolt("probe", topology.Shell("python3", script).Fields("streamed", "ids", "forgot"), 1).
		GlobalGrouping("sentences").AddConfig(window.KeyLengthDurationMs, 300).AddConfig(window.KeySlideDurationMs, 300).
		AddConfig(window.KeyMaxTuples, 20)
	b.SetBolt("sink", topology.BoltFunc(func() (topology.Bolt, error) { return &recordBolt{rec: out}, nil }), 1).GlobalGrouping("probe")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	runWorker(t, Config{Topology: topo, Shell: opts})
	waitUntil(t, deadline(120*time.Second), "every sentence acked", func() bool { return log.count() == n })
	forgot := int64(0)
	for i, tup := range out.all() {
		streamed, ids := tup.Value(0).(int64), tup.Value(1).(int64)
		forgot = tup.Value(2).(int64)
		if held := streamed - ids - forgot; held < 0 || held > 1 {
			t.Errorf("window %d: %d tuples streamed, %d named by windows, %d forgotten: the child holds %d for no window",
				i, streamed, ids, forgot, held)
		}
	}
	if forgot == 0 {
		t.Errorf("no streamed tuple forgotten: the test did not overflow the window before it fired")
	}
}
