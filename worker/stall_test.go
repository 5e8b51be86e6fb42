package worker

import (
	"context"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/squallstream/squall/auth"
	"github.com/squallstream/squall/internal/testenv"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/topology/builtin"
)

// bigSpout emits reliable tuples of size bytes as fast as it may (limit
// of them, if set), and counts acks and fails.
type bigSpout struct {
	out           topology.SpoutCollector
	values        []any
	n, limit      int
	size          int
	acked, failed *atomic.Int64
}

func (s *bigSpout) DeclareOutputs() []topology.Stream {
	return []topology.Stream{{ID: topology.DefaultStream, Fields: []string{"payload"}}}
}
func (s *bigSpout) Open(_ *topology.TaskContext, out topology.SpoutCollector) error {
	s.out, s.values = out, []any{strings.Repeat("x", s.size)}
	return nil
}
func (s *bigSpout) Next() {
	if s.limit > 0 && s.n >= s.limit {
		return
	}
	s.n++
	s.out.Emit(topology.DefaultStream, s.values, s.n)
}
func (s *bigSpout) Ack(any)  { s.acked.Add(1) }
func (s *bigSpout) Fail(any) { s.failed.Add(1) }
func (s *bigSpout) Close()   {}

// relayBolt re-emits its input anchored, then acks it, after a delay.
type relayBolt struct {
	out   topology.BoltCollector
	delay time.Duration
}

func (b *relayBolt) DeclareOutputs() []topology.Stream {
	return []topology.Stream{{ID: topology.DefaultStream, Fields: []string{"payload"}}}
}
func (b *relayBolt) Prepare(_ *topology.TaskContext, out topology.BoltCollector) error {
	b.out = out
	return nil
}
func (b *relayBolt) Execute(t topology.Tuple) {
	if b.delay > 0 {
		time.Sleep(b.delay)
	}
	b.out.Emit(topology.DefaultStream, []topology.Tuple{t}, t.Values())
	b.out.Ack(t)
}
func (b *relayBolt) Cleanup() {}

// TestCrossWorkerNoDeadlock is issue 9's two-worker topology: the spout
// and a slow acking bolt Y in worker 0, a relay bolt X and the acker in
// worker 1, spout -> X -> Y, 2 KB tuples, topology.max.spout.pending
// unset, small queues. Acker traffic crosses the workers both ways beside
// the data that fills every queue; the topology must keep acking, long
// after every queue and connection filled.
func TestCrossWorkerNoDeadlock(t *testing.T) {
	var acked, failed atomic.Int64
	b := topology.NewBuilder("crossing")
	b.AddConfig(topology.KeyExecutorReceiveBufferSize, 64)
	b.AddConfig(topology.KeyTransferBufferSize, 8)
	b.AddConfig(topology.KeyMessageTimeoutSecs, 300) // a stall must show as a stall, not as replays
	b.SetSpout("spout", topology.SpoutFunc(func() (topology.Spout, error) {
		return &bigSpout{size: 2048, acked: &acked, failed: &failed}, nil
	}), 1)
	b.SetBolt("x", topology.BoltFunc(func() (topology.Bolt, error) { return &relayBolt{}, nil }), 1).ShuffleGrouping("spout")
	b.SetBolt("y", topology.BoltFunc(func() (topology.Bolt, error) { return &slowBolt{delay: 100 * time.Microsecond}, nil }), 1).ShuffleGrouping("x")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	newTestCluster(t, topo, 2, map[string]int{"spout": 0, "y": 0, "x": 1, topology.AckerComponent: 1})
	// Every queue and the connections between the workers hold a few
	// thousand tuples at most: 5000 acks mean the flow went on well past
	// the point where they were all full.
	const want = 5000
	waitUntilProgress(t, 60*time.Second, "acks at the spout", want, acked.Load)
	if n := failed.Load(); n != 0 {
		t.Errorf("%d tuples failed", n)
	}
}

