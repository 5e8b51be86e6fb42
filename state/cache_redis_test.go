package state_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/redisserver/redistest"
	"github.com/squallstream/squall/state"
	"github.com/squallstream/squall/state/redisstore"
)

// readCounter counts the committed-value reads that reach its backend.
type readCounter struct {
	state.Backend
	gets atomic.Int64
}

func (r *readCounter) Get(key string) ([]byte, bool, error) {
	r.gets.Add(1)
	return r.Backend.Get(key)
}

// cachedRedisState opens a state in a real redis-server, its reads counted,
// caching up to maxKeys committed values.
func cachedRedisState(t *testing.T, maxKeys int) (*state.State, *readCounter) {
	t.Helper()
	srv := redistest.Start(t)
	store, err := redisstore.Open(redisstore.Options{Addr: srv.Addr(), Timeout: 60 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	rc := &readCounter{Backend: store.Backend("topo/count-1")}
	s, err := state.Open(rc)
	if err != nil {
		t.Fatal(err)
	}
	s.CacheCommitted(maxKeys, state.DefaultCacheBytes)
	return s, rc
}

func mustGet(t *testing.T, s *state.State, key string) (string, bool) {
	t.Helper()
	v, ok, err := s.Get(key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return string(v), ok
}

func commit(t *testing.T, s *state.State, txid int64) {
	t.Helper()
	if err := s.PrepareCommit(txid); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(txid); err != nil {
		t.Fatal(err)
	}
}

func TestCacheCommittedRedis(t *testing.T) {
	s, rc := cachedRedisState(t, 1000)
	for _, kv := range [][2]string{{"apple", "3"}, {"pear", "1"}, {"plum", "9"}} {
		if err := s.Put(kv[0], []byte(kv[1])); err != nil {
			t.Fatal(err)
		}
	}
	commit(t, s, 1)
	if err := s.Delete("plum"); err != nil {
		t.Fatal(err)
	}
	commit(t, s, 2)

	reads := func(want int64, what string) {
		t.Helper()
		if got := rc.gets.Swap(0); got != want {
			t.Errorf("%s: %d reads reached redis, want %d", what, got, want)
		}
	}
	// Committed by this task: cached at commit, absences too.
	for range 3 {
		if v, ok := mustGet(t, s, "apple"); !ok || v != "3" {
			t.Fatalf("apple = %q, %v; want 3", v, ok)
		}
		if _, ok := mustGet(t, s, "plum"); ok {
			t.Fatal("plum is back after its deletion was committed")
		}
	}
	reads(0, "reads of committed writes")
	// A key never written: one read, then its absence is cached.
	for range 3 {
		if _, ok := mustGet(t, s, "quince"); ok {
			t.Fatal("quince present")
		}
	}
	reads(1, "three reads of an absent key")

	// A rollback empties the cache: the next read goes to redis, and
	// finds the committed value, not the rolled-back write.
	if err := s.Put("apple", []byte("4")); err != nil {
		t.Fatal(err)
	}
	if err := s.PrepareCommit(3); err != nil {
		t.Fatal(err)
	}
	if err := s.Rollback(); err != nil {
		t.Fatal(err)
	}
	if v, ok := mustGet(t, s, "apple"); !ok || v != "3" {
		t.Fatalf("apple after rollback = %q, %v; want 3", v, ok)
	}
	if v, ok := mustGet(t, s, "apple"); !ok || v != "3" {
		t.Fatalf("apple read again = %q, %v; want 3", v, ok)
	}
	reads(1, "two reads after a rollback")

	// A value read from redis, as a restarted task finds it.
	s2, err := state.Open(rc)
	if err != nil {
		t.Fatal(err)
	}
	s2.CacheCommitted(1000, state.DefaultCacheBytes)
	for range 3 {
		if v, ok := mustGet(t, s2, "pear"); !ok || v != "1" {
			t.Fatalf("pear in a reopened state = %q, %v; want 1", v, ok)
		}
	}
	reads(1, "three reads in a reopened state")
}

func TestCacheCommittedBoundRedis(t *testing.T) {
	const maxKeys, keys = 50, 200
	s, rc := cachedRedisState(t, maxKeys)
	for i := range keys {
		if err := s.Put(fmt.Sprintf("w%d", i), []byte("1")); err != nil {
			t.Fatal(err)
		}
	}
	commit(t, s, 1)
	rc.gets.Store(0)
	for range 2 {
		for i := range keys {
			if v, ok := mustGet(t, s, fmt.Sprintf("w%d", i)); !ok || v != "1" {
				t.Fatalf("w%d = %q, %v", i, v, ok)
			}
		}
	}
	// At most maxKeys of the keys are cached at any time: the second pass
	// misses at least keys-maxKeys of them again.
	if got := rc.gets.Load(); got < 2*(keys-maxKeys) {
		t.Errorf("%d reads reached redis for 2 passes over %d keys with %d cached, want at least %d", got, keys, maxKeys, 2*(keys-maxKeys))
	}
}
