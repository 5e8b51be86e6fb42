package topology

// KeyValueState is a stateful bolt's state (Storm's KeyValueState): what
// the bolt reads and writes between checkpoints. The runtime owns the
// transactions (prepare, commit, rollback); the bolt only sees the values.
// *state.State satisfies it. Keys starting with a 0 byte are reserved for
// the runtime.
type KeyValueState interface {
	Get(key string) (value []byte, ok bool, err error)
	Put(key string, value []byte) error
	Delete(key string) error
	// Range calls fn for every key, in key order, until fn returns false.
	Range(fn func(key string, value []byte) bool) error
}

// StatefulBolt is a Go bolt of a component declared `state:` (Storm's
// IStatefulBolt). InitState is called once its task's state is restored
// from the last checkpoint, before any input; after a rollback it is
// called again with the restored state.
type StatefulBolt interface {
	Bolt
	InitState(s KeyValueState)
}

// CheckpointHooks are the optional hooks of a StatefulBolt (Storm's
// preCommit, prePrepare and preRollback), called before the runtime acts.
type CheckpointHooks interface {
	PrePrepare(txid int64)
	PreCommit(txid int64)
	PreRollback()
}
