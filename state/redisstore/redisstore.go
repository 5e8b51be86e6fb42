// Package redisstore keeps key-value state in Redis: Storm's
// RedisKeyValueStateProvider, with Storm's layout of a namespace in three
// hashes: NS (the committed key-values), NS$prepare (the prepared writes)
// and NS$txid (fields "commit" and "prepare"). squall wraps NS in braces,
// {NS}, so that the three keys share a Redis Cluster hash slot, and writes
// each step in one MULTI/EXEC transaction, where Storm sends several
// commands: a crash leaves all of a step or none of it. Values in
// {NS}$prepare carry a tag byte ('v' and the value, or 't' for a deletion).
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/squallstream/squall/state"
)

// Options say which server to use: Storm's jedisPoolConfig.
type Options struct {
	// Addr is host:port.
	Addr     string
	Password string
	Database int
	// Timeout bounds connecting and each command; default 2 s (Jedis's).
	Timeout time.Duration
}

// chunk is how many fields one HSET or HDEL carries, so that no command is
// huge however large a transaction is.
const chunk = 512

const (
	tagValue     = 'v'
	tagTombstone = 't'
)

// Store is a connection pool to one Redis server. It is safe for
// concurrent use.
type Store struct {
	client *redis.Client
	// ctx is cancelled by Close, so that a command in flight returns at
	// once.
	ctx    context.Context
	cancel context.CancelFunc
}

// Open returns a store using the server of o and checks that it answers.
func Open(o Options) (*Store, error) {
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Second
	}
	client := redis.NewClient(&redis.Options{
		Addr:         o.Addr,
		Password:     o.Password,
		DB:           o.Database,
		DialTimeout:  o.Timeout,
		ReadTimeout:  o.Timeout,
		WriteTimeout: o.Timeout,
		Protocol:     2,
		// Redis before 7.2 answers CLIENT SETINFO and maintenance
		// notifications with errors; squall needs neither.
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
	ctx, cancel := context.WithCancel(context.Background())
	s := &Store{client: client, ctx: ctx, cancel: cancel}
	pingCtx, cancelPing := context.WithTimeout(ctx, o.Timeout)
	defer cancelPing()
	if err := client.Ping(pingCtx).Err(); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("redisstore: ping %s: %w", o.Addr, err)
	}
	return s, nil
}

// Close closes the pool and cancels commands in flight.
func (s *Store) Close() error {
	s.cancel()
	return s.client.Close()
}

// Backend returns the backend of one namespace.
func (s *Store) Backend(namespace string) *Backend {
	ns := "{" + namespace + "}"
	return &Backend{store: s, data: ns, prepare: ns + "$prepare", txids: ns + "$txid"}
}

// Backend is one namespace of a Store; it implements state.Backend.
type Backend struct {
	store                *Store
	data, prepare, txids string
}

var _ state.Backend = (*Backend)(nil)

func (b *Backend) Load() (state.Durable, error) {
	ctx := b.store.ctx
	d := state.Durable{Committed: state.NoTxid, Prepared: state.NoTxid}
	ids, err := b.store.client.HGetAll(ctx, b.txids).Result()
	if err != nil {
		return d, fmt.Errorf("redisstore: load %s: %w", b.txids, err)
	}
	if d.Committed, err = parseTxid(ids["commit"]); err != nil {
		return d, fmt.Errorf("redisstore: load %s commit: %w", b.txids, err)
	}
	if d.Prepared, err = parseTxid(ids["prepare"]); err != nil {
		return d, fmt.Errorf("redisstore: load %s prepare: %w", b.txids, err)
	}
	if d.Prepared == state.NoTxid {
		return d, nil
	}
	prepared, err := b.store.client.HGetAll(ctx, b.prepare).Result()
	if err != nil {
		return d, fmt.Errorf("redisstore: load %s: %w", b.prepare, err)
	}
	d.Writes = make(map[string][]byte, len(prepared))
	for k, v := range prepared {
		switch {
		case v == string(tagTombstone):
			d.Writes[k] = nil
		case len(v) >= 1 && v[0] == tagValue:
			d.Writes[k] = []byte(v[1:])
		default:
			return d, fmt.Errorf("redisstore: load %s: key %.40q: bad tag", b.prepare, k)
		}
	}
	return d, nil
}

