package state_test

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/redisserver/redistest"
	"github.com/squallstream/squall/state"
	"github.com/squallstream/squall/state/filestore"
	"github.com/squallstream/squall/state/memstore"
	"github.com/squallstream/squall/state/redisstore"
)

// A world is one backend as a process sees it: open gives the backend of a
// namespace; crash abandons every state opened so far, as a process that
// dies does, and makes the following opens see what survived.
type world struct {
	open  func(namespace string) state.Backend
	crash func()
}

// worlds are the backends the contract holds for. memstore's "crash" is a
// task restarting inside its worker (the store survives); the others lose
// their process: filestore closes and reopens its file, redis its client,
// and "redis-server-crash" kills the server with SIGKILL and starts it again
// on its append-only file.
var worlds = []struct {
	name string
	new  func(t *testing.T) *world
}{
	{"memstore", func(t *testing.T) *world {
		s := memstore.New()
		return &world{open: func(ns string) state.Backend { return s.Backend(ns) }, crash: func() {}}
	}},
	{"filestore", func(t *testing.T) *world {
		path := filepath.Join(t.TempDir(), "worker.db")
		open := func() *filestore.Store {
			s, err := filestore.Open(path, filestore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		s := open()
		t.Cleanup(func() { _ = s.Close() })
		w := &world{open: func(ns string) state.Backend { return s.Backend(ns) }}
		w.crash = func() {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = open()
		}
		return w
	}},
	{"redis", func(t *testing.T) *world {
		srv := redistest.Start(t)
		return redisWorld(t, func() string { return srv.Addr() }, func() {})
	}},
	{"redis-server-crash", func(t *testing.T) *world {
		srv := redistest.StartPersistent(t)
		return redisWorld(t, func() string { return srv.Addr() }, func() { srv = srv.Restart(t) })
	}},
}

func redisWorld(t *testing.T, addr func() string, restartServer func()) *world {
	open := func() *redisstore.Store {
		// A generous timeout: the largest values take seconds to sync on a
		// loaded machine.
		s, err := redisstore.Open(redisstore.Options{Addr: addr(), Timeout: 60 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open()
	t.Cleanup(func() { _ = s.Close() })
	w := &world{open: func(ns string) state.Backend { return s.Backend(ns) }}
	w.crash = func() {
		_ = s.Close()
		restartServer()
		s = open()
	}
	return w
}

// forEachWorld runs test once per backend, each in a world of its own.
func forEachWorld(t *testing.T, test func(t *testing.T, w *world)) {
	t.Helper()
	for _, w := range worlds {
		t.Run(w.name, func(t *testing.T) {
			t.Parallel()
			test(t, w.new(t))
		})
	}
}

func openState(t *testing.T, w *world, ns string) *state.State {
	t.Helper()
	s, err := state.Open(w.open(ns))
	if err != nil {
		t.Fatalf("Open(%s): %v", ns, err)
	}
	// As the worker opens a task's state: the contract holds with the
	// cache of committed values in front of the backend.
	s.CacheCommitted(state.DefaultCacheKeys, state.DefaultCacheBytes)
	return s
}

func mustDo(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func put(t *testing.T, s *state.State, kvs ...string) {
	t.Helper()
	for i := 0; i+1 < len(kvs); i += 2 {
		mustDo(t, "Put("+kvs[i]+")", s.Put(kvs[i], []byte(kvs[i+1])))
	}
}

// contents returns the state as Range sees it, checking that Get agrees.
func contents(t *testing.T, s *state.State) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := s.Range(func(k string, v []byte) bool {
		if _, dup := got[k]; dup {
			t.Errorf("Range gave key %q twice", k)
		}
		got[k] = string(v)
		return true
	})
	mustDo(t, "Range", err)
	for k, v := range got {
		gv, ok, err := s.Get(k)
		if err != nil || !ok || string(gv) != v {
			t.Errorf("Get(%q) = %q, %v, %v; Range gave %q", k, gv, ok, err, v)
		}
	}
	return got
}

func wantContents(t *testing.T, s *state.State, want map[string]string) {
	t.Helper()
	if got := contents(t, s); !maps.Equal(got, want) {
		t.Errorf("state = %v, want %v", got, want)
	}
}

func wantTxids(t *testing.T, s *state.State, committed, prepared int64) {
	t.Helper()
	if s.Committed() != committed || s.Prepared() != prepared {
		t.Errorf("txids = committed %d, prepared %d; want %d, %d", s.Committed(), s.Prepared(), committed, prepared)
	}
}

func TestGetPutDelete(t *testing.T) {
	forEachWorld(t, func(t *testing.T, w *world) {
		s := openState(t, w, "wc/count-3")
		wantTxids(t, s, state.NoTxid, state.NoTxid)
		if v, ok, err := s.Get("missing"); ok || err != nil || v != nil {
			t.Errorf("Get(missing) = %q, %v, %v; want nothing", v, ok, err)
		}
		buf := []byte("1")
		mustDo(t, "Put", s.Put("apple", buf))
		buf[0] = 'X' // the state keeps a copy
		put(t, s, "pear", "2", "plum", "3")
		mustDo(t, "Put(empty)", s.Put("empty", nil))
		mustDo(t, "Delete", s.Delete("plum"))
		mustDo(t, "Delete(never put)", s.Delete("fig"))
		wantContents(t, s, map[string]string{"apple": "1", "pear": "2", "empty": ""})

		mustDo(t, "PrepareCommit", s.PrepareCommit(0))
		mustDo(t, "Commit", s.Commit(0))
		put(t, s, "apple", "10")
		mustDo(t, "Delete", s.Delete("pear"))
		wantContents(t, s, map[string]string{"apple": "10", "empty": ""})
		mustDo(t, "PrepareCommit", s.PrepareCommit(1))
		put(t, s, "quince", "4")
		mustDo(t, "Delete", s.Delete("empty"))
		wantContents(t, s, map[string]string{"apple": "10", "quince": "4"})
		mustDo(t, "Commit", s.Commit(1))
		wantContents(t, s, map[string]string{"apple": "10", "quince": "4"})
		wantTxids(t, s, 1, state.NoTxid)

		other := openState(t, w, "wc/count-4")
		wantContents(t, other, map[string]string{})
	})
}

func TestRangeStops(t *testing.T) {
	forEachWorld(t, func(t *testing.T, w *world) {
		s := openState(t, w, "ns")
		for i := range 50 {
			put(t, s, fmt.Sprint("c", i), "v")
		}
		mustDo(t, "PrepareCommit", s.PrepareCommit(0))
		mustDo(t, "Commit", s.Commit(0))
		put(t, s, "pending", "v")
		for _, stopAfter := range []int{1, 10, 51} {
			n := 0
			mustDo(t, "Range", s.Range(func(string, []byte) bool { n++; return n < stopAfter }))
			if n != stopAfter {
				t.Errorf("Range stopping after %d calls made %d", stopAfter, n)
			}
		}
	})
}

func TestRollback(t *testing.T) {
	forEachWorld(t, func(t *testing.T, w *world) {
		s := openState(t, w, "ns")
		put(t, s, "a", "1", "b", "2")
		mustDo(t, "PrepareCommit", s.PrepareCommit(0))
		mustDo(t, "Commit", s.Commit(0))

		put(t, s, "a", "100", "c", "3")
		mustDo(t, "PrepareCommit", s.PrepareCommit(1))
		mustDo(t, "Delete", s.Delete("b"))
		mustDo(t, "Rollback", s.Rollback())
		wantContents(t, s, map[string]string{"a": "1", "b": "2"})
		wantTxids(t, s, 0, state.NoTxid)

		// The rolled back transaction can be prepared again from scratch.
		put(t, s, "d", "4")
		mustDo(t, "PrepareCommit", s.PrepareCommit(1))
		mustDo(t, "Commit", s.Commit(1))
		w.crash()
		s = openState(t, w, "ns")
		wantContents(t, s, map[string]string{"a": "1", "b": "2", "d": "4"})

		// Rolling back with nothing prepared drops the pending writes.
		put(t, s, "e", "5")
		mustDo(t, "Rollback", s.Rollback())
		wantContents(t, s, map[string]string{"a": "1", "b": "2", "d": "4"})
	})
}

func TestPrepareAgainMerges(t *testing.T) {
	forEachWorld(t, func(t *testing.T, w *world) {
		s := openState(t, w, "ns")
		put(t, s, "a", "1", "b", "2")
		mustDo(t, "PrepareCommit", s.PrepareCommit(5))
		put(t, s, "b", "20", "c", "3")
		mustDo(t, "Delete", s.Delete("a"))
		mustDo(t, "PrepareCommit again", s.PrepareCommit(5))
		w.crash()
		s = openState(t, w, "ns")
		wantTxids(t, s, state.NoTxid, 5)
		mustDo(t, "Commit", s.Commit(5))
		wantContents(t, s, map[string]string{"b": "20", "c": "3"})
	})
}

func TestTxidRules(t *testing.T) {
	forEachWorld(t, func(t *testing.T, w *world) {
		s := openState(t, w, "ns")
		mustDo(t, "Commit on a fresh state", wantErr(s.Commit(0), state.ErrNotPrepared))
		mustDo(t, "PrepareCommit", s.PrepareCommit(3))
		steps := []struct {
			name string
			do   func() error
			want error
		}{
			{"prepare another txid", func() error { return s.PrepareCommit(4) }, state.ErrOtherPrepared},
			{"prepare an older txid", func() error { return s.PrepareCommit(2) }, state.ErrOtherPrepared},
			{"commit another txid", func() error { return s.Commit(4) }, state.ErrNotPrepared},
			{"commit the prepared txid", func() error { return s.Commit(3) }, nil},
			{"commit it again", func() error { return s.Commit(3) }, nil},
			{"commit an older txid", func() error { return s.Commit(2) }, state.ErrStaleTxid},
			{"commit a newer txid unprepared", func() error { return s.Commit(4) }, state.ErrNotPrepared},
			{"prepare the committed txid", func() error { return s.PrepareCommit(3) }, state.ErrStaleTxid},
			{"prepare an older txid", func() error { return s.PrepareCommit(1) }, state.ErrStaleTxid},
			{"prepare the next txid", func() error { return s.PrepareCommit(4) }, nil},
			{"commit the last committed while another is prepared", func() error { return s.Commit(3) }, state.ErrNotPrepared},
		}
		for _, st := range steps {
			if err := st.do(); !errors.Is(err, st.want) || (st.want == nil) != (err == nil) {
				t.Fatalf("%s: err = %v, want %v", st.name, err, st.want)
			}
		}
		wantTxids(t, s, 3, 4)
	})
}

func wantErr(err, want error) error {
	if !errors.Is(err, want) {
		return fmt.Errorf("err = %v, want %v", err, want)
	}
	return nil
}

// Storm's recovery: a worker that dies after prepare finds the prepared
// transaction on restart, and the checkpoint protocol commits it (the
// checkpoint spout was committing) or rolls it back (it was preparing).
func TestCrashBetweenPrepareAndCommit(t *testing.T) {
	for _, then := range []string{"commit", "rollback"} {
		t.Run(then, func(t *testing.T) {
			forEachWorld(t, func(t *testing.T, w *world) {
				s := openState(t, w, "ns")
				put(t, s, "a", "1", "b", "2")
				mustDo(t, "PrepareCommit", s.PrepareCommit(0))
				mustDo(t, "Commit", s.Commit(0))
				put(t, s, "a", "11", "c", "3")
				mustDo(t, "Delete", s.Delete("b"))
				mustDo(t, "PrepareCommit", s.PrepareCommit(1))
				put(t, s, "lost", "x") // after the prepare: dies with the process

				w.crash()
				s = openState(t, w, "ns")
				wantTxids(t, s, 0, 1)
				wantContents(t, s, map[string]string{"a": "11", "c": "3"})
				want := map[string]string{"a": "11", "c": "3"}
				wantCommitted := int64(1)
				if then == "commit" {
					mustDo(t, "Commit", s.Commit(1))
				} else {
					mustDo(t, "Rollback", s.Rollback())
					want, wantCommitted = map[string]string{"a": "1", "b": "2"}, 0
				}
				wantContents(t, s, want)
				w.crash()
				s = openState(t, w, "ns")
				wantTxids(t, s, wantCommitted, state.NoTxid)
				wantContents(t, s, want)
			})
		})
	}
}

// Storm's recovery may send a commit that already reached the store before
// the crash; it must succeed without changing anything.
func TestCrashAfterCommit(t *testing.T) {
	forEachWorld(t, func(t *testing.T, w *world) {
		s := openState(t, w, "ns")
		put(t, s, "a", "1")
		mustDo(t, "PrepareCommit", s.PrepareCommit(7))
		mustDo(t, "Commit", s.Commit(7))
		put(t, s, "unprepared", "x")
		w.crash()
		s = openState(t, w, "ns")
		wantTxids(t, s, 7, state.NoTxid)
		mustDo(t, "Commit again", s.Commit(7))
		wantContents(t, s, map[string]string{"a": "1"})
	})
}

func TestFlush(t *testing.T) {
	forEachWorld(t, func(t *testing.T, w *world) {
		s := openState(t, w, "$checkpointspout-1")
		put(t, s, "__state", "COMMITTED -1")
		mustDo(t, "Flush", s.Flush())
		put(t, s, "__state", "PREPARING 0")
		mustDo(t, "Flush", s.Flush())
		mustDo(t, "Flush with nothing to write", s.Flush())
		w.crash()
		s = openState(t, w, "$checkpointspout-1")
		wantTxids(t, s, state.NoTxid, state.NoTxid)
		wantContents(t, s, map[string]string{"__state": "PREPARING 0"})
	})
}

func TestLimits(t *testing.T) {
	forEachWorld(t, func(t *testing.T, w *world) {
		s := openState(t, w, "ns")
		big := strings.Repeat("k", state.MaxKeyBytes)
		mustDo(t, "Put(largest key)", s.Put(big, []byte("v")))
		mustDo(t, "Put(largest value)", s.Put("v", make([]byte, state.MaxValueBytes)))
		mustDo(t, "PrepareCommit", s.PrepareCommit(0))
		mustDo(t, "Commit", s.Commit(0))
		w.crash()
		s = openState(t, w, "ns")
		if v, ok, err := s.Get(big); !ok || err != nil || string(v) != "v" {
			t.Errorf("Get(largest key) = %q, %v, %v", v, ok, err)
		}
		if v, ok, err := s.Get("v"); !ok || err != nil || len(v) != state.MaxValueBytes {
			t.Errorf("Get(v) = %d bytes, %v, %v; want %d bytes", len(v), ok, err, state.MaxValueBytes)
		}
		tests := []struct {
			name string
			err  error
			want error
		}{
			{"empty key", s.Put("", []byte("v")), state.ErrEmptyKey},
			{"key too large", s.Put(big+"k", []byte("v")), state.ErrKeyTooLarge},
			{"value too large", s.Put("k", make([]byte, state.MaxValueBytes+1)), state.ErrValueTooLarge},
			{"delete empty key", s.Delete(""), state.ErrEmptyKey},
		}
		for _, tt := range tests {
			if !errors.Is(tt.err, tt.want) {
				t.Errorf("%s: err = %v, want %v", tt.name, tt.err, tt.want)
			}
		}
		if _, _, err := s.Get(""); !errors.Is(err, state.ErrEmptyKey) {
			t.Errorf("Get(\"\") err = %v, want ErrEmptyKey", err)
		}
	})
}

// A transaction larger than one Redis command's chunk, with binary keys
// and values, survives the trip.
func TestLargeBinaryTransaction(t *testing.T) {
	forEachWorld(t, func(t *testing.T, w *world) {
		s := openState(t, w, "ns")
		want := map[string]string{}
		for i := range 3000 {
			k, v := fmt.Sprintf("k\x00\xff%d", i), fmt.Sprintf("\x00v\r\n%d", i)
			want[k] = v
			put(t, s, k, v)
		}
		mustDo(t, "PrepareCommit", s.PrepareCommit(0))
		mustDo(t, "Commit", s.Commit(0))
		for i := range 1500 {
			k := fmt.Sprintf("k\x00\xff%d", i)
			delete(want, k)
			mustDo(t, "Delete", s.Delete(k))
		}
		mustDo(t, "PrepareCommit", s.PrepareCommit(1))
		w.crash()
		s = openState(t, w, "ns")
		mustDo(t, "Commit", s.Commit(1))
		got := contents(t, s)
		if len(got) != len(want) || !maps.Equal(got, want) {
			keys := slices.Sorted(maps.Keys(got))
			t.Fatalf("after the crash: %d keys (first %q), want %d", len(got), keys[:min(3, len(keys))], len(want))
		}
	})
}

func TestClosed(t *testing.T) {
	s, err := state.Open(memstore.New().Backend("ns"))
	mustDo(t, "Open", err)
	mustDo(t, "Close", s.Close())
	mustDo(t, "Close again", s.Close())
	for name, err := range map[string]error{
		"Put":           s.Put("k", nil),
		"Delete":        s.Delete("k"),
		"PrepareCommit": s.PrepareCommit(0),
		"Commit":        s.Commit(0),
		"Rollback":      s.Rollback(),
		"Flush":         s.Flush(),
		"Range":         s.Range(func(string, []byte) bool { return true }),
	} {
		if !errors.Is(err, state.ErrClosed) {
			t.Errorf("%s after Close: err = %v, want ErrClosed", name, err)
		}
	}
}
