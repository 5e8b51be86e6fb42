package worker

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/squallstream/squall/adapters"
	"github.com/squallstream/squall/internal/procstat"
	"github.com/squallstream/squall/shell"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/topology/builtin"
)

// usage is what the kernel counted for this process: its CPU time and the
// context switches of all its threads. Voluntary switches are a thread
// going to sleep, so they count wake-ups; involuntary ones are
// preemptions, which the machine's load decides. getrusage is read
// rather than /proc/self/status, whose switch counts are the main
// thread's only, and rather than /proc/self/stat, whose CPU time counts
// in 10 ms ticks.
type usage struct {
	at                     time.Time
	cpu                    time.Duration
	voluntary, involuntary int64
	// runq is how long the process's threads waited, runnable, for a
	// processor (schedstat); 0 where the kernel does not say.
	runq time.Duration
}

func readUsage(tb testing.TB) usage {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatalf("getrusage: %v", err)
	}
	return usage{
		at:          time.Now(),
		cpu:         time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
		voluntary:   ru.Nvcsw,
		involuntary: ru.Nivcsw,
		runq:        runQueueWait(),
	}
}

// runQueueWait sums the time this process's threads spent runnable but
// waiting for a processor (the second field of each thread's schedstat).
// The threads of a Go process live as long as it does, so the sum only
// grows. It is 0 where /proc does not tell.
func runQueueWait() time.Duration {
	paths, _ := filepath.Glob("/proc/self/task/*/schedstat")
	var total time.Duration
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the thread exited
		}
		fields := strings.Fields(string(b))
		if len(fields) < 2 {
			continue
		}
		if ns, err := strconv.ParseInt(fields[1], 10, 64); err == nil {
			total += time.Duration(ns)
		}
	}
	return total
}

// idleCost is what a process spent over a window of wall time.
type idleCost struct {
	window time.Duration
	// cpu is the share of one core used, in percent.
	cpu float64
	// wakeups is voluntary context switches per second.
	wakeups float64
}

func costBetween(a, b usage) idleCost {
	d := b.at.Sub(a.at)
	return idleCost{
		window:  d,
		cpu:     100 * float64(b.cpu-a.cpu) / float64(d),
		wakeups: float64(b.voluntary-a.voluntary) / d.Seconds(),
	}
}

// measureIdle lets w settle, then measures this process over window.
func measureIdle(tb testing.TB, w *Worker, window time.Duration) idleCost {
	tb.Helper()
	<-w.Started()
	time.Sleep(200 * time.Millisecond) // the start's own work ends
	before := readUsage(tb)
	time.Sleep(window)
	return costBetween(before, readUsage(tb))
}

// silentSpout never emits.
type silentSpout struct{}

func (silentSpout) DeclareOutputs() []topology.Stream {
	return []topology.Stream{{ID: topology.DefaultStream, Fields: []string{"v"}}}
}
func (silentSpout) Open(*topology.TaskContext, topology.SpoutCollector) error { return nil }
func (silentSpout) Next()                                                     {}
func (silentSpout) Ack(any)                                                   {}
func (silentSpout) Fail(any)                                                  {}
func (silentSpout) Close()                                                    {}

// idleTopology: a spout that never emits, two bolts and an acker.
func idleTopology(tb testing.TB, conf topology.Config) *topology.Topology {
	tb.Helper()
	b := topology.NewBuilder("idle")
	for k, v := range conf {
		b.AddConfig(k, v)
	}
	b.SetSpout("spout", topology.SpoutFunc(func() (topology.Spout, error) { return silentSpout{}, nil }), 1)
	b.SetBolt("relay", builtin.Identity("v"), 2).ShuffleGrouping("spout")
	b.SetBolt("sink", builtin.Null(), 1).ShuffleGrouping("relay")
	topo, err := b.Build()
	if err != nil {
		tb.Fatal(err)
	}
	return topo
}

// TestInactiveWorkerSleeps: a deactivated topology's worker neither spins
// nor wakes up on a timer: it costs (nearly) nothing until it is
// activated or stopped. (It woke 2,500 times a second, 64 yields each.)
func TestInactiveWorkerSleeps(t *testing.T) {
	w := runWorker(t, Config{Topology: idleTopology(t, nil), Inactive: true})
	window := 2 * time.Second
	var c idleCost
	// The process's other goroutines (the test framework's, a previous
	// test's leftovers winding down) may wake it now and then: the best
	// of three windows is the worker's own cost.
	for range 3 {
		if c = measureIdle(t, w, window); c.wakeups <= 50 && c.cpu <= 0.5 {
			t.Logf("an inactive worker used %.3f%% of a core and woke %.1f times a second", c.cpu, c.wakeups)
			return
		}
	}
	t.Errorf("an inactive worker used %.2f%% of a core and woke %.0f times a second, want at most 0.5%% and 50", c.cpu, c.wakeups)
}

// BenchmarkIdleWorker measures what an idle worker costs over b.N
// seconds (use -benchtime 60x for a minute): the CPU it uses (percent of
// a core) and how often its threads wake up. "inactive" runs
// examples/wordcount deactivated, as `squall local --inactive
// examples/wordcount` does, Python children included (their CPU is
// reported apart, as child-cpu-%); "active-silent" runs a topology whose
// spout has nothing to emit, with the default spout wait strategy.
func BenchmarkIdleWorker(b *testing.B) {
	b.Run("inactive", func(b *testing.B) {
		env, err := adapters.Install(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		dir := filepath.Join("..", "examples", "wordcount")
		reg := topology.NewRegistry()
		builtin.RegisterWith(reg, builtin.Options{Stdout: io.Discard})
		topo, err := topology.LoadFile(filepath.Join(dir, "topology.yaml"), topology.LoadOptions{Registry: reg})
		if err != nil {
			b.Fatal(err)
		}
		benchIdle(b, Config{Topology: topo, Inactive: true, ResourcesDir: filepath.Join(dir, "resources"),
			PidDir: filepath.Join(b.TempDir(), "pids"), Shell: shell.Options{Env: env}})
	})
	b.Run("active-silent", func(b *testing.B) {
		benchIdle(b, Config{Topology: idleTopology(b, nil)})
	})
}

func benchIdle(b *testing.B, cfg Config) {
	cfg.StormID = cfg.Topology.Name + "-1-1"
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	w, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	<-w.Started()
	// Shell children take a while to start (the interpreter, the
	// handshake): measure once they run and their CPU time stops growing.
	shells := 0
	for _, c := range cfg.Topology.Components {
		if c.Shell != nil {
			shells += max(c.NumTasks, c.Parallelism)
		}
	}
	var children time.Duration
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		time.Sleep(time.Second)
		now, n := childCPU(b, w.PidDir())
		if n == shells && now == children {
			break
		}
		children = now
	}
	b.ResetTimer()
	c := measureIdle(b, w, time.Duration(b.N)*time.Second)
	b.StopTimer()
	b.ReportMetric(c.cpu, "cpu-%")
	b.ReportMetric(c.wakeups, "wakeups/s")
	if shells > 0 {
		now, _ := childCPU(b, w.PidDir())
		b.ReportMetric(100*float64(now-children)/float64(c.window), "child-cpu-%")
	}
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

// childCPU adds up the CPU time of the shell children whose pids are in
// dir, and counts them.
func childCPU(tb testing.TB, dir string) (time.Duration, int) {
	entries, _ := os.ReadDir(dir)
	var total time.Duration
	n := 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if s, err := procstat.Read(pid); err == nil {
			total += s.CPU
			n++
		}
	}
	return total, n
}
