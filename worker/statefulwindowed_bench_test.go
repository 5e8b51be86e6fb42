package worker

import (
	"math"
	"testing"

	"github.com/squallstream/squall/internal/transcript"
	"github.com/squallstream/squall/state"
	"github.com/squallstream/squall/state/memstore"
)

// BenchmarkWindowMarksWhileFailed measures what a stateful windowed bolt
// recovering by message id does each time a window is done while the
// tuples of an earlier failed window (5000) wait for their replay: raise
// the stream's evaluated mark and write the marks, which stay below the
// lowest failed id. It reports the process's CPU time per window done
// (cpu-ns/op).
func BenchmarkWindowMarksWhileFailed(b *testing.B) {
	st, err := state.Open(memstore.New().Backend("marks"))
	if err != nil {
		b.Fatal(err)
	}
	w := &windowedBolt{rec: &recovery{state: func() *state.State { return st }}}
	m := &streamMarks{key: "k", expired: noMark, evaluated: noMark, floor: math.MaxInt64}
	const failed = 5000
	w.mu.Lock()
	defer w.mu.Unlock()
	for id := range int64(failed) {
		m.failedTuple(id)
	}
	update := []markUpdate{{m, 0}}
	b.ResetTimer()
	cpu := transcript.SelfCPUTime()
	for i := range b.N {
		update[0].id = failed + int64(i)
		w.raiseMarks(update, nil, nil)
	}
	b.ReportMetric(float64(transcript.SelfCPUTime()-cpu)/float64(b.N), "cpu-ns/op")
}
