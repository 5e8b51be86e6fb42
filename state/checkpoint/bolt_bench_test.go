package checkpoint_test

import (
	"testing"

	"github.com/squallstream/squall/state"
	"github.com/squallstream/squall/state/checkpoint"
	"github.com/squallstream/squall/state/memstore"
)

// benchHost is a Host that does nothing: the benchmark resolves tuples
// itself.
type benchHost struct{}

func (benchHost) Execute(int)                     {}
func (benchHost) Ack(int)                         {}
func (benchHost) Fail(int)                        {}
func (benchHost) Forward(checkpoint.Barrier, int) {}
func (benchHost) Before(checkpoint.Action, int64) {}
func (benchHost) RolledBack(int64)                {}
func (benchHost) ReportError(err error)           { panic(err) }

// BenchmarkHeldWhilePrepareWaits is an exactly-once task's checkpoint:
// 10000 tuples in flight when PREPARE comes, 10000 more arriving (held)
// while it waits for their acks, then all of them acked, one op per tuple
// resolved. The held tuples were copied at every ack (quadratic).
func BenchmarkHeldWhilePrepareWaits(b *testing.B) {
	const n = 10000
	st, err := state.Open(memstore.New().Backend("bench"))
	if err != nil {
		b.Fatal(err)
	}
	bolt, err := checkpoint.NewBolt[int](checkpoint.BoltConfig{Inputs: []int{1}, State: st, ExactlyOnce: true}, benchHost{})
	if err != nil {
		b.Fatal(err)
	}
	seq := uint64(0)
	barrier := func(a checkpoint.Action, txid int64) {
		seq++
		bolt.Barrier(0, 1, checkpoint.Barrier{Txid: txid, Action: a, Seq: seq})
	}
	barrier(checkpoint.InitState, 0)
	id := 0
	meta := func() checkpoint.Meta {
		id++
		var m checkpoint.Meta
		m.Source, m.HasID = 2, true
		m.ID[0], m.ID[1], m.ID[2] = byte(id), byte(id>>8), byte(id>>16)
		m.ID[3] = byte(id >> 24)
		return m
	}
	for txid := int64(1); b.Loop(); txid++ { // b.Loop resets the timer
		for i := range n {
			bolt.Tuple(i, meta())
		}
		barrier(checkpoint.Prepare, txid)
		for i := range n {
			bolt.Tuple(n+i, meta())
		}
		for i := range 2 * n {
			bolt.Acked(i) // the last n: the held ones, run once PREPARE was done
		}
		barrier(checkpoint.Commit, txid)
		if s := bolt.Stats(); s.Buffered != 0 || bolt.InFlight() != 0 {
			b.Fatalf("after the checkpoint: %+v, %d in flight", s, bolt.InFlight())
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*2*n), "ns/tuple")
}
