package adapters

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/procstat"
	"github.com/squallstream/squall/internal/testenv"
	"github.com/squallstream/squall/internal/transcript"
	"github.com/squallstream/squall/state"
	"github.com/squallstream/squall/state/memstore"
	"github.com/squallstream/squall/topology"
)

// BenchmarkStatefulCountHost compares, behind squall's real shell host, the
// Python statecount (a StatefulBolt over a memstore state.State; 1000
// words, so almost every read is a cache hit) with the same count in a
// dict (testdata/dictcount.py, no state): the adapter's and the host's
// cost of state, without checkpoints. state-ruby and state-node are the
// Ruby and Node statecounts. Besides tuples/s it reports the CPU time
// per tuple of the host (this process) and of the child. Run with
// -benchtime=20000x or so.
func BenchmarkStatefulCountHost(b *testing.B) {
	base := installAdapters(b)
	dict, err := filepath.Abs(filepath.Join("testdata", "dictcount.py"))
	if err != nil {
		b.Fatal(err)
	}
	python, ruby, node := languages[0], languages[1], languages[2]
	for _, bc := range []struct {
		name     string
		lang     language
		script   string
		stateful bool
	}{
		{"dict", python, dict, false},
		{"state", python, python.component(b, "statecount"), true},
		{"state-ruby", ruby, ruby.component(b, "statecount"), true},
		{"state-node", node, node.component(b, "statecount"), true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			interpreter := transcript.Interpreter(b, bc.lang.interpreter)
			sb := startStateBolt(b, []string{interpreter, bc.script}, base, transcript.JSON, bc.stateful)
			if bc.stateful {
				s, err := state.Open(memstore.New().Backend("statetest/counter-1"))
				if err != nil {
					b.Fatal(err)
				}
				sb.bolt.OpenState(&countingState{s: s})
			}
			sb.run(b, "count", "warm") // the child is up
			deadline := time.Now().Add(testenv.Patience(5 * time.Minute))
			// wait waits until at most n tuples are in flight.
			wait := func(n int) {
				for {
					acked, failed := sb.rec.done()
					if 1+b.N-(acked+failed) <= n {
						return
					}
					if time.Now().After(deadline) {
						b.Fatalf("%s; health %+v", sb.rec, sb.bolt.Health())
					}
					time.Sleep(100 * time.Microsecond)
				}
			}
			host, child := cpuOf(b, os.Getpid()), cpuOf(b, sb.bolt.Health().Pid)
			b.ResetTimer()
			// As a spout's topology.max.spout.pending would, keep
			// benchInFlight tuples in flight.
			const benchInFlight = 500
			for i := range b.N {
				if i >= benchInFlight && i%50 == 0 {
					acked, failed := sb.rec.done()
					for i+1-(acked+failed) >= benchInFlight {
						time.Sleep(100 * time.Microsecond)
						acked, failed = sb.rec.done()
					}
				}
				sb.bolt.Execute(topology.NewTuple(sb.src, []any{"count", fmt.Sprintf("w%d", i%1000)}, "tracked by the benchmark"))
			}
			wait(0)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tuples/s")
			b.ReportMetric(float64(cpuOf(b, os.Getpid())-host)/float64(b.N), "host-cpu-ns/op")
			b.ReportMetric(float64(cpuOf(b, sb.bolt.Health().Pid)-child)/float64(b.N), "child-cpu-ns/op")
		})
	}
}

// cpuOf returns the CPU time process pid used so far.
func cpuOf(b *testing.B, pid int) time.Duration {
	b.Helper()
	s, err := procstat.Read(pid)
	if err != nil {
		b.Fatalf("CPU time of pid %d: %v", pid, err)
	}
	return s.CPU
}
