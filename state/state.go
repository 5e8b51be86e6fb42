package state

import (
	"fmt"
	"maps"
	"sync"
)

// Limits on what one key-value may hold. MaxKeyBytes is bbolt's own key
// limit; MaxValueBytes is the multilang protocol's default message cap, so
// that any value can reach a shell component.
const (
	MaxKeyBytes   = 32 << 10
	MaxValueBytes = 16 << 20
)

// State is one task's key-value state with Storm's transaction semantics
// (KeyValueState: get, put, delete, prepareCommit, commit, rollback). Its
// methods are safe for concurrent use (a shell bolt's child reads and
// writes it from its reader goroutine while the task's executor runs the
// checkpoint protocol on it); each is atomic with respect to the others.
//
// Writes are buffered in memory until PrepareCommit makes them durable as a
// transaction; Commit makes that transaction the committed state; Rollback
// drops everything not committed. After a crash, Open finds the committed
// state and, if a transaction was prepared but not committed, that
// transaction again, which the checkpoint protocol then commits or rolls
// back as Storm's recovery does.
type State struct {
	backend Backend

	// mu guards the fields below, and serialises the calls to backend.
	mu     sync.Mutex
	closed bool

	// pending holds the writes since the last prepare; prepared the writes
	// of transaction preparedTx (NoTxid: none), which are durable too.
	// A nil value is a deletion.
	pending    map[string][]byte
	prepared   map[string][]byte
	preparedTx int64
	// committedTx is the last committed transaction, NoTxid if none.
	committedTx int64
	// cache holds committed values (CacheCommitted); nil: none.
	cache *committedCache
}

// Open returns the state kept by b, with its prepared transaction if the
// last run ended between prepare and commit.
func Open(b Backend) (*State, error) {
	d, err := b.Load()
	if err != nil {
		return nil, fmt.Errorf("load state: %w", err)
	}
	s := &State{
		backend:     b,
		pending:     make(map[string][]byte),
		preparedTx:  d.Prepared,
		committedTx: d.Committed,
	}
	if d.Prepared != NoTxid {
		s.prepared = d.Writes
		if s.prepared == nil {
			s.prepared = make(map[string][]byte)
		}
	}
	return s, nil
}

// Committed returns the last committed transaction id, NoTxid if none.
func (s *State) Committed() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.committedTx
}

// Prepared returns the prepared transaction id, NoTxid if none.
func (s *State) Prepared() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.preparedTx
}

func checkKey(key string) error {
	switch {
	case key == "":
		return ErrEmptyKey
	case len(key) > MaxKeyBytes:
		return fmt.Errorf("%w: %d bytes, the limit is %d", ErrKeyTooLarge, len(key), MaxKeyBytes)
	}
	return nil
}

// Get returns the value of key: the newest write, prepared or not, else the
// committed value.
func (s *State) Get(key string) (value []byte, ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, false, ErrClosed
	}
	if err := checkKey(key); err != nil {
		return nil, false, fmt.Errorf("get: %w", err)
	}
	if v, ok := s.pending[key]; ok {
		return v, v != nil, nil
	}
	if v, ok := s.prepared[key]; ok {
		return v, v != nil, nil
	}
	if s.cache != nil {
		if v, ok, hit := s.cache.get(key); hit {
			return v, ok, nil
		}
	}
	v, ok, err := s.backend.Get(key)
	if err != nil {
		return nil, false, fmt.Errorf("get: %w", err)
	}
	if s.cache != nil {
		if ok && v == nil {
			v = []byte{} // nil is the cache's mark of an absent key
		}
		s.cache.put(key, v)
	}
	return v, ok, nil
}

// Put sets key to a copy of value (nil is stored as an empty value).
func (s *State) Put(key string, value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if err := checkKey(key); err != nil {
		return fmt.Errorf("put: %w", err)
	}
	if len(value) > MaxValueBytes {
		return fmt.Errorf("put %.40q: %w: %d bytes, the limit is %d", key, ErrValueTooLarge, len(value), MaxValueBytes)
	}
	s.pending[key] = append(make([]byte, 0, len(value)), value...)
	return nil
}

