package provider_test

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/redisserver/redistest"
	"github.com/squallstream/squall/state"
	"github.com/squallstream/squall/state/provider"
	"github.com/squallstream/squall/state/redisstore"
	"github.com/squallstream/squall/topology"
)

func TestParseConfig(t *testing.T) {
	redisDefault := redisstore.Options{Addr: "localhost:6379", Timeout: 2 * time.Second}
	tests := []struct {
		name string
		conf topology.Config
		want provider.Config
		err  error
	}{
		{"unset is embedded", topology.Config{}, provider.Config{Kind: provider.Embedded}, nil},
		{"embedded by name", topology.Config{provider.KeyProvider: "embedded"}, provider.Config{Kind: provider.Embedded}, nil},
		{"embedded with a dir", topology.Config{provider.KeyProvider: "embedded", provider.KeyProviderConfig: `{"dir": "/var/squall/state"}`},
			provider.Config{Kind: provider.Embedded, Dir: "/var/squall/state"}, nil},
		{"embedded with a relative dir", topology.Config{provider.KeyProviderConfig: `{"dir": "state"}`}, provider.Config{}, state.ErrBadProviderConfig},
		{"Storm's in-memory class", topology.Config{provider.KeyProvider: provider.StormInMemoryProvider}, provider.Config{Kind: provider.Memory}, nil},
		{"memory with a config", topology.Config{provider.KeyProvider: "memory", provider.KeyProviderConfig: `{}`}, provider.Config{}, state.ErrBadProviderConfig},
		{"Storm's Redis class, no config", topology.Config{provider.KeyProvider: provider.StormRedisProvider},
			provider.Config{Kind: provider.Redis, Redis: redisDefault}, nil},
		{"Storm's documented Redis config", topology.Config{
			provider.KeyProvider: provider.StormRedisProvider,
			provider.KeyProviderConfig: `{
  "keyClass": "java.lang.String",
  "valueClass": "java.lang.Long",
  "keySerializerClass": "org.example.KeySer",
  "valueSerializerClass": "org.example.ValueSer",
  "jedisPoolConfig": {"host": "redis.example", "port": 6380, "timeout": 5000, "database": 3, "password": "xyz"}
}`},
			provider.Config{Kind: provider.Redis, Redis: redisstore.Options{Addr: "redis.example:6380", Password: "xyz", Database: 3, Timeout: 5 * time.Second}}, nil},
		{"Redis config as a YAML mapping", topology.Config{
			provider.KeyProvider:       "redis",
			provider.KeyProviderConfig: map[string]any{"jedisPoolConfig": map[string]any{"host": "::1", "port": 7000}},
		}, provider.Config{Kind: provider.Redis, Redis: redisstore.Options{Addr: "[::1]:7000", Timeout: 2 * time.Second}}, nil},
		{"Redis pool config with defaults", topology.Config{provider.KeyProvider: "redis", provider.KeyProviderConfig: `{"jedisPoolConfig": {}}`},
			provider.Config{Kind: provider.Redis, Redis: redisDefault}, nil},
		{"Redis Cluster", topology.Config{provider.KeyProvider: "redis",
			provider.KeyProviderConfig: `{"jedisClusterConfig": {"nodes": ["localhost:7379"], "timeout": 2000, "maxRedirections": 5}}`},
			provider.Config{}, state.ErrBadProviderConfig},
		{"a misspelt field", topology.Config{provider.KeyProvider: "redis", provider.KeyProviderConfig: `{"jedisPoolconfig": {}}`},
			provider.Config{}, state.ErrBadProviderConfig},
		{"a misspelt nested field", topology.Config{provider.KeyProvider: "redis", provider.KeyProviderConfig: `{"jedisPoolConfig": {"hots": "x"}}`},
			provider.Config{}, state.ErrBadProviderConfig},
		{"a bad port", topology.Config{provider.KeyProvider: "redis", provider.KeyProviderConfig: `{"jedisPoolConfig": {"port": 70000}}`},
			provider.Config{}, state.ErrBadProviderConfig},
		{"a port as a string", topology.Config{provider.KeyProvider: "redis", provider.KeyProviderConfig: `{"jedisPoolConfig": {"port": "6379"}}`},
			provider.Config{}, state.ErrBadProviderConfig},
		{"a zero timeout", topology.Config{provider.KeyProvider: "redis", provider.KeyProviderConfig: `{"jedisPoolConfig": {"timeout": 0}}`},
			provider.Config{}, state.ErrBadProviderConfig},
		{"not JSON", topology.Config{provider.KeyProvider: "redis", provider.KeyProviderConfig: `host=localhost`},
			provider.Config{}, state.ErrBadProviderConfig},
		{"two JSON values", topology.Config{provider.KeyProvider: "redis", provider.KeyProviderConfig: `{} {}`},
			provider.Config{}, state.ErrBadProviderConfig},
		{"a list", topology.Config{provider.KeyProvider: "redis", provider.KeyProviderConfig: []any{"x"}},
			provider.Config{}, state.ErrBadProviderConfig},
		{"too large", topology.Config{provider.KeyProvider: "redis", provider.KeyProviderConfig: `{"keyClass": "` + strings.Repeat("x", 70000) + `"}`},
			provider.Config{}, state.ErrBadProviderConfig},
		{"HBase", topology.Config{provider.KeyProvider: "org.apache.storm.hbase.state.HBaseKeyValueStateProvider"},
			provider.Config{}, state.ErrUnknownProvider},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := provider.ParseConfig(tt.conf)
			if !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
				t.Fatalf("ParseConfig() err = %v, want %v", err, tt.err)
			}
			if got != tt.want {
				t.Errorf("ParseConfig() = %+v, want %+v", got, tt.want)
			}
			if err != nil && !strings.Contains(err.Error(), "topology.state.provider") {
				t.Errorf("error %q does not name the key", err)
			}
		})
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add(provider.StormRedisProvider, `{"jedisPoolConfig": {"host": "h", "port": 1, "timeout": 1, "database": 0, "password": "p"}}`)
	f.Add("embedded", `{"dir": "/x"}`)
	f.Add("memory", ``)
	f.Fuzz(func(t *testing.T, name, conf string) {
		c, err := provider.ParseConfig(topology.Config{provider.KeyProvider: name, provider.KeyProviderConfig: conf})
		if err != nil {
			return
		}
		switch c.Kind {
		case provider.Embedded, provider.Memory:
		case provider.Redis:
			if _, _, err := net.SplitHostPort(c.Redis.Addr); err != nil || c.Redis.Timeout <= 0 {
				t.Fatalf("ParseConfig accepted %q: %+v", conf, c)
			}
		default:
			t.Fatalf("ParseConfig(%q) = kind %q", name, c.Kind)
		}
	})
}

