// Package worker runs the executors of a topology: goroutines that run
// spout and bolt tasks (Go components in-process, shell components through
// package shell), route every emitted tuple to its target tasks by stream
// grouping, track tuple trees with the __acker tasks, time out and replay
// spout tuples, send tick tuples, and keep metrics.
//
// Tuples move between executors through bounded queues: producers append
// under a lock, the consumer takes everything at once and works through it
// as a batch. A full queue blocks its producers, which is how backpressure
// travels upstream to the spouts; messages to spouts (acks and fails) and
// tick tuples are never blocked, so the acker can always make progress and
// a directed topology cannot deadlock.
package worker
