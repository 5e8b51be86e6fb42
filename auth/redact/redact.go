// Package redact hides configuration values whose key looks secret
// (passwords, secrets, tokens, credentials, ZooKeeper auth payloads), as
// Storm's UI does, so that REST, the CLI and logs can show a configuration
// without showing what it protects.
package redact

import (
	"encoding/json"
	"log/slog"
	"reflect"
	"strings"
	"unicode"

	"google.golang.org/protobuf/types/known/structpb"
)

// Mask replaces a secret value. It is the same whatever the value, so
// nothing (not even the length) leaks.
const Mask = "*****"

// secretWords are the key words that mark a value as secret wherever they
// appear in a key ("db.password", "aws.secretKey", "API_TOKEN").
var secretWords = map[string]bool{
	"password":    true,
	"passwords":   true,
	"passwd":      true,
	"pwd":         true,
	"passphrase":  true,
	"secret":      true,
	"secrets":     true,
	"token":       true,
	"tokens":      true,
	"credential":  true,
	"credentials": true,
	"creds":       true,
	"apikey":      true,
}

// secretPairs are two consecutive key words that mark a value as secret:
// Storm's storm.zookeeper[.topology].auth.payload, key material, and
// Kafka's sasl.jaas.config (which holds a password) and ssl.keystore.key
// (an inline private key).
var secretPairs = [][2]string{
	{"auth", "payload"},
	{"api", "key"},
	{"private", "key"},
	{"access", "key"},
	{"secret", "key"},
	{"jaas", "config"},
	{"keystore", "key"},
}

// IsSecretKey reports whether a configuration key looks like it holds a
// secret. The key is split into words at dots, dashes, underscores,
// spaces and lower-to-upper case changes ("aws.secretKey" is aws, secret,
// key), so "topology.tokenizer.class" is not secret but
// "kafka.sasl.jaas.password" and "myAccessToken" are.
func IsSecretKey(key string) bool {
	words := splitWords(key)
	for i, w := range words {
		if secretWords[w] {
			return true
		}
		if i == 0 {
			continue
		}
		for _, p := range secretPairs {
			if words[i-1] == p[0] && w == p[1] {
				return true
			}
		}
	}
	return false
}

// splitWords returns the lower-case words of key.
func splitWords(key string) []string {
	var (
		words []string
		cur   strings.Builder
		prev  rune
	)
	flush := func() {
		if cur.Len() > 0 {
			words = append(words, cur.String())
			cur.Reset()
		}
	}
	for _, r := range key {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
		case unicode.IsUpper(r) && (unicode.IsLower(prev) || unicode.IsDigit(prev)):
			flush()
			cur.WriteRune(unicode.ToLower(r))
		default:
			cur.WriteRune(unicode.ToLower(r))
		}
		prev = r
	}
	flush()
	return words
}

// Config returns a copy of conf in which the value of every secret key is
// Mask, at any depth: maps inside maps and lists (topology.environment's
// variables, a spout's settings) are redacted by their own keys. conf is
// not modified. A nil map stays nil.
func Config(conf map[string]any) map[string]any {
	if conf == nil {
		return nil
	}
	out := make(map[string]any, len(conf))
	for k, v := range conf {
		if IsSecretKey(k) && v != nil {
			out[k] = Mask
			continue
		}
		out[k] = value(v)
	}
	return out
}

func value(v any) any {
	switch x := v.(type) {
	case string:
		return jsonText(x)
	case map[string]any:
		return Config(x)
	case map[string]string:
		out := make(map[string]any, len(x))
		for k, s := range x {
			if IsSecretKey(k) {
				out[k] = Mask
			} else {
				out[k] = s
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = value(e)
		}
		return out
	}
	// Named map types (topology.Config) and other string-keyed maps.
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Map && rv.Type().Key().Kind() == reflect.String {
		m := make(map[string]any, rv.Len())
		for it := rv.MapRange(); it.Next(); {
			m[it.Key().String()] = it.Value().Interface()
		}
		return Config(m)
	}
	return v
}

// Struct redacts s in place, as Config does, for configurations carried in
// API responses (google.protobuf.Struct).
func Struct(s *structpb.Struct) {
	if s == nil {
		return
	}
	for k, v := range s.Fields {
		if IsSecretKey(k) {
			if _, isNull := v.GetKind().(*structpb.Value_NullValue); !isNull && v != nil {
				s.Fields[k] = structpb.NewStringValue(Mask)
			}
			continue
		}
		structValue(v)
	}
}

func structValue(v *structpb.Value) {
	switch x := v.GetKind().(type) {
	case *structpb.Value_StringValue:
		x.StringValue = jsonText(x.StringValue)
	case *structpb.Value_StructValue:
		Struct(x.StructValue)
	case *structpb.Value_ListValue:
		for _, e := range x.ListValue.GetValues() {
			structValue(e)
		}
	}
}

// Attr is a slog.HandlerOptions.ReplaceAttr function: it masks the value of
// every attribute whose key looks secret, and redacts map values, so that
// a configuration logged by mistake shows no secret.
func Attr(_ []string, a slog.Attr) slog.Attr {
	if IsSecretKey(a.Key) && a.Value.Kind() != slog.KindGroup {
		return slog.String(a.Key, Mask)
	}
	if a.Value.Kind() == slog.KindString {
		if s := a.Value.String(); s != "" && s[0] == '{' {
			return slog.String(a.Key, jsonText(s))
		}
	}
	if a.Value.Kind() == slog.KindAny {
		if v := a.Value.Any(); reflect.ValueOf(v).Kind() == reflect.Map {
			return slog.Any(a.Key, value(v))
		}
	}
	return a
}

// maxJSONText bounds the JSON text jsonText parses.
const maxJSONText = 1 << 20

// jsonText redacts a string that holds a JSON object, as Storm's
// topology.state.provider.config does (its Redis password is inside the
// string, not under a key of the configuration). Other strings, and JSON
// with no secret key, are returned as they are.
func jsonText(s string) string {
	if len(s) < 2 || len(s) > maxJSONText || strings.TrimSpace(s)[0] != '{' {
		return s
	}
	var obj map[string]any
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	if d.Decode(&obj) != nil || d.More() {
		return s
	}
	red := Config(obj)
	if reflect.DeepEqual(red, obj) {
		return s
	}
	b, err := json.Marshal(red)
	if err != nil {
		return Mask
	}
	return string(b)
}
