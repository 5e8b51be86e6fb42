package kafka

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/topology"
)

// loadKafka loads a topology of one Kafka spout with spoutArgs feeding a
// Kafka bolt with boltArgs (YAML flow mappings).
func loadKafka(spoutArgs, boltArgs string) (*topology.Topology, error) {
	r := topology.NewRegistry()
	Register(r)
	y := fmt.Sprintf(`
name: k
spouts:
  - id: in
    go: squall.KafkaSpout
    args: %s
bolts:
  - id: out
    go: squall.KafkaBolt
    args: %s
streams:
  - {from: in, to: out, grouping: {type: SHUFFLE}}
`, spoutArgs, boltArgs)
	return topology.Load([]byte(y), topology.LoadOptions{Registry: r})
}

const okSpout = `{bootstrap.servers: "h:9092", topics: [t], group.id: g}`
const okBolt = `{topic: out}`

func TestArgsErrors(t *testing.T) {
	tests := []struct {
		name        string
		spout, bolt string
		want        error
	}{
		{"ok", okSpout, okBolt, nil},
		{"no group", `{topics: [t]}`, okBolt, ErrConfig},
		{"no topics", `{group.id: g}`, okBolt, ErrConfig},
		{"topics and pattern", `{group.id: g, topics: [a], topic.pattern: "a.*"}`, okBolt, ErrConfig},
		{"bad pattern", `{group.id: g, topic.pattern: "a(("}`, okBolt, ErrConfig},
		{"bad topic name", `{group.id: g, topics: ["a b"]}`, okBolt, ErrConfig},
		{"bad strategy", `{group.id: g, topics: [t], first.poll.offset.strategy: FIRST}`, okBolt, ErrConfig},
		{"timestamp strategy", `{group.id: g, topics: [t], first.poll.offset.strategy: TIMESTAMP}`, okBolt, ErrUnsupported},
		{"bad guarantee", `{group.id: g, topics: [t], processing.guarantee: EXACTLY_ONCE}`, okBolt, ErrConfig},
		{"negative max uncommitted", `{group.id: g, topics: [t], max.uncommitted.offsets: -1}`, okBolt, ErrConfig},
		{"misspelt argument", `{group.id: g, topics: [t], proccessing.guarantee: AT_MOST_ONCE}`, okBolt, topology.ErrBadArgs},
		{"wrong type", `{group.id: g, topics: [t], offset.commit.period.ms: soon}`, okBolt, topology.ErrBadArgs},
		{"props not a map", `{group.id: g, topics: [t], props: [a]}`, okBolt, topology.ErrBadArgs},
		{"unknown property", `{group.id: g, topics: [t], props: {fetch.max.wiat.ms: 1}}`, okBolt, ErrUnsupported},
		{"auto commit", `{group.id: g, topics: [t], props: {enable.auto.commit: true}}`, okBolt, ErrUnsupported},
		{"producer property on the spout", `{group.id: g, topics: [t], props: {linger.ms: 5}}`, okBolt, ErrUnsupported},
		{"group twice", `{group.id: g, topics: [t], props: {group.id: h}}`, okBolt, ErrConfig},
		{"servers twice", `{bootstrap.servers: a, group.id: g, topics: [t], props: {bootstrap.servers: b}}`, okBolt, ErrConfig},
		{"jks truststore", `{group.id: g, topics: [t], props: {security.protocol: SSL, ssl.truststore.type: JKS}}`, okBolt, ErrUnsupported},
		{"gssapi", `{group.id: g, topics: [t], props: {security.protocol: SASL_SSL, sasl.mechanism: GSSAPI}}`, okBolt, ErrUnsupported},
		{"sasl without credentials", `{group.id: g, topics: [t], props: {security.protocol: SASL_SSL, sasl.mechanism: PLAIN}}`, okBolt, ErrConfig},
		{"sasl without mechanism", `{group.id: g, topics: [t], props: {security.protocol: SASL_PLAINTEXT, sasl.username: u, sasl.password: p}}`, okBolt, ErrConfig},
		{"credentials on plaintext", `{group.id: g, topics: [t], props: {sasl.username: u, sasl.password: p}}`, okBolt, ErrConfig},
		{"tls settings on plaintext", `{group.id: g, topics: [t], props: {ssl.truststore.location: ca.pem}}`, okBolt, ErrConfig},
		{"scram module, plain mechanism", `{group.id: g, topics: [t], props: {security.protocol: SASL_SSL, sasl.mechanism: PLAIN,
			sasl.jaas.config: "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"u\" password=\"p\";"}}`, okBolt, ErrConfig},
		{"kerberos module", `{group.id: g, topics: [t], props: {security.protocol: SASL_SSL,
			sasl.jaas.config: "com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true;"}}`, okBolt, ErrUnsupported},
		{"encrypted key", `{group.id: g, topics: [t], props: {security.protocol: SSL, ssl.key.password: x}}`, okBolt, ErrUnsupported},
		{"avro deserializer", `{group.id: g, topics: [t], props: {value.deserializer: io.confluent.kafka.serializers.KafkaAvroDeserializer}}`, okBolt, ErrUnsupported},
		{"unknown record field", `{group.id: g, topics: [t], fields: [topic, body]}`, okBolt, ErrConfig},
		{"topic.streams not a map", `{group.id: g, topics: [t], topic.streams: {a: [b]}}`, okBolt, topology.ErrBadArgs},
		{"topic.streams unknown key", `{group.id: g, topics: [t], topic.streams: {a: {stream: s, feilds: [key]}}}`, okBolt, topology.ErrBadArgs},
		{"too many properties", `{group.id: g, topics: [t], props: {` + manyProps(maxProps+1) + `}}`, okBolt, ErrConfig},
		{"bolt without topic", okSpout, `{key.field: k}`, ErrConfig},
		{"bolt bad acks", okSpout, `{topic: o, props: {acks: some}}`, ErrConfig},
		{"bolt idempotence without acks all", okSpout, `{topic: o, props: {acks: 1, enable.idempotence: true}}`, ErrConfig},
		{"bolt consumer property", okSpout, `{topic: o, props: {fetch.min.bytes: 1}}`, ErrUnsupported},
		{"bolt fire and forget, sync", okSpout, `{topic: o, fire.and.forget: true, async: false}`, ErrConfig},
		{"bolt bad compression", okSpout, `{topic: o, props: {compression.type: brotli}}`, ErrConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadKafka(tt.spout, tt.bolt)
			switch {
			case tt.want == nil && err != nil:
				t.Fatalf("load: %v", err)
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Fatalf("load = %v, want %v", err, tt.want)
			}
		})
	}
}

