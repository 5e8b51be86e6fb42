package kafka

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// FirstPollOffsetStrategy says where a spout starts reading a partition,
// with storm-kafka-client's names and meanings: EARLIEST and LATEST ignore
// commits made by another topology (a new deployment starts over), but
// resume from this topology's own commits (a restarted worker or a
// partition moving between tasks goes on); the UNCOMMITTED_ strategies
// resume from any commit of the group and use the log's start or end only
// for partitions the group never committed.
type FirstPollOffsetStrategy string

const (
	Earliest            FirstPollOffsetStrategy = "EARLIEST"
	Latest              FirstPollOffsetStrategy = "LATEST"
	UncommittedEarliest FirstPollOffsetStrategy = "UNCOMMITTED_EARLIEST"
	UncommittedLatest   FirstPollOffsetStrategy = "UNCOMMITTED_LATEST"
)

// ProcessingGuarantee is storm-kafka-client's ProcessingGuarantee.
type ProcessingGuarantee string

const (
	// AtLeastOnce emits every record's tuple with a message id, retries
	// failed tuples, and commits only offsets below the first record not
	// yet acked, every OffsetCommitPeriod.
	AtLeastOnce ProcessingGuarantee = "AT_LEAST_ONCE"
	// AtMostOnce commits every polled batch before emitting its tuples,
	// which are never retried.
	AtMostOnce ProcessingGuarantee = "AT_MOST_ONCE"
	// NoGuarantee commits the polled offsets every OffsetCommitPeriod,
	// whatever became of their tuples, which are never retried.
	NoGuarantee ProcessingGuarantee = "NO_GUARANTEE"
)

// KeyBootstrapServers is the topology configuration key (set it with
// `squall local -c kafka.bootstrap.servers=host:9092`) that a Kafka spout
// or bolt whose arguments name no brokers reads them from.
const KeyBootstrapServers = "kafka.bootstrap.servers"

// SpoutConfig configures a KafkaSpout. The zero value of a field means
// its default (DefaultSpoutConfig).
type SpoutConfig struct {
	// BootstrapServers are brokers (host:port) to discover the cluster
	// from. Empty: the bootstrap.servers property, else the topology
	// configuration's kafka.bootstrap.servers when the task opens.
	BootstrapServers []string
	// Topics are the topics to read; TopicPattern, instead, a regular
	// expression that whole topic names must match (Java's
	// Pattern.matches). Exactly one is given.
	Topics       []string
	TopicPattern string
	// GroupID is the consumer group the offsets are committed for
	// (required; or the group.id property).
	GroupID string
	// FirstPollOffsetStrategy: default UNCOMMITTED_EARLIEST.
	FirstPollOffsetStrategy FirstPollOffsetStrategy
	// ProcessingGuarantee: default AT_LEAST_ONCE.
	ProcessingGuarantee ProcessingGuarantee
	// TupleTrackingEnforced emits tuples with message ids under
	// AT_MOST_ONCE and NO_GUARANTEE too, so that
	// topology.max.spout.pending and complete latencies apply.
	TupleTrackingEnforced bool
	// MaxUncommittedOffsets bounds, per partition, the offsets polled
	// past the last commit (AT_LEAST_ONCE): reading the partition pauses
	// at the bound until a commit. Default 10,000,000.
	MaxUncommittedOffsets int
	// OffsetCommitPeriod is how often offsets are committed (AT_LEAST_ONCE
	// and NO_GUARANTEE). Default 30 s.
	OffsetCommitPeriod time.Duration
	// PollTimeout bounds one wait for records. Default 200 ms.
	PollTimeout time.Duration
	// PartitionRefreshPeriod is how often the topics' partitions are
	// listed again, to take up new partitions and topics. Default 2 s.
	PartitionRefreshPeriod time.Duration
	// Retry schedules failed tuples (AT_LEAST_ONCE). Zero: DefaultRetryPolicy.
	Retry RetryPolicy
	// Stream and Fields are the default route of tuples (DefaultFields
	// on the default stream); TopicRoutes sends some topics' tuples
	// elsewhere, as Storm's ByTopicRecordTranslator does.
	Stream      string
	Fields      []string
	TopicRoutes map[string]Route
	// Props are Kafka consumer properties by Kafka's names
	// (client.id, security.protocol, sasl.jaas.config, ...); see
	// docs/kafka.md for those squall honours.
	Props map[string]any
}

