package state_test

import (
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/redisserver/redistest"
	"github.com/squallstream/squall/state"
	"github.com/squallstream/squall/state/filestore"
	"github.com/squallstream/squall/state/memstore"
	"github.com/squallstream/squall/state/redisstore"
)

// BenchmarkGetPut is a word count's read-modify-write of one of 10k keys,
// the committed ones read through from the backend.
func BenchmarkGetPut(b *testing.B) {
	for _, w := range []struct {
		name string
		open func(b *testing.B) state.Backend
	}{
		{"memstore", func(b *testing.B) state.Backend { return memstore.New().Backend("ns") }},
		{"filestore", func(b *testing.B) state.Backend {
			s, err := filestore.Open(filepath.Join(b.TempDir(), "w.db"), filestore.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s.Backend("ns")
		}},
	} {
		b.Run(w.name, func(b *testing.B) {
			s, err := state.Open(w.open(b))
			if err != nil {
				b.Fatal(err)
			}
			keys := make([]string, 10_000)
			for i := range keys {
				keys[i] = "word" + strconv.Itoa(i)
				s.Put(keys[i], []byte("0"))
			}
			if err := s.PrepareCommit(0); err != nil {
				b.Fatal(err)
			}
			if err := s.Commit(0); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				k := keys[i%len(keys)]
				v, _, err := s.Get(k)
				if err != nil {
					b.Fatal(err)
				}
				n, _ := strconv.Atoi(string(v))
				if err := s.Put(k, strconv.AppendInt(nil, int64(n+1), 10)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCheckpoint is one checkpoint (prepare and commit) of a
// transaction of 1000 changed keys.
func BenchmarkCheckpoint(b *testing.B) {
	for _, w := range []struct {
		name string
		open func(b *testing.B) state.Backend
	}{
		{"filestore", func(b *testing.B) state.Backend {
			s, err := filestore.Open(filepath.Join(b.TempDir(), "w.db"), filestore.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s.Backend("ns")
		}},
		{"redis", func(b *testing.B) state.Backend {
			srv := redistest.Start(b)
			s, err := redisstore.Open(redisstore.Options{Addr: srv.Addr(), Timeout: time.Minute})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s.Backend("ns")
		}},
	} {
		b.Run(w.name, func(b *testing.B) {
			s, err := state.Open(w.open(b))
			if err != nil {
				b.Fatal(err)
			}
			value := []byte("12345")
			for tx := int64(0); b.Loop(); tx++ {
				for k := range 1000 {
					s.Put("word"+strconv.Itoa(k+int(tx%7)*1000), value)
				}
				if err := s.PrepareCommit(tx); err != nil {
					b.Fatal(err)
				}
				if err := s.Commit(tx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