func manyProps(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "x%d: 1, ", i)
	}
	return b.String()
}

// TestErrorsHideSecrets: a bad value of a secret property is not quoted.
func TestErrorsHideSecrets(t *testing.T) {
	_, err := loadKafka(`{group.id: g, topics: [t], props: {security.protocol: SASL_SSL, sasl.mechanism: PLAIN,
		sasl.jaas.config: "PlainLoginModule required password=\"hunter2\""}}`, okBolt)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("load = %v; want an error without the password", err)
	}
}

func TestSpoutArgs(t *testing.T) {
	r := topology.NewRegistry()
	Register(r)
	f, _ := r.Spout(SpoutName)
	a := topology.NewArgs(map[string]any{
		"bootstrap.servers": "a:1, b:2", "topics": []any{"x", "y"}, "group.id": "g",
		"first.poll.offset.strategy": "LATEST", "processing.guarantee": "NO_GUARANTEE",
		"tuple.tracking.enforced": true, "max.uncommitted.offsets": 7, "offset.commit.period.ms": 1500,
		"poll.timeout.ms": 300, "partition.refresh.period.ms": 4000,
		"retry.initial.delay.ms": 10, "retry.max.retries": 3,
		"stream": "main", "fields": []any{"key", "value"},
		"topic.streams": map[string]any{"y": map[string]any{"stream": "ys", "fields": []any{"value"}}},
		"props":         map[string]any{"client.id": "me", "max.poll.records": 50, "value.deserializer": "org.apache.kafka.common.serialization.ByteArrayDeserializer"},
	})
	sp, err := f(a)
	if err != nil {
		t.Fatal(err)
	}
	s := sp.(*Spout).set
	want := SpoutConfig{
		BootstrapServers: []string{"a:1", "b:2"}, Topics: []string{"x", "y"}, GroupID: "g",
		FirstPollOffsetStrategy: Latest, ProcessingGuarantee: NoGuarantee, TupleTrackingEnforced: true,
		MaxUncommittedOffsets: 7, OffsetCommitPeriod: 1500 * time.Millisecond, PollTimeout: 300 * time.Millisecond,
		PartitionRefreshPeriod: 4 * time.Second,
		Retry:                  RetryPolicy{InitialDelay: 10 * time.Millisecond, DelayPeriod: 2 * time.Millisecond, MaxDelay: 10 * time.Second, MaxRetries: 3},
		Stream:                 "main", Fields: []string{"key", "value"},
		TopicRoutes: map[string]Route{"y": {Stream: "ys", Fields: []string{"value"}}},
		Props:       s.Props,
	}
	if !reflect.DeepEqual(s.SpoutConfig, want) {
		t.Errorf("config = %+v\nwant %+v", s.SpoutConfig, want)
	}
	if s.client.pollRecords != 50 || !s.client.valueBytes || s.client.keyBytes {
		t.Errorf("poll records %d, value bytes %v, key bytes %v; want 50, true, false", s.client.pollRecords, s.client.valueBytes, s.client.keyBytes)
	}
	if got := sp.(*Spout).DeclareOutputs(); len(got) != 2 || got[0].ID != "main" || got[1].ID != "ys" {
		t.Errorf("outputs = %v", got)
	}
	if unused := a.Unused(); len(unused) != 0 {
		t.Errorf("arguments not read: %v", unused)
	}
}

