package worker

import (
	"github.com/squallstream/squall/metrics"
)

// Flow metrics: how long tasks were held back, and what waits for room in
// full queues. They are recorded where a task waits, never on the path of
// a tuple that goes through: backpressure-time when a producer finds a
// queue full (queue.waitSpaceLocked) or a spout's emits are refused until
// they go (emitter.pushOut and flush), max-spout-pending-time when a spout
// task reaches topology.max.spout.pending and when it drops below,
// receive-queue-overflow (queue.heldBack) as messages start and stop
// waiting.

// waited adds d nanoseconds of waiting for room to the producer's
// backpressure time.
func (s *waitStrategy) waited(d int64) {
	if s.held != nil && d > 0 {
		s.held.Add(d)
	}
}

// noteHeld accounts, after a spout's flush, for the messages its queues
// refused: in each queue's heldBack, and the time they waited in the
// task's backpressure time once they went. mu is held.
func (e *emitter) noteHeld(stalled bool) {
	for i := range e.out {
		b := &e.out[i]
		if n := len(b.msgs); n != b.held {
			b.q.heldBack.Add(int64(n - b.held))
			b.held = n
		}
	}
	if !stalled && e.stallStart != 0 {
		e.backpressure.waited(monoNow() - e.stallStart)
		e.stallStart = 0
	}
}

// atMaxPending notes, at now, that the task is at
// topology.max.spout.pending; executor goroutine only.
func (t *spoutTask) atMaxPending(now int64) {
	if t.fullSince == 0 {
		t.fullSince = max(now, 1)
	}
}

// belowMaxPending adds the time the task was at topology.max.spout.pending
// to its max-spout-pending-time; executor goroutine only.
func (t *spoutTask) belowMaxPending(now int64) {
	if d := now - t.fullSince; d > 0 {
		t.out.m.Counter(metrics.MaxSpoutPendingTime, "").Add(d)
	}
	t.fullSince = 0
}

// flowMetrics registers the tasks' backpressure time and the queues'
// overflow, before anything runs.
func (w *Worker) flowMetrics() {
	for _, x := range w.spouts {
		for _, t := range x.tasks {
			t.out.backpressure.held = t.out.m.Counter(metrics.BackpressureTime, "")
			if x.maxPending > 0 {
				t.out.m.Counter(metrics.MaxSpoutPendingTime, "")
			}
		}
	}
	for _, x := range w.bolts {
		for _, t := range x.tasks {
			t.out.backpressure.held = t.out.m.Counter(metrics.BackpressureTime, "")
		}
	}
}
