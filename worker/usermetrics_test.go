package worker

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/squallstream/squall/topology"
)

// directSpout emits n tuples on a direct stream, every other one to a
// task that does not subscribe to it.
type directSpout struct {
	out       topology.SpoutCollector
	good, bad int
	n, sent   int
}

func (s *directSpout) DeclareOutputs() []topology.Stream {
	return []topology.Stream{{ID: "d", Fields: []string{"x"}, Direct: true}, {ID: "e", Fields: []string{"x"}}}
}
func (s *directSpout) Open(ctx *topology.TaskContext, out topology.SpoutCollector) error {
	s.out, s.good, s.bad = out, ctx.Tasks.Tasks("sink")[0], ctx.Tasks.Tasks("other")[0]
	return nil
}
func (s *directSpout) Next() {
	if s.sent == s.n {
		return
	}
	task := s.good
	if s.sent%2 == 1 {
		task = s.bad
	}
	s.out.EmitDirect(task, "d", []any{s.sent}, nil)
	s.sent++
}
func (s *directSpout) Ack(any)  {}
func (s *directSpout) Fail(any) {}
func (s *directSpout) Close()   {}

// metricBolt counts what it executes and records it as a metric through
// its collector, as a shell child's metrics command is.
type metricBolt struct {
	out topology.BoltCollector
	n   *atomic.Int64
}

func (b *metricBolt) Prepare(_ *topology.TaskContext, out topology.BoltCollector) error {
	b.out = out
	return nil
}
func (b *metricBolt) Execute(t topology.Tuple) {
	b.n.Add(1)
	b.out.(interface{ RecordMetric(string, any) }).RecordMetric("executed", 1)
	b.out.Ack(t)
}
func (b *metricBolt) Cleanup() {}

// TestDirectEmitToNonSubscriberIsDropped checks that, as in Storm, a
// direct emit to a task that does not subscribe to the stream is dropped
// and counted, not an error; and that metrics recorded through a
// collector are kept per task.
func TestDirectEmitToNonSubscriberIsDropped(t *testing.T) {
	const n = 100
	var sunk, other atomic.Int64
	b := topology.NewBuilder("direct")
	b.SetSpout("spout", topology.SpoutFunc(func() (topology.Spout, error) { return &directSpout{n: n}, nil }), 1)
	b.SetBolt("sink", topology.BoltFunc(func() (topology.Bolt, error) { return &metricBolt{n: &sunk}, nil }), 1).
		DirectGrouping("spout", "d")
	// other subscribes to another stream of the spout, never emitted on.
	b.SetBolt("other", topology.BoltFunc(func() (topology.Bolt, error) { return &metricBolt{n: &other}, nil }), 1).
		ShuffleGrouping("spout", "e")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	w := runWorker(t, Config{Topology: topo})
	waitUntil(t, 60*time.Second, "the emits to the subscriber", func() bool { return sunk.Load() == n/2 })
	dropped := func() any {
		for _, m := range w.UserMetrics() {
			if m.Component == "spout" && m.Name == MetricDroppedDirectEmits {
				return m.Value
			}
		}
		return nil
	}
	waitUntil(t, 60*time.Second, "the dropped emits counted", func() bool { return dropped() == int64(n/2) })
	if errs := w.Errors(); len(errs) != 0 {
		t.Errorf("errors %v; a dropped direct emit is none", errs)
	}
	if other.Load() != 0 {
		t.Errorf("the task that does not subscribe executed %d tuples", other.Load())
	}
	var executed any
	for _, m := range w.UserMetrics() {
		if m.Component == "sink" && m.Name == "executed" && m.Task == w.Tasks().Tasks("sink")[0] {
			executed = m.Value
		}
	}
	if executed != int64(n/2) {
		t.Errorf("metric executed of sink = %v, want %d; all: %+v", executed, n/2, w.UserMetrics())
	}
}
