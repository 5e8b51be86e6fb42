package kafka

import (
	"crypto/tls"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// role says whether a Kafka property belongs to consumers, producers or
// both.
type role uint8

const (
	consumer role = 1 << iota
	producer
	both = consumer | producer
)

// Limits on the properties a component is given.
const (
	maxProps         = 256
	maxPropValueSize = 64 << 10
)

// clientSettings are a component's Kafka properties, parsed: the options
// of its franz-go client and what the component itself does with them.
// They may hold secrets (sec) and are never logged.
type clientSettings struct {
	bootstrap []string
	opts      []kgo.Opt
	sec       security

	// Consumer side.
	groupID string
	// requestTimeout is request.timeout.ms: the spout's own requests
	// (metadata, offsets, commits).
	requestTimeout time.Duration
	pollRecords    int
	// resetOffset is auto.offset.reset: "earliest", "latest", "none" or
	// "" for the processing guarantee's default.
	resetOffset          string
	keyBytes, valueBytes bool

	// Producer side.
	acks       int // -1 (all), 0 or 1
	idempotent *bool
}

// propSpec parses one Kafka property.
type propSpec struct {
	role  role
	apply func(s *clientSettings, v string) error
}

// ignoredProps tune the Java client's group management or sockets; the
// spout assigns partitions itself and franz-go manages its connections, so
// they have no effect, and are accepted so that existing configurations
// load.
var ignoredProps = map[string]role{
	"session.timeout.ms":            consumer,
	"heartbeat.interval.ms":         consumer,
	"max.poll.interval.ms":          consumer,
	"partition.assignment.strategy": consumer,
	"group.instance.id":             consumer,
	"receive.buffer.bytes":          both,
	"send.buffer.bytes":             both,
	"reconnect.backoff.ms":          both,
	"reconnect.backoff.max.ms":      both,
	"retry.backoff.ms":              both,
	"ssl.enabled.protocols":         both,
}

var props = map[string]propSpec{
	"bootstrap.servers": {both, func(s *clientSettings, v string) error {
		s.bootstrap = splitList(v)
		return nil
	}},
	"client.id": {both, func(s *clientSettings, v string) error {
		s.opts = append(s.opts, kgo.ClientID(v))
		return nil
	}},
	"metadata.max.age.ms": {both, durationProp(func(d time.Duration) kgo.Opt { return kgo.MetadataMaxAge(d) })},
	"connections.max.idle.ms": {both, durationProp(func(d time.Duration) kgo.Opt {
		return kgo.ConnIdleTimeout(d)
	})},

	// Security.
	"security.protocol": {both, func(s *clientSettings, v string) error {
		switch v = strings.ToUpper(v); v {
		case protoPlaintext, protoSSL, protoSASLPlaintext, protoSASLSSL:
			s.sec.protocol = v
			return nil
		}
		return fmt.Errorf("want PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL")
	}},
	"sasl.mechanism": {both, func(s *clientSettings, v string) error {
		switch v = strings.ToUpper(v); v {
		case mechPlain, mechSHA256, mechSHA512:
			s.sec.mechanism = v
			return nil
		case "GSSAPI", "OAUTHBEARER":
			return fmt.Errorf("%w: SASL mechanism %s (squall speaks PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512)", ErrUnsupported, v)
		}
		return fmt.Errorf("want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
	}},
	"sasl.jaas.config": {both, func(s *clientSettings, v string) error { return s.sec.setJAAS(v) }},
	// squall's shorthands for a JAAS configuration.
	"sasl.username":       {both, func(s *clientSettings, v string) error { s.sec.username = v; return nil }},
	"sasl.password":       {both, func(s *clientSettings, v string) error { s.sec.password = v; return nil }},
	"ssl.truststore.type": {both, pemOnly("ssl.truststore.type")},
	"ssl.keystore.type":   {both, pemOnly("ssl.keystore.type")},
	"ssl.truststore.location": {both, func(s *clientSettings, v string) error {
		s.sec.caFile = v
		return nil
	}},
	"ssl.truststore.certificates": {both, func(s *clientSettings, v string) error {
		s.sec.caPEM = v
		return nil
	}},
	"ssl.keystore.location": {both, func(s *clientSettings, v string) error {
		s.sec.keystoreFile = v
		return nil
	}},
	"ssl.keystore.certificate.chain": {both, func(s *clientSettings, v string) error {
		s.sec.certPEM = v
		return nil
	}},
	"ssl.keystore.key": {both, func(s *clientSettings, v string) error {
		s.sec.keyPEM = v
		return nil
	}},
	"ssl.key.password":        {both, unsupported("an encrypted private key; give squall the key unencrypted and protect the file instead")},
	"ssl.keystore.password":   {both, unsupported("keystore passwords (JKS and PKCS12 keystores); use PEM files (ssl.keystore.type=PEM)")},
	"ssl.truststore.password": {both, unsupported("truststore passwords (JKS and PKCS12 truststores); use PEM files (ssl.truststore.type=PEM)")},
	"ssl.endpoint.identification.algorithm": {both, func(s *clientSettings, v string) error {
		switch strings.ToLower(v) {
		case "https":
			s.sec.noHostnameCheck = false
		case "":
			s.sec.noHostnameCheck = true
		default:
			return fmt.Errorf("want https or empty")
		}
		return nil
	}},
	"ssl.protocol": {both, func(s *clientSettings, v string) error {
		switch v {
		case "TLSv1.2", "TLS":
			s.sec.minTLS = tls.VersionTLS12
		case "TLSv1.3":
			s.sec.minTLS = tls.VersionTLS13
		default:
			return fmt.Errorf("want TLSv1.2 or TLSv1.3")
		}
		return nil
	}},

	// Consumer.
	"group.id": {consumer, func(s *clientSettings, v string) error { s.groupID = v; return nil }},
	"enable.auto.commit": {consumer, func(s *clientSettings, v string) error {
		return fmt.Errorf("%w: the spout commits itself; choose processing.guarantee (AT_LEAST_ONCE, AT_MOST_ONCE or NO_GUARANTEE) instead, as storm-kafka-client insists", ErrUnsupported)
	}},
	"auto.offset.reset": {consumer, func(s *clientSettings, v string) error {
		switch v = strings.ToLower(v); v {
		case "earliest", "latest", "none":
			s.resetOffset = v
			return nil
		}
		return fmt.Errorf("want earliest, latest or none")
	}},
	"isolation.level": {consumer, func(s *clientSettings, v string) error {
		switch strings.ToLower(v) {
		case "read_uncommitted":
		case "read_committed":
			s.opts = append(s.opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
		default:
			return fmt.Errorf("want read_uncommitted or read_committed")
		}
		return nil
	}},
	"max.poll.records": {consumer, func(s *clientSettings, v string) error {
		n, err := positiveInt(v, 1<<20)
		s.pollRecords = n
		return err
	}},
	"fetch.min.bytes":           {consumer, int32Prop(func(n int32) kgo.Opt { return kgo.FetchMinBytes(n) })},
	"fetch.max.bytes":           {consumer, int32Prop(func(n int32) kgo.Opt { return kgo.FetchMaxBytes(n) })},
	"max.partition.fetch.bytes": {consumer, int32Prop(func(n int32) kgo.Opt { return kgo.FetchMaxPartitionBytes(n) })},
	"fetch.max.wait.ms":         {consumer, durationProp(func(d time.Duration) kgo.Opt { return kgo.FetchMaxWait(d) })},
	"key.deserializer": {consumer, func(s *clientSettings, v string) error {
		return serde(v, "Deserializer", &s.keyBytes)
	}},
	"value.deserializer": {consumer, func(s *clientSettings, v string) error {
		return serde(v, "Deserializer", &s.valueBytes)
	}},

	// Producer.
	"acks": {producer, func(s *clientSettings, v string) error {
		switch strings.ToLower(v) {
		case "all", "-1":
			s.acks = -1
		case "1":
			s.acks = 1
		case "0":
			s.acks = 0
		default:
			return fmt.Errorf("want all, -1, 1 or 0")
		}
		return nil
	}},
	"enable.idempotence": {producer, func(s *clientSettings, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("want true or false")
		}
		s.idempotent = &b
		return nil
	}},
	"linger.ms":           {producer, durationProp(func(d time.Duration) kgo.Opt { return kgo.ProducerLinger(d) })},
	"delivery.timeout.ms": {producer, durationProp(func(d time.Duration) kgo.Opt { return kgo.RecordDeliveryTimeout(d) })},
	"request.timeout.ms": {both, func(s *clientSettings, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 || n > int64(time.Hour/time.Millisecond) {
			return fmt.Errorf("want milliseconds, from 1 to an hour")
		}
		s.requestTimeout = time.Duration(n) * time.Millisecond
		s.opts = append(s.opts, kgo.ProduceRequestTimeout(s.requestTimeout))
		return nil
	}},
	"batch.size": {producer, int32Prop(func(n int32) kgo.Opt { return kgo.ProducerBatchMaxBytes(n) })},
	"buffer.memory": {producer, func(s *clientSettings, v string) error {
		n, err := positiveInt(v, 1<<40)
		s.opts = append(s.opts, kgo.MaxBufferedBytes(n))
		return err
	}},
	"retries": {producer, func(s *clientSettings, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("want a whole number")
		}
		s.opts = append(s.opts, kgo.RecordRetries(n))
		return nil
	}},
	"compression.type": {producer, func(s *clientSettings, v string) error {
		codecs := map[string]kgo.CompressionCodec{
			"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(), "snappy": kgo.SnappyCompression(),
			"lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression(),
		}
		c, ok := codecs[strings.ToLower(v)]
		if !ok {
			return fmt.Errorf("want none, gzip, snappy, lz4 or zstd")
		}
		s.opts = append(s.opts, kgo.ProducerBatchCompression(c))
		return nil
	}},
	"key.serializer": {producer, func(s *clientSettings, v string) error {
		var raw bool
		return serde(v, "Serializer", &raw)
	}},
	"value.serializer": {producer, func(s *clientSettings, v string) error {
		var raw bool
		return serde(v, "Serializer", &raw)
	}},
}

// parseProps reads a component's Kafka properties (Storm's setProp,
// withProducerProperties) for a client of role r. Every error names the
// property.
func parseProps(m map[string]any, r role) (*clientSettings, error) {
	s := &clientSettings{acks: -1, requestTimeout: defaultRequestTimeout}
	if len(m) > maxProps {
		return nil, fmt.Errorf("%w: %d properties, more than %d", ErrConfig, len(m), maxProps)
	}
	for _, k := range sortedKeys(m) {
		v, err := propString(m[k])
		if err != nil {
			return nil, fmt.Errorf("%w: property %s: %v", ErrConfig, k, err)
		}
		if len(v) > maxPropValueSize {
			return nil, fmt.Errorf("%w: property %s is longer than %d bytes", ErrConfig, k, maxPropValueSize)
		}
		if ir, ok := ignoredProps[k]; ok && ir&r != 0 {
			continue
		}
		spec, ok := props[k]
		if !ok || spec.role&r == 0 {
			return nil, fmt.Errorf("%w: Kafka %s property %s%s", ErrUnsupported, roleName(r), k, suggestProp(k, r))
		}
		if err := spec.apply(s, v); err != nil {
			return nil, fmt.Errorf("%w: property %s = %s: %w", ErrConfig, k, quoteSecret(k, v), err)
		}
	}
	if err := s.sec.check(); err != nil {
		return nil, err
	}
	if r&producer != 0 {
		idem := s.acks == -1
		if s.idempotent != nil {
			if *s.idempotent && s.acks != -1 {
				return nil, fmt.Errorf("%w: enable.idempotence=true needs acks=all", ErrConfig)
			}
			idem = *s.idempotent
		}
		switch s.acks {
		case 0:
			s.opts = append(s.opts, kgo.RequiredAcks(kgo.NoAck()))
		case 1:
			s.opts = append(s.opts, kgo.RequiredAcks(kgo.LeaderAck()))
		default:
			s.opts = append(s.opts, kgo.RequiredAcks(kgo.AllISRAcks()))
		}
		if !idem {
			s.opts = append(s.opts, kgo.DisableIdempotentWrite())
		}
	}
	return s, nil
}

func roleName(r role) string {
	if r == producer {
		return "producer"
	}
	return "consumer"
}

// quoteSecret shows a property's value in an error unless it may be
// secret.
func quoteSecret(key, v string) string {
	if strings.HasPrefix(key, "sasl.") || strings.HasPrefix(key, "ssl.") || len(v) > 200 {
		return "(value hidden)"
	}
	return strconv.Quote(v)
}

func suggestProp(k string, r role) string {
	var names []string
	for n, spec := range props {
		if spec.role&r != 0 {
			names = append(names, n)
		}
	}
	for n, ir := range ignoredProps {
		if ir&r != 0 {
			names = append(names, n)
		}
	}
	best, bestD := "", 4
	for _, n := range names {
		if d := editDistance(k, n); d < bestD {
			best, bestD = n, d
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %s?)", best)
	}
	return " (see docs/kafka.md for the properties squall understands)"
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// propString turns a YAML scalar into a property's text.
func propString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case int, int64, uint64, float64, bool:
		return fmt.Sprint(x), nil
	case []any:
		// bootstrap.servers given as a list.
		parts := make([]string, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return "", fmt.Errorf("a list of %T", e)
			}
			parts[i] = s
		}
		return strings.Join(parts, ","), nil
	case nil:
		return "", nil
	}
	return "", fmt.Errorf("want a string, number or boolean, not %T", v)
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func positiveInt(v string, limit int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > limit {
		return 0, fmt.Errorf("want a whole number from 1 to %d", limit)
	}
	return n, nil
}

