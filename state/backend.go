package state

// NoTxid is the transaction id of a state that has committed nothing yet,
// and the prepared id of a state that has nothing prepared. Storm's
// checkpoint spout starts at -1 committed too, so its first transaction is 0.
const NoTxid int64 = -1

// Backend keeps one namespace's durable layers: the committed key-values
// and the prepared writes of at most one transaction, with their
// transaction ids. In the write sets a Backend is given or returns, a nil
// value means the key is deleted (a tombstone); present values are never
// nil. Each write method must be atomic: after a crash either all of it is
// durable or none of it. A State calls a Backend from one goroutine.
type Backend interface {
	// Load returns the durable transaction ids and prepared writes.
	Load() (Durable, error)
	// Get returns a committed value.
	Get(key string) (value []byte, ok bool, err error)
	// Range calls fn for every committed key-value, in no particular
	// order, until fn returns false. fn must not call the Backend.
	Range(fn func(key string, value []byte) bool) error
	// Prepare replaces the prepared writes with writes, prepared as
	// transaction txid.
	Prepare(txid int64, writes map[string][]byte) error
	// Commit applies writes (the prepared ones) to the committed state,
	// records txid as committed and drops the prepared writes.
	Commit(txid int64, writes map[string][]byte) error
	// Rollback drops the prepared writes.
	Rollback() error
	// Write applies writes to the committed state outside any transaction
	// (Storm's commit() without a txid), leaving the prepared ones alone.
	Write(writes map[string][]byte) error
	// Close releases what the Backend holds; the data stays.
	Close() error
}

// Durable is what a Backend has on disk (or in its server) for a namespace.
type Durable struct {
	// Committed is the last committed transaction, NoTxid if none.
	Committed int64
	// Prepared is the prepared transaction, NoTxid if none.
	Prepared int64
	// Writes are the prepared writes (nil values are deletions).
	Writes map[string][]byte
}
