// Package worker runs the executors of a topology: goroutines that run
// spout and bolt tasks (Go components in-process, shell components through
// package shell), route every emitted tuple to its target tasks by stream
// grouping, track tuple trees with the __acker tasks, time out and replay
// spout tuples, send tick tuples, and keep metrics.
//
// Tuples move between executors through bounded queues: producers append
// under a lock, the consumer takes everything at once and works through it
// as a batch. A full queue blocks a bolt that emits to it, which is how
// backpressure travels upstream; a spout never blocks: what its targets
// have no room for waits in its collector, and it is not asked for more
// until that went, while it goes on taking acks, fails and timeouts.
// Messages to spouts (completions and failures) and tick tuples are never
// blocked, so the acker can always make progress.
//
// Between workers, control (acker messages, notes for spouts) travels on
// its own lane, written before tuples; a worker's read loop never blocks:
// tuples for a full queue wait in a backlog, and the sender is told to
// hold back tuples for that task only (see transfer.go). So a topology
// spread over workers cannot deadlock on its acks, whatever
// topology.max.spout.pending says.
package worker
