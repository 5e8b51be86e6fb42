package kafka

import (
	"fmt"
	"strings"

	"github.com/squallstream/squall/topology"
)

// The storm-kafka-client classes a Flux file builds a Kafka spout or bolt
// from, which squall translates into squall.KafkaSpout and
// squall.KafkaBolt arguments.
const (
	StormKafkaSpout = "org.apache.storm.kafka.spout.KafkaSpout"
	StormKafkaBolt  = "org.apache.storm.kafka.bolt.KafkaBolt"

	stormSpoutConfig     = "org.apache.storm.kafka.spout.KafkaSpoutConfig"
	stormSpoutBuilder    = "org.apache.storm.kafka.spout.KafkaSpoutConfig$Builder"
	stormRetry           = "org.apache.storm.kafka.spout.KafkaSpoutRetryExponentialBackoff"
	stormTimeInterval    = "org.apache.storm.kafka.spout.KafkaSpoutRetryExponentialBackoff$TimeInterval"
	stormDefaultSelector = "org.apache.storm.kafka.bolt.selector.DefaultTopicSelector"
	stormFieldSelector   = "org.apache.storm.kafka.bolt.selector.FieldNameTopicSelector"
	stormFieldMapper     = "org.apache.storm.kafka.bolt.mapper.FieldNameBasedTupleToKafkaMapper"
	javaProperties       = "java.util.Properties"
	javaHashMap          = "java.util.HashMap"
	javaPattern          = "java.util.regex.Pattern"
)

// untranslatable reports a part of a Flux definition squall cannot turn
// into a Kafka component's arguments, saying where it is and what to do.
func untranslatable(obj *topology.FluxObject, format string, args ...any) error {
	where := obj.ClassName
	if obj.ID != "" {
		where = fmt.Sprintf("%s (%s, line %d)", obj.ID, obj.ClassName, obj.Line)
	}
	return fmt.Errorf("%w: %s: %s", ErrUnsupported, where, fmt.Sprintf(format, args...))
}

// translateSpout turns Storm's
//
//	KafkaSpout(KafkaSpoutConfig(KafkaSpoutConfig$Builder(servers, topics)))
//
// with the builder's properties and config methods, into squall.KafkaSpout
// arguments.
func translateSpout(obj *topology.FluxObject) (string, map[string]any, error) {
	if len(obj.Properties) > 0 || len(obj.ConfigMethods) > 0 || obj.Factory != "" {
		return "", nil, untranslatable(obj, "KafkaSpout takes its whole configuration from a KafkaSpoutConfig; give it as the one constructor argument")
	}
	if len(obj.ConstructorArgs) != 1 {
		return "", nil, untranslatable(obj, "want one constructor argument, a ref to a KafkaSpoutConfig, not %d", len(obj.ConstructorArgs))
	}
	conf, ok := obj.ConstructorArgs[0].(*topology.FluxObject)
	if !ok || conf.ClassName != stormSpoutConfig || conf.Factory != "" {
		return "", nil, untranslatable(obj, "its constructor argument must be a ref to a %s made from a builder (constructorArgs: [ref: builder])", stormSpoutConfig)
	}
	if len(conf.Properties) > 0 || len(conf.ConfigMethods) > 0 || len(conf.ConstructorArgs) != 1 {
		return "", nil, untranslatable(conf, "want exactly one constructor argument, a ref to a KafkaSpoutConfig$Builder, and nothing else")
	}
	b, ok := conf.ConstructorArgs[0].(*topology.FluxObject)
	if !ok {
		return "", nil, untranslatable(conf, "its constructor argument must be a ref to a KafkaSpoutConfig$Builder")
	}
	args := map[string]any{}
	if err := builderArgs(b, args); err != nil {
		return "", nil, err
	}
	for _, p := range b.Properties {
		if err := builderSetting(b, "property "+p.Name, p.Name, []any{p.Value}, args); err != nil {
			return "", nil, err
		}
	}
	for _, m := range b.ConfigMethods {
		if err := builderSetting(b, "config method "+m.Name, m.Name, m.Args, args); err != nil {
			return "", nil, err
		}
	}
	return SpoutName, args, nil
}

