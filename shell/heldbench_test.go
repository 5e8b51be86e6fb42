package shell

import (
	"testing"
	"time"

	"github.com/squallstream/squall/internal/transcript"
)

// BenchmarkHeldCycle measures a bolt's bookkeeping of the tuples its
// child holds, as the host does it for every tuple of a passthrough child:
// admit it, look it up as an emit's anchor, release it on its ack, with
// taskIDsWindow*5 tuples held. It reports the process's CPU time per
// tuple (cpu-ns/op), which load from other processes moves less than
// ns/op.
func BenchmarkHeldCycle(b *testing.B) {
	c := &child{}
	bolt := &Bolt{held: newHeldSet(10_000, 30*time.Second), cur: c}
	t := tracked("w")
	now := time.Now()
	const inFlight = 5 * taskIDsWindow
	ids := make([]string, inFlight)
	for i := range ids {
		ids[i] = bolt.admit(t, now)
	}
	b.ResetTimer()
	cpu := transcript.SelfCPUTime()
	for i := range b.N {
		slot := i % inFlight
		if _, ok := bolt.held.get(ids[slot]); !ok {
			b.Fatal("held tuple not found")
		}
		if _, ok, _ := bolt.release(c, ids[slot]); !ok {
			b.Fatal("held tuple not released")
		}
		ids[slot] = bolt.admit(t, now)
	}
	b.ReportMetric(float64(transcript.SelfCPUTime()-cpu)/float64(b.N), "cpu-ns/op")
}