// Storm's defaults.
const (
	DefaultMaxUncommittedOffsets  = 10_000_000
	DefaultOffsetCommitPeriod     = 30 * time.Second
	DefaultPollTimeout            = 200 * time.Millisecond
	DefaultPartitionRefreshPeriod = 2 * time.Second
	defaultPollRecords            = 500 // Kafka's max.poll.records
)

// spoutSettings is a validated SpoutConfig.
type spoutSettings struct {
	SpoutConfig
	client  *clientSettings
	pattern *regexp.Regexp
	tr      *translator
}

// maxTopics bounds the topics a spout names.
const maxTopics = 1024

func (c SpoutConfig) settings() (*spoutSettings, error) {
	s := &spoutSettings{SpoutConfig: c}
	cs, err := parseProps(c.Props, consumer)
	if err != nil {
		return nil, fmt.Errorf("kafka spout: %w", err)
	}
	s.client = cs
	bad := func(format string, args ...any) (*spoutSettings, error) {
		return nil, fmt.Errorf("kafka spout: %w: "+format, append([]any{ErrConfig}, args...)...)
	}
	switch {
	case len(c.BootstrapServers) > 0 && len(cs.bootstrap) > 0:
		return bad("bootstrap.servers is given both as an argument and as a property")
	case len(c.BootstrapServers) == 0:
		s.BootstrapServers = cs.bootstrap
	}
	switch {
	case c.GroupID != "" && cs.groupID != "" && c.GroupID != cs.groupID:
		return bad("group.id %q and the group.id property %q differ", c.GroupID, cs.groupID)
	case c.GroupID == "":
		s.GroupID = cs.groupID
	}
	if s.GroupID == "" {
		return bad("group.id is required: the group the spout commits its offsets for")
	}
	switch {
	case len(c.Topics) > 0 && c.TopicPattern != "":
		return bad("give topics or topic.pattern, not both")
	case len(c.Topics) == 0 && c.TopicPattern == "":
		return bad("topics (a list of names) or topic.pattern (a regular expression) is required")
	case len(c.Topics) > maxTopics:
		return bad("%d topics, more than %d", len(c.Topics), maxTopics)
	case c.TopicPattern != "":
		// Java's Pattern.matches: the whole name.
		re, err := regexp.Compile(`^(?:` + c.TopicPattern + `)$`)
		if err != nil {
			return bad("topic.pattern %q: %v", c.TopicPattern, err)
		}
		s.pattern = re
	}
	for _, t := range c.Topics {
		if err := checkTopicName(t); err != nil {
			return bad("topics: %v", err)
		}
	}
	if s.FirstPollOffsetStrategy == "" {
		s.FirstPollOffsetStrategy = UncommittedEarliest
	}
	switch s.FirstPollOffsetStrategy {
	case Earliest, Latest, UncommittedEarliest, UncommittedLatest:
	case "TIMESTAMP", "UNCOMMITTED_TIMESTAMP":
		return nil, fmt.Errorf("kafka spout: %w: first.poll.offset.strategy %s (Storm's regular spout does not support it either)", ErrUnsupported, s.FirstPollOffsetStrategy)
	default:
		return bad("first.poll.offset.strategy %q: want EARLIEST, LATEST, UNCOMMITTED_EARLIEST or UNCOMMITTED_LATEST", s.FirstPollOffsetStrategy)
	}
	if s.ProcessingGuarantee == "" {
		s.ProcessingGuarantee = AtLeastOnce
	}
	switch s.ProcessingGuarantee {
	case AtLeastOnce, AtMostOnce, NoGuarantee:
	default:
		return bad("processing.guarantee %q: want AT_LEAST_ONCE, AT_MOST_ONCE or NO_GUARANTEE", s.ProcessingGuarantee)
	}
	if s.MaxUncommittedOffsets == 0 {
		s.MaxUncommittedOffsets = DefaultMaxUncommittedOffsets
	}
	if s.OffsetCommitPeriod == 0 {
		s.OffsetCommitPeriod = DefaultOffsetCommitPeriod
	}
	if s.PollTimeout == 0 {
		s.PollTimeout = DefaultPollTimeout
	}
	if s.PartitionRefreshPeriod == 0 {
		s.PartitionRefreshPeriod = DefaultPartitionRefreshPeriod
	}
	if s.Retry == (RetryPolicy{}) {
		s.Retry = DefaultRetryPolicy
	}
	switch {
	case s.MaxUncommittedOffsets < 1:
		return bad("max.uncommitted.offsets %d: want at least 1", s.MaxUncommittedOffsets)
	case s.OffsetCommitPeriod < time.Millisecond:
		return bad("offset.commit.period.ms: want at least 1")
	case s.PollTimeout < time.Millisecond:
		return bad("poll.timeout.ms: want at least 1")
	case s.PartitionRefreshPeriod < 10*time.Millisecond:
		return bad("partition.refresh.period.ms: want at least 10")
	case s.Retry.InitialDelay < 0 || s.Retry.DelayPeriod < 0 || s.Retry.MaxDelay < 0:
		return bad("retry delays must not be negative")
	}
	if s.client.pollRecords == 0 {
		s.client.pollRecords = defaultPollRecords
	}
	routes := make(map[string]Route, len(c.TopicRoutes))
	for t, r := range c.TopicRoutes {
		routes[t] = r
	}
	tr, err := newTranslator(Route{Stream: c.Stream, Fields: c.Fields}, routes, cs.keyBytes, cs.valueBytes)
	if err != nil {
		return nil, fmt.Errorf("kafka spout: %w", err)
	}
	s.tr = tr
	return s, nil
}