// builderArgs reads the builder's bootstrap servers and topics: a
// KafkaSpoutConfig$Builder's constructorArgs, or KafkaSpoutConfig's static
// builder factory's args.
func builderArgs(b *topology.FluxObject, args map[string]any) error {
	var ctor []any
	switch {
	case b.ClassName == stormSpoutBuilder && b.Factory == "":
		ctor = b.ConstructorArgs
	case b.ClassName == stormSpoutConfig && b.Factory == "builder":
		ctor = b.FactoryArgs
	default:
		return untranslatable(b, "want a %s (constructorArgs: [servers, topics]) or %s with factory: builder", stormSpoutBuilder, stormSpoutConfig)
	}
	if len(ctor) < 2 {
		return untranslatable(b, "want the bootstrap servers and the topics (names, or a java.util.regex.Pattern) as its arguments")
	}
	servers, ok := ctor[0].(string)
	if !ok {
		return untranslatable(b, "the bootstrap servers must be a string, not %T", ctor[0])
	}
	args["bootstrap.servers"] = servers
	if len(ctor) == 2 {
		switch t := ctor[1].(type) {
		case []any:
			args["topics"] = t
			return nil
		case *topology.FluxObject:
			if t.ClassName == javaPattern && t.Factory == "compile" && len(t.FactoryArgs) == 1 {
				if re, ok := t.FactoryArgs[0].(string); ok {
					args["topic.pattern"] = re
					return nil
				}
			}
			return untranslatable(t, "a topic pattern must be %s with factory: compile and the expression as its one factory argument", javaPattern)
		case string:
			args["topics"] = []any{t}
			return nil
		}
	}
	var topics []any
	for _, v := range ctor[1:] { // String... topics
		s, ok := v.(string)
		if !ok {
			return untranslatable(b, "topics must be strings, not %T", v)
		}
		topics = append(topics, s)
	}
	args["topics"] = topics
	return nil
}

// builderMethods maps the KafkaSpoutConfig$Builder settings squall honours
// (setX method, or bean property x) to squall.KafkaSpout arguments.
var builderMethods = map[string]string{
	"firstPollOffsetStrategy":  "first.poll.offset.strategy",
	"processingGuarantee":      "processing.guarantee",
	"offsetCommitPeriodMs":     "offset.commit.period.ms",
	"maxUncommittedOffsets":    "max.uncommitted.offsets",
	"pollTimeoutMs":            "poll.timeout.ms",
	"partitionRefreshPeriodMs": "partition.refresh.period.ms",
	"tupleTrackingEnforced":    "tuple.tracking.enforced",
	"groupId":                  "group.id",
}

// builderUnsupported says why some builder settings have no translation.
var builderUnsupported = map[string]string{
	"recordTranslator":            "a record translator is Java code; choose the record fields and per-topic streams with squall.KafkaSpout's fields and topic.streams arguments instead",
	"tupleListener":               "a KafkaTupleListener is Java code",
	"emitNullTuples":              "squall emits a null value as nil and has no null tuples to skip",
	"startTimeStamp":              "the TIMESTAMP strategies are not supported (Storm's regular spout does not support them either)",
	"metricsTimeBucketSizeInSecs": "squall's metrics have their own windows",
}

// builderSetting applies one builder property or config method.
func builderSetting(b *topology.FluxObject, what, name string, vals []any, args map[string]any) error {
	key := strings.TrimPrefix(name, "set")
	if key != name && key != "" {
		key = strings.ToLower(key[:1]) + key[1:]
	}
	switch key {
	case "prop":
		return setProps(b, what, vals, args)
	case "retry":
		if len(vals) != 1 {
			return untranslatable(b, "%s: want one argument", what)
		}
		r, ok := vals[0].(*topology.FluxObject)
		if !ok {
			return untranslatable(b, "%s: want a ref to a %s", what, stormRetry)
		}
		return retryArgs(r, args)
	}
	if why, ok := builderUnsupported[key]; ok {
		return untranslatable(b, "%s: %s", what, why)
	}
	arg, ok := builderMethods[key]
	if !ok {
		return untranslatable(b, "%s has no squall translation (squall translates %s, setProp and setRetry)", what, strings.Join(sortedKeys(builderMethods), ", "))
	}
	if len(vals) != 1 {
		return untranslatable(b, "%s: want one argument, not %d", what, len(vals))
	}
	if _, isObj := vals[0].(*topology.FluxObject); isObj {
		return untranslatable(b, "%s: want a plain value, not a reference", what)
	}
	args[arg] = vals[0]
	return nil
}

// setProps applies setProp(key, value) or setProp(map) to the props
// argument.
func setProps(b *topology.FluxObject, what string, vals []any, args map[string]any) error {
	props, _ := args["props"].(map[string]any)
	if props == nil {
		props = map[string]any{}
		args["props"] = props
	}
	switch {
	case len(vals) == 2:
		k, ok := vals[0].(string)
		if !ok {
			return untranslatable(b, "%s: the property name must be a string", what)
		}
		props[k] = vals[1]
	case len(vals) == 1:
		m, err := propertiesOf(b, what, vals[0])
		if err != nil {
			return err
		}
		for k, v := range m {
			props[k] = v
		}
	default:
		return untranslatable(b, "%s: want (name, value) or a map of properties", what)
	}
	return nil
}

