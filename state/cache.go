package state

// committedCache holds committed values read from or committed to the
// backend, so that a read of a committed value costs no backend round trip
// on a hit (Redis: ~100 µs). It is bounded by a number of keys and of
// bytes; beyond either it forgets arbitrary entries (Go's map order: no
// bookkeeping per hit). Not safe for concurrent use: State's mutex guards
// it.
type committedCache struct {
	maxKeys  int
	maxBytes int
	bytes    int
	// values maps a key to its committed value; a nil value records that
	// the key is absent.
	values map[string][]byte
}

func (c *committedCache) get(key string) (value []byte, ok, hit bool) {
	v, hit := c.values[key]
	return v, v != nil, hit
}

// put records key's committed value; nil records its absence. value is
// kept, not copied: the State's values are never changed in place.
func (c *committedCache) put(key string, value []byte) {
	if old, had := c.values[key]; had {
		c.bytes -= len(key) + len(old)
	}
	size := len(key) + len(value)
	if size > c.maxBytes {
		delete(c.values, key)
		return
	}
	for k, v := range c.values {
		if len(c.values) < c.maxKeys && c.bytes+size <= c.maxBytes {
			break
		}
		if k != key {
			c.bytes -= len(k) + len(v)
			delete(c.values, k)
		}
	}
	c.values[key] = value
	c.bytes += size
}

func (c *committedCache) forget(key string) {
	if old, had := c.values[key]; had {
		c.bytes -= len(key) + len(old)
		delete(c.values, key)
	}
}

func (c *committedCache) clear() {
	clear(c.values)
	c.bytes = 0
}

// Default bounds of the committed-value cache (CacheCommitted).
const (
	DefaultCacheKeys  = 100_000
	DefaultCacheBytes = 64 << 20
)

// CacheCommitted makes s keep up to maxKeys committed values, of at most
// maxBytes keys and values in all, in memory: Get serves them without a
// backend read. Commit and Flush update what they write; Rollback and a
// failed Commit empty it (a rollback also follows a task's restart or a
// failure, after which nothing is trusted but the backend). Call it
// before any other method; maxKeys 0 turns caching off.
func (s *State) CacheCommitted(maxKeys, maxBytes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if maxKeys <= 0 || maxBytes <= 0 {
		s.cache = nil
		return
	}
	s.cache = &committedCache{maxKeys: maxKeys, maxBytes: maxBytes, values: make(map[string][]byte)}
}

// cacheWrites records writes that just became committed.
func (s *State) cacheWrites(writes map[string][]byte) {
	if s.cache == nil {
		return
	}
	for k, v := range writes {
		if k[0] == 0 {
			// The runtime's records (exactly-once IDs, up to 1 MiB
			// each) are written every checkpoint and read back only by
			// Range: caching them would push out the bolt's values.
			s.cache.forget(k)
			continue
		}
		s.cache.put(k, v) // a deletion is nil: absent
	}
}
