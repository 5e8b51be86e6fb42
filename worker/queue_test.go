package worker

import (
	"runtime"
	"testing"
	"testing/synctest"
	"time"
)

func fill(q *queue, n int) {
	ms := make([]message, n)
	for i := range ms {
		ms[i] = message{kind: kindTuple, task: 1}
	}
	bp := waitStrategy{}
	q.pushBatch(ms, &bp)
}

// TestQueueBuffersShrinkAfterABurst: after a burst fills a queue to its
// limit, its buffers go back to the size of what it carries once the
// burst is out of its recent batches (two epochs).
func TestQueueBuffersShrinkAfterABurst(t *testing.T) {
	const limit = 4096
	q := newQueue(limit)
	fill(q, limit)
	buf := q.take(nil)
	for range 4 * epochLimits * limit / 10 {
		fill(q, 10)
		buf = q.take(buf)
	}
	q.mu.Lock()
	items := cap(q.items)
	q.mu.Unlock()
	if cap(buf) > keepBuffer || items > keepBuffer {
		t.Errorf("after a burst of %d and batches of 10: buffers of %d and %d messages, want at most %d", limit, cap(buf), items, keepBuffer)
	}
}

// TestQueueBuffersKeptWhileNeeded: a queue whose batches keep their size
// keeps its buffers: it does not regrow them over and over.
func TestQueueBuffersKeptWhileNeeded(t *testing.T) {
	q := newQueue(32768)
	ms := make([]message, 3000)
	bp := waitStrategy{}
	var buf []message
	i := 0
	round := func() {
		q.pushBatch(ms[:2000+i%1000], &bp)
		buf = q.take(buf)
		i++
	}
	for range 10 {
		round() // the buffers grow to the batches' size
	}
	if n := testing.AllocsPerRun(20*epochLimits, round); n > 0.1 {
		t.Errorf("%.2f allocations per batch of 2000-3000 messages, want none", n)
	}
}

// TestIdleConsumerLetsBuffersGo: a consumer parked with big buffers lets
// them go once it has been idle for a while, and not before.
func TestIdleConsumerLetsBuffersGo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newQueue(32768)
		fill(q, 20000)
		buf := q.take(nil)
		fill(q, 20000)
		buf = q.take(buf) // now both the queue and the consumer hold big buffers
		stop := make(chan struct{})
		p := parker{bufs: []*[]message{&buf}}
		s := waitStrategy{spin: 1, yield: 10}
		done := make(chan bool)
		go func() { done <- p.await(&s, stop, q) }()
		time.Sleep(idleRelease - time.Second)
		synctest.Wait()
		q.mu.Lock()
		early := cap(q.items)
		q.mu.Unlock()
		if early == 0 {
			t.Fatalf("the queue's buffer went after %v idle", idleRelease-time.Second)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		q.mu.Lock()
		late := cap(q.items)
		q.mu.Unlock()
		if late != 0 {
			t.Errorf("after %v idle the queue keeps a buffer of %d messages", idleRelease+time.Second, late)
		}
		fill(q, 1)
		if !<-done {
			t.Fatal("await returned false")
		}
		if cap(buf) != 0 {
			t.Errorf("after %v idle the consumer keeps a buffer of %d messages", idleRelease+time.Second, cap(buf))
		}
		close(stop)
	})
}

// TestProducerYieldsToBackloggedConsumer: on one core, a producer that
// finds more than a batch waiting lets the consumer run before it adds
// more, so the queue holds about the soft bound, not its limit. (A chain
// of 100 bolts held 1 GiB when every producer filled its queue of 32768
// before the consumer ran.) A yield is a hint, not a hand-off: now and
// then the scheduler runs the producer again first (every 61st schedule
// serves the global run queue, where the yield put it; the race detector
// and GC workers shuffle the order more), so the bound allowed is twice
// the soft one, still a sixteenth of the limit.
func TestProducerYieldsToBackloggedConsumer(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	const limit, batch, total = 32768, 64, 200_000
	q := newQueue(limit)
	stop := make(chan struct{})
	peak := make(chan int)
	go func() {
		p := parker{}
		s := waitStrategy{spin: 1, yield: 10}
		most := 0
		var buf []message
		for p.await(&s, stop, q) {
			buf = q.take(buf)
			most = max(most, len(buf))
		}
		peak <- most
	}()
	ms := make([]message, batch)
	bp := waitStrategy{spin: 1, yield: 10}
	for range total / batch {
		q.pushBatch(ms, &bp)
	}
	close(stop)
	if most := <-peak; most > 2*int(q.soft) {
		t.Errorf("the consumer found up to %d messages waiting, want at most %d (twice the soft bound; the limit is %d)", most, 2*q.soft, limit)
	}
}
