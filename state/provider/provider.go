// Package provider opens the key-value states of a topology's stateful
// tasks in the backend its configuration names: Storm's StateProvider,
// chosen by topology.state.provider and configured by
// topology.state.provider.config.
//
//	topology.state.provider                                   backend
//	(unset), embedded                                         state/filestore
//	redis, org.apache.storm.redis.state.RedisKeyValueStateProvider   state/redisstore
//	memory, org.apache.storm.state.InMemoryKeyValueStateProvider     state/memstore
//
// Storm's default is the in-memory provider; squall's is the embedded file,
// which survives a worker's crash.
package provider

import (
	"fmt"
	"strconv"
	"sync"

	"github.com/squallstream/squall/state"
	"github.com/squallstream/squall/state/filestore"
	"github.com/squallstream/squall/state/memstore"
	"github.com/squallstream/squall/state/redisstore"
	"github.com/squallstream/squall/topology"
)

// Storm's configuration keys.
const (
	KeyProvider       = "topology.state.provider"
	KeyProviderConfig = "topology.state.provider.config"
)

// Storm's provider class names, accepted as aliases.
const (
	StormRedisProvider    = "org.apache.storm.redis.state.RedisKeyValueStateProvider"
	StormInMemoryProvider = "org.apache.storm.state.InMemoryKeyValueStateProvider"
)

// Kind names a backend.
type Kind string

const (
	Embedded Kind = "embedded"
	Redis    Kind = "redis"
	Memory   Kind = "memory"
)

// Config is a parsed provider configuration.
type Config struct {
	Kind Kind
	// Redis is the server of the Redis backend.
	Redis redisstore.Options
	// Dir overrides, for the embedded backend, the directory of its files.
	Dir string
}

// Options are what the runtime, not the topology, decides.
type Options struct {
	// EmbeddedPath is the file of the embedded backend, used unless the
	// configuration gives a directory (then the file is named like this
	// one, in that directory).
	EmbeddedPath string
	// Memory is the store of the memory backend, shared by the providers of
	// one process so that a restarted task finds its state; nil means a
	// store of this provider's own.
	Memory *memstore.Store
}

// Provider opens states in one backend. It is safe for concurrent use.
type Provider struct {
	cfg Config

	// Exactly one of these is set.
	file  *filestore.Store
	redis *redisstore.Store
	mem   *memstore.Store

	closeOnce sync.Once
	closeErr  error
}

// New connects to (or opens) the backend cfg names.
func New(cfg Config, o Options) (*Provider, error) {
	p := &Provider{cfg: cfg}
	switch cfg.Kind {
	case Embedded:
		path := o.EmbeddedPath
		if path == "" {
			return nil, fmt.Errorf("state provider %s: no file path given", cfg.Kind)
		}
		if cfg.Dir != "" {
			path = joinBase(cfg.Dir, path)
		}
		s, err := filestore.Open(path, filestore.Options{})
		if err != nil {
			return nil, fmt.Errorf("state provider %s: %w", cfg.Kind, err)
		}
		p.file = s
	case Redis:
		s, err := redisstore.Open(cfg.Redis)
		if err != nil {
			return nil, fmt.Errorf("state provider %s: %w", cfg.Kind, err)
		}
		p.redis = s
	case Memory:
		p.mem = o.Memory
		if p.mem == nil {
			p.mem = memstore.New()
		}
	default:
		return nil, fmt.Errorf("%w: %q", state.ErrUnknownProvider, cfg.Kind)
	}
	return p, nil
}

// Kind returns the provider's backend.
func (p *Provider) Kind() Kind { return p.cfg.Kind }

// State opens the state of one namespace (see Namespace).
func (p *Provider) State(namespace string) (*state.State, error) {
	var b state.Backend
	switch {
	case p.file != nil:
		b = p.file.Backend(namespace)
	case p.redis != nil:
		b = p.redis.Backend(namespace)
	default:
		b = p.mem.Backend(namespace)
	}
	s, err := state.Open(b)
	if err != nil {
		return nil, fmt.Errorf("state %s: %w", namespace, err)
	}
	return s, nil
}

// Close closes the backend's file or connections. States opened on the
// provider fail afterwards.
func (p *Provider) Close() error {
	p.closeOnce.Do(func() {
		switch {
		case p.file != nil:
			p.closeErr = p.file.Close()
		case p.redis != nil:
			p.closeErr = p.redis.Close()
		}
	})
	return p.closeErr
}

// Namespace is the namespace of one task's state: Storm's
// "<component>-<task>", prefixed with the topology's name so that
// topologies sharing a Redis server do not share state. The checkpoint
// spout's is Namespace(name, "$checkpointspout", task), as in Storm.
func Namespace(topologyName, component string, task int) string {
	return topologyName + "/" + component + "-" + strconv.Itoa(task)
}

// ParseConfig reads topology.state.provider and
// topology.state.provider.config from c.
func ParseConfig(c topology.Config) (Config, error) {
	name := c.String(KeyProvider, "")
	var cfg Config
	switch name {
	case "", string(Embedded):
		cfg.Kind = Embedded
	case string(Redis), StormRedisProvider:
		cfg.Kind = Redis
	case string(Memory), StormInMemoryProvider:
		cfg.Kind = Memory
	default:
		return Config{}, fmt.Errorf("%s: %w: %q (known: embedded, redis or %s, memory or %s)",
			KeyProvider, state.ErrUnknownProvider, name, StormRedisProvider, StormInMemoryProvider)
	}
	raw, err := providerConfigJSON(c[KeyProviderConfig])
	if err != nil {
		return Config{}, err
	}
	switch cfg.Kind {
	case Redis:
		cfg.Redis, err = parseRedis(raw)
	case Embedded:
		cfg.Dir, err = parseEmbedded(raw)
	case Memory:
		if raw != nil {
			err = fmt.Errorf("%s: %w: the memory provider takes no configuration", KeyProviderConfig, state.ErrBadProviderConfig)
		}
	}
	if err != nil {
		return Config{}, err
	}
	return cfg, nil
}
