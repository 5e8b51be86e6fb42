// Package checkpoint is the pure core of Storm's checkpoint protocol, which
// makes the state of stateful bolts consistent across a topology: deterministic
// types driven by events, with time passed in, and no goroutines or I/O of
// their own (the state they drive is a *state.State, whose backend does the
// I/O).
//
//   - Spout is Storm's CheckpointSpout: every topology.state.checkpoint.interval.ms
//     it sends a barrier down the $checkpoint stream, PREPARE then COMMIT, and
//     after a failure (a barrier failed or timed out, or the spout restarted)
//     it recovers: ROLLBACK a transaction that was preparing, COMMIT one that
//     was committing, then INITSTATE.
//   - Bolt is the executor side: Storm's StatefulBoltExecutor for a bolt with
//     state, its CheckpointTupleForwarder for one without. It waits for a
//     barrier from every task feeding it, then prepares, commits or rolls
//     back the state, forwards the barrier, and holds the bolt's acks until
//     the commit that includes their tuples (as Storm does).
//
// Beyond Storm, an exactly-once mode (topology.state.exactly.once) makes the
// transactions a consistent cut of the topology and drops replayed tuples
// whose effect is already committed; see Bolt and docs/windowing-and-state.md.
package checkpoint