func TestSpoutDefaults(t *testing.T) {
	sp, err := NewSpout(SpoutConfig{Topics: []string{"t"}, GroupID: "g"})
	if err != nil {
		t.Fatal(err)
	}
	s := sp.set
	if s.FirstPollOffsetStrategy != UncommittedEarliest || s.ProcessingGuarantee != AtLeastOnce ||
		s.MaxUncommittedOffsets != 10_000_000 || s.OffsetCommitPeriod != 30*time.Second ||
		s.PollTimeout != 200*time.Millisecond || s.PartitionRefreshPeriod != 2*time.Second ||
		s.Retry != DefaultRetryPolicy || s.client.pollRecords != 500 {
		t.Errorf("defaults = %+v", s.SpoutConfig)
	}
	if got := sp.DeclareOutputs(); len(got) != 1 || !reflect.DeepEqual(got[0].Fields, DefaultFields) || got[0].ID != "default" {
		t.Errorf("outputs = %v, want default: %v", got, DefaultFields)
	}
}

func TestBoltDefaults(t *testing.T) {
	b, err := NewBolt(BoltConfig{Topic: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if b.set.KeyField != "key" || b.set.ValueField != "message" || b.set.client.acks != -1 {
		t.Errorf("key %q value %q acks %d; want Storm's key, message and acks=all", b.set.KeyField, b.set.ValueField, b.set.client.acks)
	}
}

func TestBootstrapFromTopologyConfig(t *testing.T) {
	got, err := bootstrapServers(nil, topology.Config{KeyBootstrapServers: "a:1,b:2"}, "x")
	if err != nil || !reflect.DeepEqual(got, []string{"a:1", "b:2"}) {
		t.Errorf("bootstrapServers = %v, %v", got, err)
	}
	if _, err := bootstrapServers(nil, topology.Config{}, "x"); !errors.Is(err, ErrConfig) {
		t.Errorf("bootstrapServers without any = %v, want ErrConfig", err)
	}
}
