package shell

import (
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/squallstream/squall/adapters"
	"github.com/squallstream/squall/internal/transcript"
	"github.com/squallstream/squall/multilang"
	"github.com/squallstream/squall/topology"
)

// countingCollector counts acks and discards everything else: the
// cheapest possible downstream, so the benchmark measures the host. When
// the count reaches target, reached is closed.
type countingCollector struct {
	acked   atomic.Int64
	target  atomic.Int64
	reached chan struct{}
	ids     []int
}

func (c *countingCollector) Emit(string, []topology.Tuple, []any) []int      { return c.ids }
func (c *countingCollector) EmitDirect(int, string, []topology.Tuple, []any) {}
func (c *countingCollector) Ack(topology.Tuple) {
	if c.acked.Add(1) == c.target.Load() {
		close(c.reached)
	}
}
func (c *countingCollector) Fail(topology.Tuple)         {}
func (c *countingCollector) ResetTimeout(topology.Tuple) {}
func (c *countingCollector) ReportError(err error)       { panic(err) }

// expect arms the collector for n more acks and returns the channel closed
// when they arrived.
func (c *countingCollector) expect(n int64) <-chan struct{} {
	c.reached = make(chan struct{})
	c.target.Store(c.acked.Load() + n)
	return c.reached
}

// BenchmarkHost drives the passthrough reference bolt of each adapter
// (one anchored emit and one ack per input) through the shell host as fast
// as it goes, in each wire format: python-json, python-msgpack, ruby-json,
// ... Compare with the bare-pipe ceiling of the same child,
// BenchmarkPassthroughCeiling in package adapters.
func BenchmarkHost(b *testing.B) {
	env, err := adapters.Install(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range []struct{ name, interpreter, script string }{
		{"python", "python3", "passthrough.py"},
		{"ruby", "ruby", "passthrough.rb"},
		{"node", "node", "passthrough.js"},
	} {
		for _, ser := range transcript.Serializers {
			b.Run(l.name+"-"+ser, func(b *testing.B) {
				bin := transcript.Interpreter(b, l.interpreter)
				env := env
				if l.name == "python" && ser == transcript.Msgpack {
					dir, ok := transcript.PythonMsgpack(b, bin)
					if !ok {
						transcript.Missing(b, "%s cannot import the msgpack module", bin)
					}
					if dir != "" {
						env = adapters.Env{"PYTHONPATH=" + dir}.Apply(env)
					}
				}
				script, _ := filepath.Abs(filepath.Join("..", "adapters", l.name, "components", l.script))
				benchmarkHost(b, []string{bin, script}, env, multilang.Serializer(ser))
			})
		}
	}
	// The test binary's passthrough child costs little, so the host's
	// own cost per tuple weighs most here.
	b.Run("go-json", func(b *testing.B) {
		benchmarkHost(b, []string{os.Args[0]}, []string{childModeEnv + "=passthrough"}, multilang.JSON)
	})
}

func benchmarkHost(b *testing.B, argv, env []string, ser multilang.Serializer) {
	topo := testTopology()
	topo.Config = topology.Defaults().Merge(topology.Config{topology.KeyMultilangSerializer: string(ser)})
	logs := &logRecorder{}
	ctx := &topology.TaskContext{
		Topology: topo, Tasks: topology.TopologyTasks(topo, 1), TaskID: splitTask, ComponentID: "split",
		Config: topo.Config, ResourcesDir: b.TempDir(), PidDir: b.TempDir(), Logger: discardLogger(logs),
	}
	out := &countingCollector{ids: []int{2}}
	bolt := NewBolt(&topology.ShellSpec{Command: argv}, Options{Env: env})
	if err := bolt.Prepare(ctx, out); err != nil {
		b.Fatal(err)
	}
	defer bolt.Cleanup()
	tup := sentence("snow white and the seven dwarfs")
	// Warm up: the interpreter starts and compiles.
	warm := out.expect(1000)
	for range 1000 {
		bolt.Execute(tup)
	}
	<-warm
	done := out.expect(int64(b.N))
	b.ResetTimer()
	cpu := transcript.StartCPUMeter(bolt.Health().Pid)
	for range b.N {
		bolt.Execute(tup)
	}
	<-done
	b.StopTimer()
	cpu.Report(b)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tuples/s")
}