// Each provider kind opens states that keep what was committed, named by
// Namespace.
func TestProviders(t *testing.T) {
	srv := redistest.Start(t)
	host, port, _ := net.SplitHostPort(srv.Addr())
	confs := map[string]topology.Config{
		"embedded": {},
		"memory":   {provider.KeyProvider: provider.StormInMemoryProvider},
		"redis": {provider.KeyProvider: provider.StormRedisProvider,
			provider.KeyProviderConfig: fmt.Sprintf(`{"jedisPoolConfig": {"host": %q, "port": %s, "timeout": 60000}}`, host, port)},
	}
	for name, conf := range confs {
		t.Run(name, func(t *testing.T) {
			cfg, err := provider.ParseConfig(conf)
			if err != nil {
				t.Fatal(err)
			}
			opts := provider.Options{EmbeddedPath: filepath.Join(t.TempDir(), "6700.db")}
			p, err := provider.New(cfg, opts)
			if err != nil {
				t.Fatal(err)
			}
			ns := provider.Namespace("wordcount", "count", 3)
			if ns != "wordcount/count-3" {
				t.Errorf("Namespace() = %q", ns)
			}
			s, err := p.State(ns)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Put("word", []byte("1")); err != nil {
				t.Fatal(err)
			}
			if err := s.PrepareCommit(0); err != nil {
				t.Fatal(err)
			}
			if err := s.Commit(0); err != nil {
				t.Fatal(err)
			}
			again, err := p.State(ns)
			if err != nil {
				t.Fatal(err)
			}
			if v, ok, err := again.Get("word"); string(v) != "1" || !ok || err != nil {
				t.Errorf("Get(word) in a reopened state = %q, %v, %v", v, ok, err)
			}
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
			if err := p.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
		})
	}
}

func TestNewFails(t *testing.T) {
	if _, err := provider.New(provider.Config{Kind: provider.Redis, Redis: redisstore.Options{Addr: unusedAddr(t), Timeout: time.Second}}, provider.Options{}); err == nil {
		t.Error("New(redis at a closed port) succeeded")
	}
	if _, err := provider.New(provider.Config{Kind: provider.Embedded}, provider.Options{}); err == nil {
		t.Error("New(embedded without a path) succeeded")
	}
	if _, err := provider.New(provider.Config{Kind: "hbase"}, provider.Options{}); !errors.Is(err, state.ErrUnknownProvider) {
		t.Errorf("New(hbase) err = %v, want ErrUnknownProvider", err)
	}
}

func unusedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
