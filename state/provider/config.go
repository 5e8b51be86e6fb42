package provider

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/squallstream/squall/state"
	"github.com/squallstream/squall/state/redisstore"
)

// maxProviderConfigBytes bounds topology.state.provider.config.
const maxProviderConfigBytes = 64 << 10

// providerConfigJSON returns topology.state.provider.config as JSON: Storm
// gives a JSON string; YAML may give a mapping. nil means unset.
func providerConfigJSON(v any) ([]byte, error) {
	var raw []byte
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		if v == "" {
			return nil, nil
		}
		raw = []byte(v)
	case map[string]any:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %v", KeyProviderConfig, state.ErrBadProviderConfig, err)
		}
		raw = b
	default:
		return nil, fmt.Errorf("%s: %w: want a JSON string or a mapping, got %T", KeyProviderConfig, state.ErrBadProviderConfig, v)
	}
	if len(raw) > maxProviderConfigBytes {
		return nil, fmt.Errorf("%s: %w: %d bytes, the limit is %d", KeyProviderConfig, state.ErrBadProviderConfig, len(raw), maxProviderConfigBytes)
	}
	return raw, nil
}

// decodeStrict decodes a JSON object into v, refusing fields v does not
// name exactly (encoding/json matches names ignoring case; Storm's Jackson
// mapper does not, and fails on unknown fields).
func decodeStrict(raw []byte, v any) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s: %w: %s", KeyProviderConfig, state.ErrBadProviderConfig, fmt.Sprintf(format, args...))
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	var fields map[string]json.RawMessage
	if err := d.Decode(&fields); err != nil {
		return bad("%v", err)
	}
	if d.More() {
		return bad("data after the JSON object")
	}
	if err := checkFields("", fields, reflect.TypeOf(v).Elem()); err != nil {
		return bad("%v", err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return bad("%v", err)
	}
	return nil
}

// checkFields reports a field of an object that struct type t does not
// declare by its exact JSON name, looking into nested struct fields.
func checkFields(path string, fields map[string]json.RawMessage, t reflect.Type) error {
	known := make(map[string]reflect.Type, t.NumField())
	var names []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		known[name] = f.Type
		names = append(names, name)
	}
	for name, value := range fields {
		ft, ok := known[name]
		if !ok {
			return fmt.Errorf("unknown field %q (known: %s)", path+name, strings.Join(names, ", "))
		}
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() != reflect.Struct || bytes.Equal(bytes.TrimSpace(value), []byte("null")) {
			continue
		}
		var nested map[string]json.RawMessage
		if err := json.Unmarshal(value, &nested); err != nil {
			return fmt.Errorf("%s: %v", path+name, err)
		}
		if err := checkFields(path+name+".", nested, ft); err != nil {
			return err
		}
	}
	return nil
}

// stormRedisConfig is the JSON shape of Storm's
// RedisKeyValueStateProvider.StateConfig. The class fields name Java
// serializers; squall stores bytes its components encode, so it accepts
// and ignores them.
type stormRedisConfig struct {
	KeyClass             *string          `json:"keyClass"`
	ValueClass           *string          `json:"valueClass"`
	KeySerializerClass   *string          `json:"keySerializerClass"`
	ValueSerializerClass *string          `json:"valueSerializerClass"`
	JedisPoolConfig      *jedisPoolConfig `json:"jedisPoolConfig"`
	JedisClusterConfig   json.RawMessage  `json:"jedisClusterConfig"`
}

// jedisPoolConfig is Storm's JedisPoolConfig, with Jedis's defaults.
type jedisPoolConfig struct {
	Host     *string `json:"host"`
	Port     *int    `json:"port"`
	Timeout  *int    `json:"timeout"` // ms
	Database *int    `json:"database"`
	Password *string `json:"password"`
}

func parseRedis(raw []byte) (redisstore.Options, error) {
	o := redisstore.Options{Addr: "localhost:6379", Timeout: 2 * time.Second}
	if raw == nil {
		return o, nil
	}
	var c stormRedisConfig
	if err := decodeStrict(raw, &c); err != nil {
		return o, err
	}
	if c.JedisClusterConfig != nil {
		return o, fmt.Errorf("%s: %w: jedisClusterConfig: Redis Cluster is not supported yet; give jedisPoolConfig",
			KeyProviderConfig, state.ErrBadProviderConfig)
	}
	p := c.JedisPoolConfig
	if p == nil {
		return o, nil
	}
	host, port := "localhost", 6379
	if p.Host != nil {
		host = *p.Host
	}
	if p.Port != nil {
		port = *p.Port
	}
	if host == "" || port < 1 || port > 65535 {
		return o, fmt.Errorf("%s: %w: jedisPoolConfig: host %q port %d", KeyProviderConfig, state.ErrBadProviderConfig, host, port)
	}
	o.Addr = net.JoinHostPort(host, strconv.Itoa(port))
	if p.Timeout != nil {
		if *p.Timeout <= 0 {
			return o, fmt.Errorf("%s: %w: jedisPoolConfig.timeout %d ms: must be positive", KeyProviderConfig, state.ErrBadProviderConfig, *p.Timeout)
		}
		o.Timeout = time.Duration(*p.Timeout) * time.Millisecond
	}
	if p.Database != nil {
		if *p.Database < 0 {
			return o, fmt.Errorf("%s: %w: jedisPoolConfig.database %d", KeyProviderConfig, state.ErrBadProviderConfig, *p.Database)
		}
		o.Database = *p.Database
	}
	if p.Password != nil {
		o.Password = *p.Password
	}
	return o, nil
}

// embeddedConfig is squall's configuration of the embedded backend.
type embeddedConfig struct {
	// Dir holds the backend's files instead of storm.local.dir/state.
	Dir string `json:"dir"`
}

func parseEmbedded(raw []byte) (string, error) {
	if raw == nil {
		return "", nil
	}
	var c embeddedConfig
	if err := decodeStrict(raw, &c); err != nil {
		return "", err
	}
	if c.Dir != "" && !filepath.IsAbs(c.Dir) {
		return "", fmt.Errorf("%s: %w: dir %q must be absolute", KeyProviderConfig, state.ErrBadProviderConfig, c.Dir)
	}
	return c.Dir, nil
}

// joinBase returns the file named like path's base in dir.
func joinBase(dir, path string) string { return filepath.Join(dir, filepath.Base(path)) }
