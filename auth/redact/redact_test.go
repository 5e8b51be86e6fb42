package redact

import (
	"bytes"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"
)

func TestIsSecretKey(t *testing.T) {
	tests := []struct {
		key  string
		want bool
	}{
		{"storm.zookeeper.auth.payload", true},
		{"storm.zookeeper.topology.auth.payload", true},
		{"storm.zookeeper.auth.scheme", false},
		{"kafka.sasl.jaas.password", true},
		{"sasl.jaas.config", true},
		{"ssl.keystore.key", true},
		{"ssl.keystore.location", false},
		{"ssl.keystore.certificate.chain", false},
		{"db_password", true},
		{"DB_PASSWORD", true},
		{"passwd", true},
		{"redis.secret", true},
		{"aws.secretKey", true},
		{"aws.secret.access.key", true},
		{"AWS_ACCESS_KEY_ID", true},
		{"myAccessToken", true},
		{"api.token", true},
		{"API-KEY", true},
		{"apiKey", true},
		{"apikey", true},
		{"gcp.credentials", true},
		{"topology.credential", true},
		{"tls.private.key", true},
		{"nimbus.client.token.file", true}, // a path, but erring on the safe side
		{"topology.tokenizer.class", false},
		{"topology.workers", false},
		{"topology.message.timeout.secs", false},
		{"secretary.name", false},
		{"topology.users", false},
		{"nimbus.tls.key.path", false},
		{"key", false},
		{"", false},
		{"...", false},
		{"Password", true},
		{"user.pwd", true},
	}
	for _, tt := range tests {
		if got := IsSecretKey(tt.key); got != tt.want {
			t.Errorf("IsSecretKey(%q) = %v, want %v", tt.key, got, tt.want)
		}
	}
}

type namedConf map[string]any

func TestConfig(t *testing.T) {
	in := map[string]any{
		"topology.workers":             2,
		"storm.zookeeper.auth.payload": "user:pw",
		"db.password":                  "hunter2",
		"empty.secret":                 nil,
		"topology.environment":         map[string]any{"PATH": "/bin", "DB_PASSWORD": "x"},
		"plain.map":                    map[string]string{"token": "t", "host": "h"},
		"spouts":                       []any{map[string]any{"api.key": "k", "name": "s"}, "text"},
		"named":                        namedConf{"secret": "s", "ok": 1},
		"whole.secret":                 map[string]any{"a": 1},
		"topology.tokenizer.class":     "Simple",
		"topology.readonly.users":      []any{"alice"},
	}
	want := map[string]any{
		"topology.workers":             2,
		"storm.zookeeper.auth.payload": Mask,
		"db.password":                  Mask,
		"empty.secret":                 nil,
		"topology.environment":         map[string]any{"PATH": "/bin", "DB_PASSWORD": Mask},
		"plain.map":                    map[string]any{"token": Mask, "host": "h"},
		"spouts":                       []any{map[string]any{"api.key": Mask, "name": "s"}, "text"},
		"named":                        map[string]any{"secret": Mask, "ok": 1},
		"whole.secret":                 Mask,
		"topology.tokenizer.class":     "Simple",
		"topology.readonly.users":      []any{"alice"},
	}
	got := Config(in)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Config() =\n%v\nwant\n%v", got, want)
	}
	// The input is untouched.
	if in["db.password"] != "hunter2" || in["topology.environment"].(map[string]any)["DB_PASSWORD"] != "x" {
		t.Errorf("Config modified its input: %v", in)
	}
	if Config(nil) != nil {
		t.Errorf("Config(nil) != nil")
	}
}

func TestStruct(t *testing.T) {
	s, err := structpb.NewStruct(map[string]any{
		"storm.zookeeper.topology.auth.payload": "a:b",
		"topology.workers":                      3,
		"nested":                                map[string]any{"password": "p", "n": []any{map[string]any{"token": "t"}}},
		"null.token":                            nil,
	})
	if err != nil {
		t.Fatal(err)
	}
	Struct(s)
	got := s.AsMap()
	want := map[string]any{
		"storm.zookeeper.topology.auth.payload": Mask,
		"topology.workers":                      float64(3),
		"nested":                                map[string]any{"password": Mask, "n": []any{map[string]any{"token": Mask}}},
		"null.token":                            nil,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Struct() = %v, want %v", got, want)
	}
	Struct(nil) // no panic
}

func TestAttr(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: Attr}))
	log.Info("starting", "password", "hunter2", "conf", map[string]any{"redis.secret": "s3", "port": 1}, "user", "alice")
	out := buf.String()
	for _, secret := range []string{"hunter2", "s3"} {
		if strings.Contains(out, secret) {
			t.Errorf("log line shows secret %q: %s", secret, out)
		}
	}
	if !strings.Contains(out, "user=alice") || !strings.Contains(out, "password="+Mask) {
		t.Errorf("log line = %s, want user=alice and a masked password", out)
	}
}

func FuzzIsSecretKey(f *testing.F) {
	for _, s := range []string{"a.password", "aB", "x_Y-z.1", "\xff\xfe", "ÄÖ.secret"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		// A secret word as a word of its own always makes a key secret.
		if !IsSecretKey(key + ".password") {
			t.Errorf("IsSecretKey(%q) = false", key+".password")
		}
		got := Config(map[string]any{key: "v"})
		if IsSecretKey(key) != (got[key] == Mask) {
			t.Errorf("Config({%q: v}) = %v, IsSecretKey = %v", key, got, IsSecretKey(key))
		}
	})
}

// Storm's topology.state.provider.config is JSON text: the Redis password
// is inside the string.
func TestRedactJSONText(t *testing.T) {
	conf := map[string]any{
		"topology.state.provider.config": `{"jedisPoolConfig": {"host": "redis.example", "port": 6379, "password": "xyz"}}`,
		"topology.name":                  "{not json",
		"plain":                          `{"host": "h"}`,
	}
	got := Config(conf)
	pc, _ := got["topology.state.provider.config"].(string)
	if strings.Contains(pc, "xyz") || !strings.Contains(pc, Mask) || !strings.Contains(pc, "redis.example") {
		t.Errorf("Config: provider config = %q, want the password masked and the host kept", pc)
	}
	if got["topology.name"] != "{not json" || got["plain"] != `{"host": "h"}` {
		t.Errorf("Config changed strings without secrets: %v", got)
	}

	s, err := structpb.NewStruct(map[string]any{"topology.state.provider.config": conf["topology.state.provider.config"]})
	if err != nil {
		t.Fatal(err)
	}
	Struct(s)
	if v := s.Fields["topology.state.provider.config"].GetStringValue(); strings.Contains(v, "xyz") {
		t.Errorf("Struct: provider config = %q, want the password masked", v)
	}

	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: Attr}))
	log.Info("conf", "topology.state.provider.config", conf["topology.state.provider.config"], "conf", conf)
	if strings.Contains(buf.String(), "xyz") {
		t.Errorf("log shows the password: %s", buf.String())
	}
}
