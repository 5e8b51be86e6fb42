package worker

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/squallstream/squall/adapters"
	"github.com/squallstream/squall/shell"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/window"
)

// The two Python bolts compared by BenchmarkPythonWindowed: the same word
// counting, per tuple or per window (adding the new sentences, taking off
// the expired ones), each reporting how many sentences it has taken in,
// and 0 once it is ready.
const (
	plainCountPy = `import collections, storm

class Count(storm.BasicBolt):
    def initialize(self, conf, context):
        self.counts = collections.Counter()
        self.n = 0
        storm.emit([0])

    def process(self, tup):
        self.counts.update(tup.values[0].split())
        self.n += 1
        if self.n % 1000 == 0:
            storm.emit([self.n])

Count().run()
`
	windowedCountPy = `import collections, storm

class Count(storm.WindowedBolt):
    def initialize(self, conf, context):
        self.counts = collections.Counter()
        self.n = 0
        storm.emit([0])

    def process_window(self, window):
        for t in window.new:
            self.counts.update(t.values[0].split())
        for t in window.expired:
            self.counts.subtract(t.values[0].split())
        self.n += len(window.new)
        storm.emit([self.n])

Count().run()
`
)

// gatedSpout emits nothing until its gate is closed.
type gatedSpout struct {
	sentenceSpout
	gate <-chan struct{}
	open bool
}

func (s *gatedSpout) Next() {
	if !s.open {
		select {
		case <-s.gate:
			s.open = true
		default:
			return
		}
	}
	s.sentenceSpout.Next()
}

// maxSink records the largest number it is sent.
type maxSink struct{ max *atomic.Int64 }

func (s maxSink) Prepare(*topology.TaskContext, topology.BoltCollector) error { return nil }
func (s maxSink) Cleanup()                                                    {}
func (s maxSink) Execute(t topology.Tuple) {
	n, _ := t.Value(0).(int64)
	for {
		cur := s.max.Load()
		if n <= cur || s.max.CompareAndSwap(cur, n) {
			return
		}
	}
}

// BenchmarkPythonWindowed compares a Python bolt counting words per tuple
// (plain) with the same count in a 10 s window sliding every second
// (windowed), unacked, in sentences/s taken in by the Python child, timed
// from the child being ready (the interpreter's start is not counted). The
// windowed figure includes up to a second of waiting for the last window:
// run it long, -benchtime 300000x or more.
func BenchmarkPythonWindowed(b *testing.B) {
	b.Run("plain", func(b *testing.B) { benchPythonWindowed(b, plainCountPy, false) })
	b.Run("windowed", func(b *testing.B) { benchPythonWindowed(b, windowedCountPy, true) })
}

func benchPythonWindowed(b *testing.B, script string, windowed bool) {
	dir := b.TempDir()
	env, err := adapters.Install(dir)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, "count.py")
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		b.Fatal(err)
	}
	n := b.N
	var taken atomic.Int64
	taken.Store(-1)
	gate := make(chan struct{})
	bld := topology.NewBuilder("winbench")
	bld.AddConfig(topology.KeyAckerExecutors, 0)
	bld.AddConfig(topology.KeyMessageTimeoutSecs, 60)
	bld.SetSpout("sentences", topology.SpoutFunc(func() (topology.Spout, error) {
		return &gatedSpout{sentenceSpout: sentenceSpout{constSpout{limit: n}}, gate: gate}, nil
	}), 1)
	d := bld.SetBolt("count", topology.Shell("python3", path).Fields("n"), 1).ShuffleGrouping("sentences")
	if windowed {
		d.AddConfig(window.KeyLengthDurationMs, 10_000).AddConfig(window.KeySlideDurationMs, 1_000).
			AddConfig(window.KeyMaxTuples, 10_000_000)
	}
	bld.SetBolt("sink", topology.BoltFunc(func() (topology.Bolt, error) { return maxSink{&taken}, nil }), 1).GlobalGrouping("count")
	topo, err := bld.Build()
	if err != nil {
		b.Fatal(err)
	}
	w, err := New(Config{Topology: topo, StormID: "winbench-1-1", Shell: shell.Options{Env: env},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	children := rusage(b, syscall.RUSAGE_CHILDREN)
	go func() { done <- w.Run(ctx) }()
	<-w.Started()
	for taken.Load() < 0 {
		time.Sleep(5 * time.Millisecond)
	}
	b.ResetTimer()
	host := rusage(b, syscall.RUSAGE_SELF)
	close(gate)
	want := int64(n / 1000 * 1000)
	if windowed {
		want = int64(n)
	}
	for taken.Load() < want {
		time.Sleep(5 * time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(want)/b.Elapsed().Seconds(), "sentences/s")
	// CPU per sentence moves less with the machine's load than
	// sentences/s: the worker's process, and the child's (known once it
	// exited; its interpreter's start included, tens of milliseconds).
	b.ReportMetric(float64(rusage(b, syscall.RUSAGE_SELF)-host)/float64(want), "host-cpu-ns/sentence")
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(rusage(b, syscall.RUSAGE_CHILDREN)-children)/float64(want), "child-cpu-ns/sentence")
}

// rusage returns the CPU time used by the process or its waited children.
func rusage(b *testing.B, who int) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