// checkTopicName applies Kafka's rules for topic names.
func checkTopicName(t string) error {
	if t == "" || t == "." || t == ".." || len(t) > 249 {
		return fmt.Errorf("topic name %q: want 1 to 249 characters, and not %q or %q", t, ".", "..")
	}
	if i := strings.IndexFunc(t, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
	}); i >= 0 {
		return fmt.Errorf("topic name %q: character %q is not allowed (letters, digits, '.', '_', '-')", t, t[i])
	}
	return nil
}

// BoltConfig configures a KafkaBolt.
type BoltConfig struct {
	// BootstrapServers: as SpoutConfig's.
	BootstrapServers []string
	// Topic is the topic every tuple goes to; with TopicField, the topic
	// of tuples whose stream lacks that field (Storm's
	// FieldNameTopicSelector). One of them is required.
	Topic      string
	TopicField string
	// KeyField and ValueField name the fields the record's key and value
	// come from (Storm's FieldNameBasedTupleToKafkaMapper: "key" and
	// "message"). A tuple without the key field gets a null key.
	KeyField, ValueField string
	// FireAndForget acks a tuple as soon as its record is handed to the
	// client, without waiting for the broker.
	FireAndForget bool
	// Sync waits for each record's acknowledgement before taking the next
	// tuple (Storm's setAsync(false)).
	Sync bool
	// Props are Kafka producer properties by Kafka's names; acks defaults
	// to all.
	Props map[string]any
}

type boltSettings struct {
	BoltConfig
	client *clientSettings
}

func (c BoltConfig) settings() (*boltSettings, error) {
	s := &boltSettings{BoltConfig: c}
	cs, err := parseProps(c.Props, producer)
	if err != nil {
		return nil, fmt.Errorf("kafka bolt: %w", err)
	}
	s.client = cs
	bad := func(format string, args ...any) (*boltSettings, error) {
		return nil, fmt.Errorf("kafka bolt: %w: "+format, append([]any{ErrConfig}, args...)...)
	}
	switch {
	case len(c.BootstrapServers) > 0 && len(cs.bootstrap) > 0:
		return bad("bootstrap.servers is given both as an argument and as a property")
	case len(c.BootstrapServers) == 0:
		s.BootstrapServers = cs.bootstrap
	}
	if c.Topic == "" && c.TopicField == "" {
		return bad("topic (a fixed topic) or topic.field (the field holding the topic) is required")
	}
	if c.Topic != "" {
		if err := checkTopicName(c.Topic); err != nil {
			return bad("topic: %v", err)
		}
	}
	if s.KeyField == "" {
		s.KeyField = "key"
	}
	if s.ValueField == "" {
		s.ValueField = "message"
	}
	if c.FireAndForget && c.Sync {
		return bad("fire.and.forget and async=false contradict each other")
	}
	return s, nil
}
