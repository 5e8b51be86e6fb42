package worker

// The checkpoint spout's barriers take a lane of their own into a bolt
// executor, taken ahead of its inbox.
//
// A barrier in the inbox waits behind every tuple queued ahead of it (up
// to topology.executor.receive.buffer.size: seconds for a Python bolt on
// a busy machine), twice per checkpoint (PREPARE, then COMMIT), and a
// stateful bolt holds its acks until the COMMIT: the checkpoint cycle,
// measured at 2 to 6 s for a 1 s interval, bounded the topology's rate to
// max.spout.pending per cycle. Nothing orders the checkpoint spout's
// barriers with other tasks' tuples (a spout's tuple belongs to whichever
// transaction its first bolt puts it in, docs/windowing-and-state.md), so
// they may overtake them. Barriers a bolt forwards stay on the data path:
// they must stay in order with that bolt's tuples.
//
// Only local deliveries take the lane; a barrier from another worker's
// checkpoint spout comes through the inbox, as before.

// barrierLaneSize is a lane's capacity: the checkpoint spout has one
// barrier in flight (a stale one may still be queued), and pushes to the
// lane never wait.
const barrierLaneSize = 16

// addBarrierLane gives bolt task of x a barrier lane, in a stateful
// topology, sharing x's inbox's wake-up so that the executor's wait sees
// both.
func (w *Worker) addBarrierLane(x *boltExecutor, task int) {
	if !w.topo.Stateful() {
		return
	}
	if x.barriers == nil {
		x.barriers = newQueueReady(barrierLaneSize, x.inbox.ready)
	}
	if w.barrierLanes == nil {
		w.barrierLanes = make([]*queue, len(w.local))
	}
	w.barrierLanes[task] = x.barriers
}

// barrierLane delivers m, a tuple of the checkpoint spout, through task's
// barrier lane if it has one, and reports whether it did.
func (w *Worker) barrierLane(task int, m *message) bool {
	if m.kind != kindTuple || task <= 0 || task >= len(w.barrierLanes) {
		return false
	}
	q := w.barrierLanes[task]
	return q != nil && q.pushNow(m)
}

// lanes are the queues the executor waits on.
func (x *boltExecutor) lanes() []*queue {
	if x.barriers == nil {
		return []*queue{x.inbox}
	}
	return []*queue{x.inbox, x.barriers}
}

// runBarriers executes the barriers waiting in the lane.
func (x *boltExecutor) runBarriers() {
	if x.barriers == nil || x.barriers.size.Load() == 0 {
		return
	}
	for _, m := range x.barriers.take(nil) {
		x.execute(x.byID[m.task], m.tuple)
	}
}
