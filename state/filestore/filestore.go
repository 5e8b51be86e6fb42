// Package filestore keeps key-value state in an embedded bbolt file, so
// that stateful bolts need nothing installed: the default state backend,
// one file per worker holding a namespace per stateful task.
//
// Each namespace is a bucket holding three buckets: "c" the committed
// key-values, "p" the prepared writes (a value is 'v' followed by the
// value, or 't' alone for a deletion), and "t" the transaction ids
// ("commit", "prepare", 8 bytes big-endian). Every write is one bbolt
// transaction, synced to disk before it returns, so a crash leaves either
// all of it or none of it.
package filestore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/squallstream/squall/state"
)

var (
	bucketCommitted = []byte("c")
	bucketPrepared  = []byte("p")
	bucketTxids     = []byte("t")
	keyCommit       = []byte("commit")
	keyPrepare      = []byte("prepare")
)

// Prepared values are tagged so that a deletion can be told from a value.
const (
	tagValue    = 'v'
	tagTombtone = 't'
)

// Options tune a Store.
type Options struct {
	// LockTimeout bounds the wait for the file's lock, held by another
	// process that opened it; default 10 s.
	LockTimeout time.Duration
}

// Store is one bbolt file. It is safe for concurrent use; writes of
// different namespaces are serialised by bbolt, each synced on its own.
type Store struct {
	db *bolt.DB
}

