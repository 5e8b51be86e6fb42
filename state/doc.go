// Package state is the key-value state of stateful bolts, with the
// transactional semantics of Apache Storm's KeyValueState: a task reads and
// writes keys, and the checkpoint protocol (package state/checkpoint)
// prepares, commits or rolls back those writes by transaction id, so that
// the state a task finds after a crash is the one its topology committed.
//
// A State keeps three layers: the writes since the last prepare (in
// memory), the prepared writes of one transaction (durable, kept in memory
// too), and the committed state (durable, read through). Reads see the
// newest layer that has the key. Where the durable layers live is a
// Backend's business:
//
//   - state/filestore: an embedded bbolt file, one per worker, the default,
//     so that local mode needs nothing installed;
//   - state/redisstore: Redis, Storm's RedisKeyValueStateProvider;
//   - state/memstore: memory, Storm's InMemoryKeyValueStateProvider (lost
//     when the process dies).
//
// NewProvider picks one from topology.state.provider and
// topology.state.provider.config, Storm's keys.
package state