// propertiesOf reads a map of Kafka properties: a YAML mapping, or a ref
// to a java.util.Properties (or HashMap) filled by put/setProperty calls.
func propertiesOf(at *topology.FluxObject, what string, v any) (map[string]any, error) {
	switch x := v.(type) {
	case map[string]any:
		return x, nil
	case *topology.FluxObject:
		if (x.ClassName != javaProperties && x.ClassName != javaHashMap) || x.Factory != "" || len(x.ConstructorArgs) > 0 || len(x.Properties) > 0 {
			return nil, untranslatable(x, "Kafka properties must be a %s filled with put or setProperty calls", javaProperties)
		}
		m := map[string]any{}
		for _, c := range x.ConfigMethods {
			if (c.Name != "put" && c.Name != "setProperty") || len(c.Args) != 2 {
				return nil, untranslatable(x, "config method %s: only put(name, value) and setProperty(name, value) are translated", c.Name)
			}
			k, ok := c.Args[0].(string)
			if !ok {
				return nil, untranslatable(x, "a property name must be a string, not %T", c.Args[0])
			}
			m[k] = c.Args[1]
		}
		return m, nil
	}
	return nil, untranslatable(at, "%s: want a map of properties or a ref to a %s", what, javaProperties)
}

// retryArgs reads a KafkaSpoutRetryExponentialBackoff(initialDelay,
// delayPeriod, maxRetries, maxDelay).
func retryArgs(r *topology.FluxObject, args map[string]any) error {
	if r.ClassName != stormRetry || r.Factory != "" || len(r.ConstructorArgs) != 4 || len(r.Properties) > 0 || len(r.ConfigMethods) > 0 {
		return untranslatable(r, "want a %s with constructorArgs [initialDelay, delayPeriod, maxRetries, maxDelay], the delays TimeIntervals", stormRetry)
	}
	for i, key := range []string{"retry.initial.delay.ms", "retry.delay.period.ms", "", "retry.max.delay.ms"} {
		if key == "" {
			n, ok := intValue(r.ConstructorArgs[i])
			if !ok {
				return untranslatable(r, "maxRetries must be a whole number")
			}
			if n >= 1<<31-1 { // Integer.MAX_VALUE: forever
				n = -1
			}
			args["retry.max.retries"] = n
			continue
		}
		ms, err := timeIntervalMs(r, r.ConstructorArgs[i])
		if err != nil {
			return err
		}
		args[key] = ms
	}
	return nil
}

// timeIntervalMs reads a KafkaSpoutRetryExponentialBackoff$TimeInterval:
// constructorArgs [length, TimeUnit], or the factories seconds,
// milliSeconds and microSeconds.
func timeIntervalMs(at *topology.FluxObject, v any) (int64, error) {
	ti, ok := v.(*topology.FluxObject)
	if !ok || ti.ClassName != stormTimeInterval {
		return 0, untranslatable(at, "a delay must be a ref to a %s", stormTimeInterval)
	}
	var n int64
	var unit string
	switch {
	case ti.Factory == "" && len(ti.ConstructorArgs) == 2:
		l, ok1 := intValue(ti.ConstructorArgs[0])
		u, ok2 := ti.ConstructorArgs[1].(string)
		if !ok1 || !ok2 {
			return 0, untranslatable(ti, "want constructorArgs [length, TimeUnit]")
		}
		n, unit = int64(l), u
	case ti.Factory != "" && len(ti.FactoryArgs) == 1:
		l, ok := intValue(ti.FactoryArgs[0])
		if !ok {
			return 0, untranslatable(ti, "want a whole number")
		}
		n, unit = int64(l), map[string]string{"seconds": "SECONDS", "milliSeconds": "MILLISECONDS", "microSeconds": "MICROSECONDS"}[ti.Factory]
	default:
		return 0, untranslatable(ti, "want constructorArgs [length, TimeUnit] or a factory (seconds, milliSeconds, microSeconds) with one argument")
	}
	switch unit {
	case "SECONDS":
		return n * 1000, nil
	case "MILLISECONDS":
		return n, nil
	case "MICROSECONDS", "NANOSECONDS":
		div := int64(1000)
		if unit == "NANOSECONDS" {
			div = 1_000_000
		}
		if n%div != 0 {
			return 0, untranslatable(ti, "squall's retry delays are whole milliseconds")
		}
		return n / div, nil
	case "MINUTES":
		return n * 60_000, nil
	}
	return 0, untranslatable(ti, "unknown time unit %q", unit)
}