func int32Prop(f func(int32) kgo.Opt) func(*clientSettings, string) error {
	return func(s *clientSettings, v string) error {
		n, err := positiveInt(v, 1<<31-1)
		if err != nil {
			return err
		}
		s.opts = append(s.opts, f(int32(n)))
		return nil
	}
}

func durationProp(f func(time.Duration) kgo.Opt) func(*clientSettings, string) error {
	return func(s *clientSettings, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n > int64(24*time.Hour/time.Millisecond) {
			return fmt.Errorf("want milliseconds, from 0 to a day")
		}
		s.opts = append(s.opts, f(time.Duration(n)*time.Millisecond))
		return nil
	}
}

func pemOnly(name string) func(*clientSettings, string) error {
	return func(s *clientSettings, v string) error {
		if strings.EqualFold(v, "PEM") {
			return nil
		}
		return fmt.Errorf("%w: %s %s; convert the store to PEM (e.g. keytool -exportcert -rfc, openssl pkcs12 -nodes) and set %s=PEM", ErrUnsupported, name, v, name)
	}
}

func unsupported(what string) func(*clientSettings, string) error {
	return func(*clientSettings, string) error { return fmt.Errorf("%w: %s", ErrUnsupported, what) }
}

// serde accepts Kafka's String and ByteArray (de)serializers, the two
// whose bytes squall can pass on; raw says which was chosen.
func serde(v, kind string, raw *bool) error {
	class := v[strings.LastIndex(v, ".")+1:]
	switch class {
	case "String" + kind:
		*raw = false
	case "ByteArray" + kind, "Bytes" + kind:
		*raw = true
	default:
		return fmt.Errorf("%w: %s (squall passes strings or bytes: org.apache.kafka.common.serialization.String%s or ByteArray%s)", ErrUnsupported, v, kind, kind)
	}
	return nil
}