// waitUntilProgress waits until count() reaches want. A stall is what it
// looks for: it fails once count() has not moved for half of timeout,
// printing where it stopped. Slow progress on a busy machine is not a
// stall, so the whole wait may take five times timeout.
func waitUntilProgress(t *testing.T, timeout time.Duration, what string, want int64, count func() int64) {
	t.Helper()
	timeout = testenv.Patience(timeout)
	deadline := time.Now().Add(5 * timeout)
	last, lastMove := count(), time.Now()
	for n := last; n < want; n = count() {
		now := time.Now()
		if n != last {
			last, lastMove = n, now
		}
		if now.After(deadline) || now.Sub(lastMove) > timeout/2 {
			// A stall seen once in CI must be diagnosable from its log.
			t.Logf("goroutines:\n%s", goroutines())
			t.Fatalf("%s: %d of %d after %v, none for the last %v", what, n, want, 5*timeout-deadline.Sub(now), now.Sub(lastMove).Round(time.Millisecond))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// goroutines returns the stacks of every goroutine of the process.
func goroutines() []byte {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return buf[:n]
		}
		buf = make([]byte, 2*len(buf))
	}
}

// stuckBolt acks its first free tuples, then blocks on the next until the
// test ends.
type stuckBolt struct {
	out      topology.BoltCollector
	free     int
	n        int
	released chan struct{}
}

func (b *stuckBolt) Prepare(_ *topology.TaskContext, out topology.BoltCollector) error {
	b.out = out
	return nil
}
func (b *stuckBolt) Execute(t topology.Tuple) {
	if b.n++; b.n > b.free {
		<-b.released
		return
	}
	b.out.Ack(t)
}
func (b *stuckBolt) Cleanup() {}

// TestSpoutBlockedDownstreamKeepsAcking: a spout whose only bolt stopped
// executing, its queue full, still gets the acks of the tuples the bolt
// acked before, and the timeouts of the others, while it cannot emit.
// (The acks of the bolt's last flushEvery tuples wait in its collector
// while it is blocked in Execute.)
func TestSpoutBlockedDownstreamKeepsAcking(t *testing.T) {
	var acked, failed atomic.Int64
	released := make(chan struct{})
	b := topology.NewBuilder("blocked")
	b.AddConfig(topology.KeyExecutorReceiveBufferSize, 16)
	b.AddConfig(topology.KeyMessageTimeoutSecs, 1)
	b.SetSpout("spout", topology.SpoutFunc(func() (topology.Spout, error) {
		return &bigSpout{size: 10, acked: &acked, failed: &failed}, nil
	}), 1)
	b.SetBolt("stuck", topology.BoltFunc(func() (topology.Bolt, error) {
		return &stuckBolt{free: 100, released: released}, nil
	}), 1).ShuffleGrouping("spout")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	w := runWorker(t, Config{Topology: topo})
	t.Cleanup(func() { close(released) }) // runs before runWorker's stop
	waitUntilProgress(t, 30*time.Second, "acks of the tuples the bolt acked", 100-flushEvery, acked.Load)
	waitUntilProgress(t, 30*time.Second, "timeouts of the tuples stuck in the queue", 16, failed.Load)
	if w.TimedOut() < 16 {
		t.Errorf("%d tuples timed out, want every one in the full queue", w.TimedOut())
	}
}

// TestPeerThatDoesNotReadIsCutOff: a worker whose peer accepts the
// connection and then reads nothing gives up on the write after its
// deadline, drops what was in flight and connects again, instead of
// waiting on the socket for good.
func TestPeerThatDoesNotReadIsCutOff(t *testing.T) {
	deaf, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Int64
	conns := make(chan net.Conn, 1024)
	go func() {
		for {
			c, err := deaf.Accept()
			if err != nil {
				close(conns)
				return
			}
			// It proves it holds the secret, then reads nothing.
			if _, err := auth.AcceptHandshake(c, testSecret, "deaf-1-1", time.Now().Add(10*time.Second)); err != nil {
				c.Close()
				continue
			}
			accepted.Add(1)
			conns <- c // held open, never read
		}
	}()
	t.Cleanup(func() {
		deaf.Close()
		for c := range conns {
			c.Close()
		}
	})
	var acked, failed atomic.Int64
	b := topology.NewBuilder("deaf")
	b.AddConfig(topology.KeyAckerExecutors, 0)
	b.SetSpout("spout", topology.SpoutFunc(func() (topology.Spout, error) {
		return &bigSpout{size: 2048, acked: &acked, failed: &failed}, nil
	}), 1)
	b.SetBolt("far", builtin.Null(), 1).ShuffleGrouping("spout")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	tasks := topology.TopologyTasks(topo, 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w, err := New(Config{Topology: topo, StormID: "deaf-1-1", Logger: testLogger(t), Listener: l, PeerSecret: testSecret,
		Executors:   []topology.Executor{{Component: "spout", Start: tasks.Tasks("spout")[0], End: tasks.Tasks("spout")[0]}},
		RemoteTasks: map[int]string{tasks.Tasks("far")[0]: deaf.Addr().String()}})
	if err != nil {
		t.Fatal(err)
	}
	w.writeTimeout = 300 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	var p *peer
	for _, p = range w.peers {
	}
	waitUntilProgress(t, 30*time.Second, "connections to the peer that does not read", 2, accepted.Load)
	if p.dropped.Load() == 0 {
		t.Errorf("the writer reconnected without counting what it lost")
	}
}

// keySpout emits unreliable 512-byte tuples as fast as it may.
type keySpout struct {
	out    topology.SpoutCollector
	values []any
}

func (s *keySpout) DeclareOutputs() []topology.Stream {
	return []topology.Stream{{ID: topology.DefaultStream, Fields: []string{"v"}}}
}
func (s *keySpout) Open(_ *topology.TaskContext, out topology.SpoutCollector) error {
	s.out, s.values = out, []any{strings.Repeat("y", 512)}
	return nil
}
func (s *keySpout) Next()    { s.out.Emit(topology.DefaultStream, s.values, nil) }
func (s *keySpout) Ack(any)  {}
func (s *keySpout) Fail(any) {}
func (s *keySpout) Close()   {}

// countBolt counts what it executes, or, if released is set, blocks on
// its first tuple until released is closed.
type countBolt struct {
	executed *atomic.Int64
	released chan struct{}
}

func (b *countBolt) Prepare(*topology.TaskContext, topology.BoltCollector) error { return nil }
func (b *countBolt) Execute(topology.Tuple) {
	if b.released != nil {
		<-b.released
		return
	}
	b.executed.Add(1)
}
func (b *countBolt) Cleanup() {}

// TestCongestedTaskHoldsOnlyItsOwnTuples: two spouts in one worker feed
// two bolts in the other over the same connection; one bolt stops
// executing and its queue fills. The other still gets its tuples, far
// more than every queue and the connection between them hold: the read
// loop does not wait for the full queue, and the sender holds back only
// the tuples for the congested task.
func TestCongestedTaskHoldsOnlyItsOwnTuples(t *testing.T) {
	var executed atomic.Int64
	released := make(chan struct{})
	b := topology.NewBuilder("halfstuck")
	b.AddConfig(topology.KeyExecutorReceiveBufferSize, 64)
	b.AddConfig(topology.KeyTransferBufferSize, 8)
	b.SetSpout("to-stuck", topology.SpoutFunc(func() (topology.Spout, error) { return &keySpout{}, nil }), 1)
	b.SetSpout("to-free", topology.SpoutFunc(func() (topology.Spout, error) { return &keySpout{}, nil }), 1)
	b.SetBolt("stuck", topology.BoltFunc(func() (topology.Bolt, error) {
		return &countBolt{released: released}, nil
	}), 1).ShuffleGrouping("to-stuck")
	b.SetBolt("free", topology.BoltFunc(func() (topology.Bolt, error) {
		return &countBolt{executed: &executed}, nil
	}), 1).ShuffleGrouping("to-free")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	newTestCluster(t, topo, 2, map[string]int{"to-stuck": 0, "to-free": 0, "stuck": 1, "free": 1, topology.AckerComponent: 1})
	t.Cleanup(func() { close(released) }) // runs before the cluster stops
	waitUntilProgress(t, 60*time.Second, "tuples executed by the bolt that is not stuck", 20000, executed.Load)
}