func parseTxid(s string) (int64, error) {
	if s == "" {
		return state.NoTxid, nil
	}
	return strconv.ParseInt(s, 10, 64)
}

func (b *Backend) Get(key string) ([]byte, bool, error) {
	v, err := b.store.client.HGet(b.store.ctx, b.data, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("redisstore: hget %s: %w", b.data, err)
	}
	return v, true, nil
}

func (b *Backend) Range(fn func(string, []byte) bool) error {
	var cursor uint64
	seen := make(map[string]struct{})
	for {
		kvs, next, err := b.store.client.HScan(b.store.ctx, b.data, cursor, "", 256).Result()
		if err != nil {
			return fmt.Errorf("redisstore: hscan %s: %w", b.data, err)
		}
		// HSCAN may return a field twice while the hash is rehashed; a
		// State's caller expects each key once.
		for i := 0; i+1 < len(kvs); i += 2 {
			if _, dup := seen[kvs[i]]; dup {
				continue
			}
			seen[kvs[i]] = struct{}{}
			if !fn(kvs[i], []byte(kvs[i+1])) {
				return nil
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

func (b *Backend) Prepare(id int64, writes map[string][]byte) error {
	_, err := b.store.client.TxPipelined(b.store.ctx, func(p redis.Pipeliner) error {
		p.Del(b.store.ctx, b.prepare)
		var args []any
		for k, v := range writes {
			tagged := string(tagTombstone)
			if v != nil {
				tagged = string(tagValue) + string(v)
			}
			args = append(args, k, tagged)
			if len(args) == 2*chunk {
				p.HSet(b.store.ctx, b.prepare, args...)
				args = nil // the pipeline keeps the old slice
			}
		}
		if len(args) > 0 {
			p.HSet(b.store.ctx, b.prepare, args...)
		}
		p.HSet(b.store.ctx, b.txids, "prepare", strconv.FormatInt(id, 10))
		return nil
	})
	if err != nil {
		return fmt.Errorf("redisstore: prepare %d in %s: %w", id, b.prepare, err)
	}
	return nil
}

func (b *Backend) Commit(id int64, writes map[string][]byte) error {
	_, err := b.store.client.TxPipelined(b.store.ctx, func(p redis.Pipeliner) error {
		b.apply(p, writes)
		p.Del(b.store.ctx, b.prepare)
		p.HDel(b.store.ctx, b.txids, "prepare")
		p.HSet(b.store.ctx, b.txids, "commit", strconv.FormatInt(id, 10))
		return nil
	})
	if err != nil {
		return fmt.Errorf("redisstore: commit %d in %s: %w", id, b.data, err)
	}
	return nil
}

func (b *Backend) Rollback() error {
	_, err := b.store.client.TxPipelined(b.store.ctx, func(p redis.Pipeliner) error {
		p.Del(b.store.ctx, b.prepare)
		p.HDel(b.store.ctx, b.txids, "prepare")
		return nil
	})
	if err != nil {
		return fmt.Errorf("redisstore: rollback %s: %w", b.prepare, err)
	}
	return nil
}

func (b *Backend) Write(writes map[string][]byte) error {
	_, err := b.store.client.TxPipelined(b.store.ctx, func(p redis.Pipeliner) error {
		b.apply(p, writes)
		return nil
	})
	if err != nil {
		return fmt.Errorf("redisstore: write %s: %w", b.data, err)
	}
	return nil
}

// apply queues the HSETs and HDELs that apply writes to the committed hash.
func (b *Backend) apply(p redis.Pipeliner, writes map[string][]byte) {
	var set []any
	var del []string
	for k, v := range writes {
		if v == nil {
			del = append(del, k)
			if len(del) == chunk {
				p.HDel(b.store.ctx, b.data, del...)
				del = nil
			}
			continue
		}
		set = append(set, k, v)
		if len(set) == 2*chunk {
			p.HSet(b.store.ctx, b.data, set...)
			set = nil
		}
	}
	if len(set) > 0 {
		p.HSet(b.store.ctx, b.data, set...)
	}
	if len(del) > 0 {
		p.HDel(b.store.ctx, b.data, del...)
	}
}

// Close is a no-op: the Store owns the connections.
func (b *Backend) Close() error { return nil }
