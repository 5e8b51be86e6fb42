// Package kafka holds squall's built-in Kafka components, after Storm's
// storm-kafka-client: squall.KafkaSpout reads records from Kafka topics and
// emits them as tuples, squall.KafkaBolt writes tuples to Kafka.
//
// The spout assigns partitions to its tasks itself, as Storm 2's
// RoundRobinManualPartitioner does: every task lists the partitions of its
// topics (named, or matching a pattern), sorts them by topic and partition,
// and takes every n-th one from its own task index, with n the number of
// the spout's tasks. There is no consumer-group membership and no broker
// rebalancing, so a restart with a different parallelism moves partitions
// cleanly, and committed offsets carry over. Offsets are committed to the
// group's coordinator as Storm's spout does (a "simple" commit, outside
// any group generation).
//
// With the AT_LEAST_ONCE processing guarantee, the default, a record's
// tuple is emitted with a message id, a failed tuple is emitted again
// after an exponential backoff, and the spout commits, every
// offset.commit.period.ms, only the offsets below the first record that is
// not yet acked (offsetTracker). AT_MOST_ONCE commits every polled batch
// before it emits it; NO_GUARANTEE commits what it polled, periodically.
//
// The bolt produces each tuple to a topic, fixed or taken from a field,
// with its key and value from fields, and acks the tuple only when the
// broker has acknowledged the record (acks=all unless told otherwise); a
// produce error fails it.
//
// Both speak to the brokers through github.com/twmb/franz-go; TLS and SASL
// (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) are configured with Kafka's own
// property names. Secrets are never logged.
package kafka
