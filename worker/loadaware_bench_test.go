package worker

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/squallstream/squall/adapters"
	"github.com/squallstream/squall/internal/transcript"
	"github.com/squallstream/squall/shell"
	"github.com/squallstream/squall/topology"
)

// BenchmarkLoadAwareShuffle runs a Go spout (acked, max pending 1000)
// shuffling onto four Python tasks of which one sleeps a millisecond per
// tuple (testdata/resources/slowone.py), with load-aware shuffle (Storm
// 2's default) and without (topology.disable.loadaware.messaging), and
// reports acked tuples/s. The plain shuffle holds the whole stream to
// four times the slow task's pace; load-aware should do 2.5 times better.
// The timer starts once loadAwareWarmUp tuples were acked, when every
// child is running: an interpreter's start (seconds on a loaded machine)
// is not the grouping's doing, and timed it pulled both variants' rates
// toward the same figure.
func BenchmarkLoadAwareShuffle(b *testing.B) {
	b.Run("plain", func(b *testing.B) { benchLoadAware(b, true) })
	b.Run("loadaware", func(b *testing.B) { benchLoadAware(b, false) })
}

func benchLoadAware(b *testing.B, disable bool) {
	transcript.Interpreter(b, "python3")
	env, err := adapters.Install(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	resources, err := filepath.Abs(filepath.Join("testdata", "resources"))
	if err != nil {
		b.Fatal(err)
	}
	n := b.N + loadAwareWarmUp
	bld := topology.NewBuilder("loadaware")
	bld.AddConfig(topology.KeyAckerExecutors, 1)
	bld.AddConfig(topology.KeyMaxSpoutPending, 1000)
	bld.AddConfig(topology.KeyDisableLoadAwareMessaging, disable)
	bld.SetSpout("spout", topology.SpoutFunc(func() (topology.Spout, error) {
		return &constSpout{limit: n, reliable: true}, nil
	}), 1)
	bld.SetBolt("pass", topology.Shell("python3", "slowone.py"), 4).ShuffleGrouping("spout")
	topo, err := bld.Build()
	if err != nil {
		b.Fatal(err)
	}
	w, err := New(Config{Topology: topo, StormID: "loadaware-1-1", ResourcesDir: resources, Shell: shell.Options{Env: env},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}()
	// finished counts the tuples acked, and those failed (timed out),
	// which the spout does not replay.
	finished := func() (acked, failed int64) {
		for _, c := range w.Stats() {
			if c.Spout {
				t := c.Totals()
				return t.Acked, t.Failed
			}
		}
		return 0, 0
	}
	<-w.Started()
	for a, f := finished(); a+f < loadAwareWarmUp; a, f = finished() {
		time.Sleep(5 * time.Millisecond)
	}
	b.ResetTimer()
	from, _ := finished()
	acked, failed := finished()
	for ; acked+failed < int64(n); acked, failed = finished() {
		time.Sleep(5 * time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(acked-from)/b.Elapsed().Seconds(), "tuples/s")
	b.ReportMetric(float64(failed), "failed")
}

// loadAwareWarmUp is how many tuples BenchmarkLoadAwareShuffle lets its
// children ack before it starts timing.
const loadAwareWarmUp = 2000