func intValue(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case int64:
		return int(x), true
	case uint64:
		return int(x), true
	case float64:
		if x == float64(int(x)) {
			return int(x), true
		}
	}
	return 0, false
}

// translateBolt turns Storm's KafkaBolt with its withProducerProperties,
// withTopicSelector, withTupleToKafkaMapper, setFireAndForget and setAsync
// calls into squall.KafkaBolt arguments.
func translateBolt(obj *topology.FluxObject) (string, map[string]any, error) {
	if len(obj.ConstructorArgs) > 0 || len(obj.Properties) > 0 || obj.Factory != "" {
		return "", nil, untranslatable(obj, "KafkaBolt is configured with config methods only (withProducerProperties, withTopicSelector, withTupleToKafkaMapper, setFireAndForget, setAsync)")
	}
	args := map[string]any{}
	for _, m := range obj.ConfigMethods {
		if len(m.Args) != 1 {
			return "", nil, untranslatable(obj, "config method %s: want one argument", m.Name)
		}
		a := m.Args[0]
		switch m.Name {
		case "withProducerProperties":
			props, err := propertiesOf(obj, m.Name, a)
			if err != nil {
				return "", nil, err
			}
			args["props"] = props
		case "withTopicSelector":
			if err := topicSelector(obj, a, args); err != nil {
				return "", nil, err
			}
		case "withTupleToKafkaMapper":
			mp, ok := a.(*topology.FluxObject)
			if !ok || mp.ClassName != stormFieldMapper || mp.Factory != "" || len(mp.Properties) > 0 || len(mp.ConfigMethods) > 0 {
				return "", nil, untranslatable(obj, "withTupleToKafkaMapper: only a ref to a %s is translated (other mappers are Java code)", stormFieldMapper)
			}
			switch len(mp.ConstructorArgs) {
			case 0:
			case 2:
				k, ok1 := mp.ConstructorArgs[0].(string)
				v, ok2 := mp.ConstructorArgs[1].(string)
				if !ok1 || !ok2 {
					return "", nil, untranslatable(mp, "want constructorArgs [keyField, messageField]")
				}
				args["key.field"], args["value.field"] = k, v
			default:
				return "", nil, untranslatable(mp, "want constructorArgs [] or [keyField, messageField]")
			}
		case "setFireAndForget":
			args["fire.and.forget"] = a
		case "setAsync":
			args["async"] = a
		case "withProducerCallback":
			return "", nil, untranslatable(obj, "withProducerCallback: a producer callback is Java code")
		default:
			return "", nil, untranslatable(obj, "config method %s has no squall translation", m.Name)
		}
	}
	if args["topic"] == nil && args["topic.field"] == nil {
		return "", nil, untranslatable(obj, "no withTopicSelector: squall needs the topic from the bolt itself (Storm's fallback to the topology's \"topic\" configuration is not translated)")
	}
	return BoltName, args, nil
}

func topicSelector(obj *topology.FluxObject, a any, args map[string]any) error {
	if topic, ok := a.(string); ok { // withTopicSelector(String topic)
		args["topic"] = topic
		return nil
	}
	sel, ok := a.(*topology.FluxObject)
	if !ok || sel.Factory != "" || len(sel.Properties) > 0 || len(sel.ConfigMethods) > 0 {
		return untranslatable(obj, "withTopicSelector: want a topic or a ref to a %s or %s", stormDefaultSelector, stormFieldSelector)
	}
	switch sel.ClassName {
	case stormDefaultSelector:
		if len(sel.ConstructorArgs) == 1 {
			if t, ok := sel.ConstructorArgs[0].(string); ok {
				args["topic"] = t
				return nil
			}
		}
		return untranslatable(sel, "want constructorArgs [topic]")
	case stormFieldSelector:
		if len(sel.ConstructorArgs) == 2 {
			f, ok1 := sel.ConstructorArgs[0].(string)
			t, ok2 := sel.ConstructorArgs[1].(string)
			if ok1 && ok2 {
				args["topic.field"], args["topic"] = f, t
				return nil
			}
		}
		return untranslatable(sel, "want constructorArgs [fieldName, defaultTopic]")
	}
	return untranslatable(sel, "only %s and %s are translated (FieldIndexTopicSelector: use a FieldNameTopicSelector; others are Java code)", stormDefaultSelector, stormFieldSelector)
}
