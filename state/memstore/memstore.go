// Package memstore keeps key-value state in memory: Storm's
// InMemoryKeyValueStateProvider. A Store outlives the states opened on it,
// so a task that restarts inside its worker finds its committed state; the
// process dying loses everything.
package memstore

import (
	"maps"
	"sync"

	"github.com/squallstream/squall/state"
)

// Store holds any number of namespaces. It is safe for concurrent use.
type Store struct {
	mu sync.Mutex
	// namespaces is guarded by mu, and so is every namespace's data.
	namespaces map[string]*namespace
}

type namespace struct {
	committed   map[string][]byte
	committedTx int64
	prepared    map[string][]byte
	preparedTx  int64
}

// New returns an empty store.
func New() *Store { return &Store{namespaces: make(map[string]*namespace)} }

// Backend returns the backend of one namespace, creating it if needed.
func (s *Store) Backend(name string) *Backend {
	s.mu.Lock()
	defer s.mu.Unlock()
	ns, ok := s.namespaces[name]
	if !ok {
		ns = &namespace{committed: make(map[string][]byte), committedTx: state.NoTxid, preparedTx: state.NoTxid}
		s.namespaces[name] = ns
	}
	return &Backend{store: s, ns: ns}
}

// Backend is one namespace of a Store; it implements state.Backend.
type Backend struct {
	store *Store
	ns    *namespace
}

var _ state.Backend = (*Backend)(nil)

func (b *Backend) Load() (state.Durable, error) {
	b.store.mu.Lock()
	defer b.store.mu.Unlock()
	return state.Durable{Committed: b.ns.committedTx, Prepared: b.ns.preparedTx, Writes: maps.Clone(b.ns.prepared)}, nil
}

func (b *Backend) Get(key string) ([]byte, bool, error) {
	b.store.mu.Lock()
	defer b.store.mu.Unlock()
	v, ok := b.ns.committed[key]
	return v, ok, nil
}

func (b *Backend) Range(fn func(string, []byte) bool) error {
	b.store.mu.Lock()
	snapshot := maps.Clone(b.ns.committed)
	b.store.mu.Unlock()
	for k, v := range snapshot {
		if !fn(k, v) {
			break
		}
	}
	return nil
}

func (b *Backend) Prepare(txid int64, writes map[string][]byte) error {
	b.store.mu.Lock()
	defer b.store.mu.Unlock()
	b.ns.prepared, b.ns.preparedTx = maps.Clone(writes), txid
	return nil
}

func (b *Backend) Commit(txid int64, writes map[string][]byte) error {
	b.store.mu.Lock()
	defer b.store.mu.Unlock()
	apply(b.ns.committed, writes)
	b.ns.committedTx, b.ns.prepared, b.ns.preparedTx = txid, nil, state.NoTxid
	return nil
}

func (b *Backend) Rollback() error {
	b.store.mu.Lock()
	defer b.store.mu.Unlock()
	b.ns.prepared, b.ns.preparedTx = nil, state.NoTxid
	return nil
}

func (b *Backend) Write(writes map[string][]byte) error {
	b.store.mu.Lock()
	defer b.store.mu.Unlock()
	apply(b.ns.committed, writes)
	return nil
}

func (b *Backend) Close() error { return nil }

func apply(to, writes map[string][]byte) {
	for k, v := range writes {
		if v == nil {
			delete(to, k)
		} else {
			to[k] = v
		}
	}
}
