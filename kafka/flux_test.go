package kafka

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/squallstream/squall/topology"
)

func fluxRegistry() *topology.Registry {
	r := topology.NewRegistry()
	Register(r)
	return r
}

// TestFluxTranslation loads a Flux file written for storm-kafka-client
// and checks the squall arguments it becomes.
func TestFluxTranslation(t *testing.T) {
	topo, err := topology.LoadFile(filepath.Join("testdata", "flux", "storm_kafka.yaml"), topology.LoadOptions{
		Registry: fluxRegistry(), Properties: map[string]string{"kafka.bootstrap": "k1:9092,k2:9092"},
	})
	if err != nil {
		t.Fatal(err)
	}
	spout := topo.Component("kafka-spout").Go
	wantSpout := map[string]any{
		"bootstrap.servers":          "k1:9092,k2:9092",
		"topics":                     []any{"myKafkaTopic", "other"},
		"first.poll.offset.strategy": "EARLIEST",
		"processing.guarantee":       "AT_LEAST_ONCE",
		"offset.commit.period.ms":    10000,
		"group.id":                   "flux-group",
		"retry.initial.delay.ms":     int64(500),
		"retry.delay.period.ms":      int64(20),
		"retry.max.retries":          5,
		"retry.max.delay.ms":         int64(30000),
		"props": map[string]any{
			"key.deserializer":   "org.apache.kafka.common.serialization.StringDeserializer",
			"value.deserializer": "org.apache.kafka.common.serialization.ByteArrayDeserializer",
			"client.id":          "flux-spout",
		},
	}
	if spout.Name != SpoutName || !reflect.DeepEqual(spout.Args, wantSpout) {
		t.Errorf("spout = %s %v\nwant %s %v", spout.Name, spout.Args, SpoutName, wantSpout)
	}
	bolt := topo.Component("to-kafka").Go
	wantBolt := map[string]any{
		"props":           map[string]any{"bootstrap.servers": "k1:9092,k2:9092", "acks": "1", "key.serializer": "org.apache.kafka.common.serialization.StringSerializer"},
		"topic.field":     "target",
		"topic":           "fallback",
		"key.field":       "key",
		"value.field":     "value",
		"fire.and.forget": false,
	}
	if bolt.Name != BoltName || !reflect.DeepEqual(bolt.Args, wantBolt) {
		t.Errorf("bolt = %s %v\nwant %s %v", bolt.Name, bolt.Args, BoltName, wantBolt)
	}
	// The arguments build working components.
	sp, err := spout.NewSpout()
	if err != nil {
		t.Fatal(err)
	}
	s := sp.(*Spout).set
	if s.Retry.InitialDelay.Milliseconds() != 500 || s.Retry.MaxRetries != 5 || !s.client.valueBytes || len(s.BootstrapServers) != 2 {
		t.Errorf("spout settings = %+v", s.SpoutConfig)
	}
}

// TestFluxUntranslatable: what squall cannot translate is named, with the
// Flux component it is in.
func TestFluxUntranslatable(t *testing.T) {
	const okBolt = `      - {name: withTopicSelector, args: ["out"]}`
	const okBuilder = `[{name: setGroupId, args: [g]}]`
	tests := []struct {
		name                        string
		builderMethods, extra, bolt string
		mention                     string
	}{
		{"record translator", `[{name: setGroupId, args: [g]}, {name: setRecordTranslator, args: [ref: tr]}]`,
			`{id: tr, className: org.apache.storm.flux.examples.OnlyValueRecordTranslator}`, okBolt, "record translator is Java code"},
		{"timestamp", `[{name: setGroupId, args: [g]}, {name: setStartTimeStamp, args: [5]}]`, ``, okBolt, "TIMESTAMP"},
		{"unknown method", `[{name: setGroupId, args: [g]}, {name: setFrobnicate, args: [5]}]`, ``, okBolt, "setFrobnicate has no squall translation"},
		{"other retry", `[{name: setGroupId, args: [g]}, {name: setRetry, args: [ref: r]}]`, `{id: r, className: com.example.MyRetry}`, okBolt, "r (com.example.MyRetry"},
		{"callback", okBuilder, `{id: cb, className: com.example.Cb}`, okBolt + `
      - {name: withProducerCallback, args: [ref: cb]}`, "producer callback is Java code"},
		{"index selector", okBuilder, `{id: sel, className: org.apache.storm.kafka.bolt.selector.FieldIndexTopicSelector, constructorArgs: [0, d]}`,
			`      - {name: withTopicSelector, args: [ref: sel]}`, "FieldIndexTopicSelector"},
		{"no selector", okBuilder, ``, `      - {name: setAsync, args: [true]}`, "no withTopicSelector"},
		{"other mapper", okBuilder, `{id: m, className: com.example.Mapper}`, okBolt + `
      - {name: withTupleToKafkaMapper, args: [ref: m]}`, "withTupleToKafkaMapper"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			extra := ""
			if tt.extra != "" {
				extra = "  - " + tt.extra + "\n"
			}
			y := `
name: k
components:
  - id: builder
    className: "org.apache.storm.kafka.spout.KafkaSpoutConfig$Builder"
    constructorArgs: ["h:9092", [t]]
    configMethods: ` + tt.builderMethods + `
  - id: conf
    className: org.apache.storm.kafka.spout.KafkaSpoutConfig
    constructorArgs: [ref: builder]
` + extra + `spouts:
  - id: in
    className: org.apache.storm.kafka.spout.KafkaSpout
    constructorArgs: [ref: conf]
bolts:
  - id: out
    className: org.apache.storm.kafka.bolt.KafkaBolt
    configMethods:
` + tt.bolt + `
streams:
  - {from: in, to: out, grouping: {type: SHUFFLE}}
`
			_, err := topology.Load([]byte(y), topology.LoadOptions{Registry: fluxRegistry()})
			if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("Load = %v\nwant ErrUnsupported mentioning %q", err, tt.mention)
			}
		})
	}
}