// Delete removes key.
func (s *State) Delete(key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if err := checkKey(key); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	s.pending[key] = nil
	return nil
}

// Range calls fn for every key-value the state holds, as Get sees them, in
// no particular order, until fn returns false. fn must not use the state.
func (s *State) Range(fn func(key string, value []byte) bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	newer := func(key string) bool {
		_, p := s.pending[key]
		_, q := s.prepared[key]
		return p || q
	}
	stopped := false
	err := s.backend.Range(func(k string, v []byte) bool {
		if newer(k) {
			return true
		}
		if !fn(k, v) {
			stopped = true
			return false
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("range: %w", err)
	}
	if stopped {
		return nil
	}
	for k, v := range s.pending {
		if v != nil && !fn(k, v) {
			return nil
		}
	}
	for k, v := range s.prepared {
		if _, shadowed := s.pending[k]; !shadowed && v != nil && !fn(k, v) {
			return nil
		}
	}
	return nil
}

// PrepareCommit makes every write so far durable as transaction txid,
// without committing it. Preparing the prepared transaction again adds the
// writes made since; preparing another one before the first is committed or
// rolled back is an error, as is a txid not newer than the last committed.
func (s *State) PrepareCommit(txid int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	switch {
	case txid <= s.committedTx:
		return fmt.Errorf("prepare %d: %w (%d)", txid, ErrStaleTxid, s.committedTx)
	case s.preparedTx != NoTxid && txid != s.preparedTx:
		return fmt.Errorf("prepare %d: %w (%d)", txid, ErrOtherPrepared, s.preparedTx)
	}
	writes := s.pending
	if len(s.prepared) > 0 {
		writes = maps.Clone(s.prepared)
		maps.Copy(writes, s.pending)
	}
	if err := s.backend.Prepare(txid, writes); err != nil {
		return fmt.Errorf("prepare %d: %w", txid, err)
	}
	s.prepared, s.preparedTx = writes, txid
	s.pending = make(map[string][]byte)
	return nil
}

// Commit makes prepared transaction txid the committed state. Committing
// the last committed transaction again is a no-op, so that recovery may
// repeat a commit that reached the store before a crash.
func (s *State) Commit(txid int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	switch {
	case txid == s.committedTx && s.preparedTx == NoTxid:
		return nil
	case txid < s.committedTx:
		return fmt.Errorf("commit %d: %w (%d)", txid, ErrStaleTxid, s.committedTx)
	case txid != s.preparedTx:
		return fmt.Errorf("commit %d: %w (prepared: %d)", txid, ErrNotPrepared, s.preparedTx)
	}
	if err := s.backend.Commit(txid, s.prepared); err != nil {
		if s.cache != nil {
			s.cache.clear() // the commit may have reached the backend
		}
		return fmt.Errorf("commit %d: %w", txid, err)
	}
	s.cacheWrites(s.prepared)
	s.committedTx, s.preparedTx, s.prepared = txid, NoTxid, nil
	return nil
}

// Rollback drops the prepared transaction and every write since, so that
// the state is the last committed one again.
func (s *State) Rollback() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.preparedTx != NoTxid {
		if err := s.backend.Rollback(); err != nil {
			return fmt.Errorf("rollback: %w", err)
		}
	}
	s.preparedTx, s.prepared = NoTxid, nil
	s.pending = make(map[string][]byte)
	if s.cache != nil {
		// Committed values did not change, but a rollback is recovery
		// (a failure, a restarted task): read them from the backend again.
		s.cache.clear()
	}
	return nil
}

// Flush writes the writes made since the last prepare straight to the
// committed state, outside any transaction: Storm's commit() without a
// txid, which components that manage their own state use (the checkpoint
// spout keeps its transaction state this way).
func (s *State) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if len(s.pending) == 0 {
		return nil
	}
	if err := s.backend.Write(s.pending); err != nil {
		if s.cache != nil {
			s.cache.clear()
		}
		return fmt.Errorf("flush: %w", err)
	}
	s.cacheWrites(s.pending)
	s.pending = make(map[string][]byte)
	return nil
}

// Close releases the backend. Writes not prepared are lost, as in a crash.
func (s *State) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.backend.Close()
}
