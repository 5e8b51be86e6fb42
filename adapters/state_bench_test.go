package adapters

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/transcript"
	"github.com/squallstream/squall/state"
	"github.com/squallstream/squall/state/memstore"
	"github.com/squallstream/squall/topology"
)

// BenchmarkStatefulCountHost compares, behind squall's real shell host, the
// Python statecount (a StatefulBolt over a memstore state.State; 1000
// words, so almost every read is a cache hit) with the same count in a
// dict (testdata/dictcount.py, no state): the adapter's and the host's
// cost of state, without checkpoints. Run with -benchtime=20000x or so.
func BenchmarkStatefulCountHost(b *testing.B) {
	base := installAdapters(b)
	l := languages[0] // python
	interpreter := transcript.Interpreter(b, l.interpreter)
	dict, err := filepath.Abs(filepath.Join("testdata", "dictcount.py"))
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name     string
		script   string
		stateful bool
	}{
		{"dict", dict, false},
		{"state", l.component(b, "statecount"), true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			sb := startStateBolt(b, []string{interpreter, bc.script}, base, transcript.JSON, bc.stateful)
			if bc.stateful {
				s, err := state.Open(memstore.New().Backend("statetest/counter-1"))
				if err != nil {
					b.Fatal(err)
				}
				sb.bolt.OpenState(&countingState{s: s})
			}
			sb.run(b, "count", "warm") // the child is up
			deadline := time.Now().Add(scaled(5 * time.Minute))
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
		})
	}
}
