package kafka

import (
	"fmt"
	"time"

	"github.com/squallstream/squall/topology"
)

// Registry names of the Kafka components.
const (
	SpoutName = "squall.KafkaSpout"
	BoltName  = "squall.KafkaBolt"
)

// Register adds squall.KafkaSpout and squall.KafkaBolt to r:
//
//	spouts:
//	  - id: kafka
//	    go: squall.KafkaSpout
//	    args: {bootstrap.servers: "localhost:9092", topics: [orders], group.id: orders-topology}
//	bolts:
//	  - id: to-kafka
//	    go: squall.KafkaBolt
//	    args: {topic: enriched, key.field: key, value.field: value}
//
// Storm's KafkaSpout and KafkaBolt class names map to them in Flux files
// whose configuration can be translated (docs/kafka.md says which); other
// settings are rejected, each named. docs/kafka.md lists every argument.
// It panics if a name is already registered.
func Register(r *topology.Registry) {
	r.RegisterSpout(SpoutName, func(a topology.Args) (topology.Spout, error) {
		c, err := SpoutConfigFromArgs(a)
		if err != nil {
			return nil, err
		}
		return NewSpout(c)
	})
	r.RegisterBolt(BoltName, func(a topology.Args) (topology.Bolt, error) {
		c, err := BoltConfigFromArgs(a)
		if err != nil {
			return nil, err
		}
		return NewBolt(c)
	})
	r.RegisterFluxTranslator(StormKafkaSpout, translateSpout)
	r.RegisterFluxTranslator(StormKafkaBolt, translateBolt)
}

func millis(a topology.Args, key string) time.Duration {
	return time.Duration(a.Int64(key, 0)) * time.Millisecond
}

// SpoutConfigFromArgs reads a spout's YAML arguments, named after
// storm-kafka-client's settings.
func SpoutConfigFromArgs(a topology.Args) (SpoutConfig, error) {
	c := SpoutConfig{
		BootstrapServers:        listArg(a, "bootstrap.servers"),
		Topics:                  a.Strings("topics", nil),
		TopicPattern:            a.String("topic.pattern", ""),
		GroupID:                 a.String("group.id", ""),
		FirstPollOffsetStrategy: FirstPollOffsetStrategy(a.String("first.poll.offset.strategy", "")),
		ProcessingGuarantee:     ProcessingGuarantee(a.String("processing.guarantee", "")),
		TupleTrackingEnforced:   a.Bool("tuple.tracking.enforced", false),
		MaxUncommittedOffsets:   a.Int("max.uncommitted.offsets", 0),
		OffsetCommitPeriod:      millis(a, "offset.commit.period.ms"),
		PollTimeout:             millis(a, "poll.timeout.ms"),
		PartitionRefreshPeriod:  millis(a, "partition.refresh.period.ms"),
		Stream:                  a.String("stream", ""),
		Fields:                  a.Strings("fields", nil),
	}
	r := DefaultRetryPolicy
	if a.Has("retry.initial.delay.ms") {
		r.InitialDelay = millis(a, "retry.initial.delay.ms")
	}
	if a.Has("retry.delay.period.ms") {
		r.DelayPeriod = millis(a, "retry.delay.period.ms")
	}
	if a.Has("retry.max.delay.ms") {
		r.MaxDelay = millis(a, "retry.max.delay.ms")
	}
	r.MaxRetries = a.Int("retry.max.retries", r.MaxRetries)
	c.Retry = r
	if err := a.Err(); err != nil {
		return c, err
	}
	props, err := mapArg(a, "props")
	if err != nil {
		return c, err
	}
	c.Props = props
	routes, err := mapArg(a, "topic.streams")
	if err != nil {
		return c, err
	}
	if len(routes) > 0 {
		c.TopicRoutes = map[string]Route{}
		for topic, v := range routes {
			rt, err := routeArg(topic, v)
			if err != nil {
				return c, err
			}
			c.TopicRoutes[topic] = rt
		}
	}
	return c, nil
}

// BoltConfigFromArgs reads a bolt's YAML arguments.
func BoltConfigFromArgs(a topology.Args) (BoltConfig, error) {
	c := BoltConfig{
		BootstrapServers: listArg(a, "bootstrap.servers"),
		Topic:            a.String("topic", ""),
		TopicField:       a.String("topic.field", ""),
		KeyField:         a.String("key.field", ""),
		ValueField:       a.String("value.field", ""),
		FireAndForget:    a.Bool("fire.and.forget", false),
		Sync:             !a.Bool("async", true),
	}
	if err := a.Err(); err != nil {
		return c, err
	}
	props, err := mapArg(a, "props")
	c.Props = props
	return c, err
}

// listArg reads a list of strings, also written as one comma-separated
// string ("a:9092,b:9092", as Kafka writes bootstrap.servers).
func listArg(a topology.Args, key string) []string {
	var out []string
	for _, s := range a.Strings(key, nil) {
		out = append(out, splitList(s)...)
	}
	return out
}

// mapArg reads a mapping argument.
func mapArg(a topology.Args, key string) (map[string]any, error) {
	v := a.Any(key)
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: %s must be a mapping, not %T", topology.ErrBadArgs, key, v)
	}
	return m, nil
}

// routeArg reads one entry of topic.streams: {stream: s, fields: [...]}.
func routeArg(topic string, v any) (Route, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return Route{}, fmt.Errorf("%w: topic.streams[%s] must be a mapping {stream, fields}, not %T", topology.ErrBadArgs, topic, v)
	}
	a := topology.NewArgs(m)
	rt := Route{Stream: a.String("stream", ""), Fields: a.Strings("fields", nil)}
	if err := a.Err(); err != nil {
		return Route{}, fmt.Errorf("topic.streams[%s]: %w", topic, err)
	}
	if unused := a.Unused(); len(unused) > 0 {
		return Route{}, fmt.Errorf("%w: topic.streams[%s]: unknown key %q (known: stream, fields)", topology.ErrBadArgs, topic, unused[0])
	}
	return rt, nil
}