// Open opens or creates the file at path (and its directory).
func Open(path string, o Options) (*Store, error) {
	if o.LockTimeout == 0 {
		o.LockTimeout = 10 * time.Second
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("filestore: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout: o.LockTimeout,
		// The freelist is rebuilt on open instead of written on every
		// commit: fewer pages per sync, the same durability.
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	})
	if err != nil {
		return nil, fmt.Errorf("filestore: open %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Path returns the file's path.
func (s *Store) Path() string { return s.db.Path() }

// Close closes the file. Backends of the store fail afterwards.
func (s *Store) Close() error { return s.db.Close() }

// Backend returns the backend of one namespace; the namespace's bucket is
// created on its first write.
func (s *Store) Backend(namespace string) *Backend {
	return &Backend{db: s.db, name: []byte(namespace)}
}

// Backend is one namespace of a Store; it implements state.Backend.
type Backend struct {
	db   *bolt.DB
	name []byte
}

var _ state.Backend = (*Backend)(nil)

// view runs fn on the namespace's bucket, nil if it does not exist yet.
func (b *Backend) view(fn func(ns *bolt.Bucket) error) error {
	return b.db.View(func(tx *bolt.Tx) error { return fn(tx.Bucket(b.name)) })
}

// update runs fn on the namespace's bucket, created if needed, in one
// synced transaction.
func (b *Backend) update(fn func(ns *bolt.Bucket) error) error {
	return b.db.Update(func(tx *bolt.Tx) error {
		ns, err := tx.CreateBucketIfNotExists(b.name)
		if err != nil {
			return err
		}
		return fn(ns)
	})
}

// bucket returns a sub-bucket of ns, created if needed.
func bucket(ns *bolt.Bucket, name []byte) (*bolt.Bucket, error) {
	return ns.CreateBucketIfNotExists(name)
}

func (b *Backend) Load() (state.Durable, error) {
	d := state.Durable{Committed: state.NoTxid, Prepared: state.NoTxid}
	err := b.view(func(ns *bolt.Bucket) error {
		if ns == nil {
			return nil
		}
		if t := ns.Bucket(bucketTxids); t != nil {
			var err error
			if d.Committed, err = txid(t.Get(keyCommit)); err != nil {
				return fmt.Errorf("commit txid: %w", err)
			}
			if d.Prepared, err = txid(t.Get(keyPrepare)); err != nil {
				return fmt.Errorf("prepare txid: %w", err)
			}
		}
		p := ns.Bucket(bucketPrepared)
		if d.Prepared == state.NoTxid || p == nil {
			return nil
		}
		d.Writes = make(map[string][]byte, p.Stats().KeyN)
		return p.ForEach(func(k, v []byte) error {
			switch {
			case len(v) == 1 && v[0] == tagTombtone:
				d.Writes[string(k)] = nil
			case len(v) >= 1 && v[0] == tagValue:
				d.Writes[string(k)] = append([]byte{}, v[1:]...)
			default:
				return fmt.Errorf("prepared key %.40q: bad tag", k)
			}
			return nil
		})
	})
	if err != nil {
		return state.Durable{}, fmt.Errorf("filestore: load %s: %w", b.name, err)
	}
	return d, nil
}

func txid(v []byte) (int64, error) {
	switch len(v) {
	case 0:
		return state.NoTxid, nil
	case 8:
		return int64(binary.BigEndian.Uint64(v)), nil
	}
	return 0, fmt.Errorf("%d bytes, want 8", len(v))
}

func putTxid(t *bolt.Bucket, key []byte, id int64) error {
	return t.Put(key, binary.BigEndian.AppendUint64(nil, uint64(id)))
}

func (b *Backend) Get(key string) ([]byte, bool, error) {
	var out []byte
	var ok bool
	err := b.view(func(ns *bolt.Bucket) error {
		if ns == nil {
			return nil
		}
		if c := ns.Bucket(bucketCommitted); c != nil {
			if v := c.Get([]byte(key)); v != nil {
				out, ok = append([]byte{}, v...), true
			}
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("filestore: get: %w", err)
	}
	return out, ok, nil
}

func (b *Backend) Range(fn func(string, []byte) bool) error {
	stop := errors.New("stop")
	err := b.view(func(ns *bolt.Bucket) error {
		if ns == nil {
			return nil
		}
		c := ns.Bucket(bucketCommitted)
		if c == nil {
			return nil
		}
		return c.ForEach(func(k, v []byte) error {
			if !fn(string(k), append([]byte{}, v...)) {
				return stop
			}
			return nil
		})
	})
	if err != nil && !errors.Is(err, stop) {
		return fmt.Errorf("filestore: range: %w", err)
	}
	return nil
}

func (b *Backend) Prepare(id int64, writes map[string][]byte) error {
	err := b.update(func(ns *bolt.Bucket) error {
		// A prepare replaces the prepared writes whole.
		if ns.Bucket(bucketPrepared) != nil {
			if err := ns.DeleteBucket(bucketPrepared); err != nil {
				return err
			}
		}
		p, err := bucket(ns, bucketPrepared)
		if err != nil {
			return err
		}
		for k, v := range writes {
			tagged := []byte{tagTombtone}
			if v != nil {
				tagged = append(append(make([]byte, 0, len(v)+1), tagValue), v...)
			}
			if err := p.Put([]byte(k), tagged); err != nil {
				return fmt.Errorf("key %.40q: %w", k, err)
			}
		}
		t, err := bucket(ns, bucketTxids)
		if err != nil {
			return err
		}
		return putTxid(t, keyPrepare, id)
	})
	if err != nil {
		return fmt.Errorf("filestore: prepare %d: %w", id, err)
	}
	return nil
}

func (b *Backend) Commit(id int64, writes map[string][]byte) error {
	err := b.update(func(ns *bolt.Bucket) error {
		if err := apply(ns, writes); err != nil {
			return err
		}
		if ns.Bucket(bucketPrepared) != nil {
			if err := ns.DeleteBucket(bucketPrepared); err != nil {
				return err
			}
		}
		t, err := bucket(ns, bucketTxids)
		if err != nil {
			return err
		}
		if err := t.Delete(keyPrepare); err != nil {
			return err
		}
		return putTxid(t, keyCommit, id)
	})
	if err != nil {
		return fmt.Errorf("filestore: commit %d: %w", id, err)
	}
	return nil
}

func (b *Backend) Rollback() error {
	err := b.update(func(ns *bolt.Bucket) error {
		if ns.Bucket(bucketPrepared) != nil {
			if err := ns.DeleteBucket(bucketPrepared); err != nil {
				return err
			}
		}
		t, err := bucket(ns, bucketTxids)
		if err != nil {
			return err
		}
		return t.Delete(keyPrepare)
	})
	if err != nil {
		return fmt.Errorf("filestore: rollback: %w", err)
	}
	return nil
}

func (b *Backend) Write(writes map[string][]byte) error {
	if err := b.update(func(ns *bolt.Bucket) error { return apply(ns, writes) }); err != nil {
		return fmt.Errorf("filestore: write: %w", err)
	}
	return nil
}

// apply applies writes to the committed bucket of ns.
func apply(ns *bolt.Bucket, writes map[string][]byte) error {
	c, err := bucket(ns, bucketCommitted)
	if err != nil {
		return err
	}
	for k, v := range writes {
		if v == nil {
			err = c.Delete([]byte(k))
		} else {
			err = c.Put([]byte(k), v)
		}
		if err != nil {
			return fmt.Errorf("key %.40q: %w", k, err)
		}
	}
	return nil
}

// Close is a no-op: the Store owns the file.
func (b *Backend) Close() error { return nil }
