package kafka

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The few broker requests the components make besides fetching and
// producing: listing partitions, reading and committing a group's offsets
// outside any group generation (Storm's spout with manual assignment
// commits the same way), and listing log offsets for lag. Each wraps one
// kmsg request; kgo routes it to the right broker.

// topicIDs maps topic names to the ids OffsetCommit v10 needs.
type topicIDs map[string][16]byte

// listPartitions returns the partitions of the named topics, or of every
// topic matching pattern (internal topics excluded), and their topic ids.
// A named topic that does not exist is left out, as Storm's
// NamedTopicFilter leaves it out, until it appears.
func listPartitions(ctx context.Context, cl *kgo.Client, topics []string, pattern *regexp.Regexp) ([]TopicPartition, topicIDs, error) {
	req := kmsg.NewPtrMetadataRequest()
	if pattern == nil {
		for _, t := range topics {
			rt := kmsg.NewMetadataRequestTopic()
			rt.Topic = kmsg.StringPtr(t)
			req.Topics = append(req.Topics, rt)
		}
	} // nil Topics: every topic
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, nil, fmt.Errorf("list partitions: %w", err)
	}
	var out []TopicPartition
	ids := topicIDs{}
	for _, t := range resp.Topics {
		if t.Topic == nil {
			continue
		}
		name := *t.Topic
		if pattern != nil && (t.IsInternal || !pattern.MatchString(name)) {
			continue
		}
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
			if errors.Is(err, kerr.UnknownTopicOrPartition) {
				continue
			}
			return nil, nil, fmt.Errorf("list partitions of %s: %w", name, err)
		}
		ids[name] = t.TopicID
		for _, p := range t.Partitions {
			out = append(out, TopicPartition{name, p.Partition})
		}
	}
	slices.SortFunc(out, compareTP)
	return out, ids, nil
}

// committedOffset is a group's commit for one partition.
type committedOffset struct {
	offset   int64
	metadata string
}

// fetchCommitted returns group's committed offsets for tps; a partition
// without a commit is absent.
func fetchCommitted(ctx context.Context, cl *kgo.Client, group string, tps []TopicPartition) (map[TopicPartition]committedOffset, error) {
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group
	byTopic := map[string][]int32{}
	for _, tp := range tps {
		byTopic[tp.Topic] = append(byTopic[tp.Topic], tp.Partition)
	}
	for _, topic := range sortedKeys(byTopic) {
		rt := kmsg.NewOffsetFetchRequestTopic()
		rt.Topic = topic
		rt.Partitions = byTopic[topic]
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, fmt.Errorf("fetch committed offsets of group %s: %w", group, err)
	}
	out := map[TopicPartition]committedOffset{}
	// A group nobody committed for yet has no offsets; some brokers say
	// so with GROUP_ID_NOT_FOUND.
	noGroup := func(code int16) bool { return code == kerr.GroupIDNotFound.Code }
	add := func(topic string, p int32, offset int64, meta *string, code int16) error {
		if noGroup(code) {
			return nil
		}
		if err := kerr.ErrorForCode(code); err != nil {
			return fmt.Errorf("fetch committed offset of %s-%d for group %s: %w", topic, p, group, err)
		}
		if offset >= 0 {
			out[TopicPartition{topic, p}] = committedOffset{offset: offset, metadata: deref(meta)}
		}
		return nil
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		if noGroup(resp.ErrorCode) {
			return out, nil
		}
		return nil, fmt.Errorf("fetch committed offsets of group %s: %w", group, err)
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := add(t.Topic, p.Partition, p.Offset, p.Metadata, p.ErrorCode); err != nil {
				return nil, err
			}
		}
	}
	for _, g := range resp.Groups {
		if noGroup(g.ErrorCode) {
			continue
		}
		if err := kerr.ErrorForCode(g.ErrorCode); err != nil {
			return nil, fmt.Errorf("fetch committed offsets of group %s: %w", group, err)
		}
		for _, t := range g.Topics {
			for _, p := range t.Partitions {
				if err := add(t.Topic, p.Partition, p.Offset, p.Metadata, p.ErrorCode); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// commitOffsets commits offsets for group, outside any generation, with
// metadata on every partition. It returns the offsets the broker took;
// err joins the partitions it refused.
func commitOffsets(ctx context.Context, cl *kgo.Client, group string, ids topicIDs, offsets map[TopicPartition]int64, metadata string) (map[TopicPartition]int64, error) {
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group = group
	req.Generation = -1
	byTopic := map[string][]TopicPartition{}
	for tp := range offsets {
		byTopic[tp.Topic] = append(byTopic[tp.Topic], tp)
	}
	for _, topic := range sortedKeys(byTopic) {
		rt := kmsg.NewOffsetCommitRequestTopic()
		rt.Topic = topic
		rt.TopicID = ids[topic]
		for _, tp := range byTopic[topic] {
			rp := kmsg.NewOffsetCommitRequestTopicPartition()
			rp.Partition = tp.Partition
			rp.Offset = offsets[tp]
			rp.LeaderEpoch = -1
			rp.Metadata = &metadata
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, fmt.Errorf("commit offsets of group %s: %w", group, err)
	}
	done := map[TopicPartition]int64{}
	var errs []error
	for i, t := range resp.Topics {
		topic := t.Topic
		if topic == "" && i < len(req.Topics) {
			topic = req.Topics[i].Topic // v10 answers by id, in request order
		}
		for _, p := range t.Partitions {
			tp := TopicPartition{topic, p.Partition}
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				errs = append(errs, fmt.Errorf("commit %s for group %s: %w", tp, group, err))
				continue
			}
			if off, ok := offsets[tp]; ok {
				done[tp] = off
			}
		}
	}
	return done, errors.Join(errs...)
}

// Timestamps of ListOffsets that ask for the log's ends.
const (
	latestOffset   = -1
	earliestOffset = -2
)

// listOffsets returns the log end (latestOffset) or log start
// (earliestOffset) of each partition.
func listOffsets(ctx context.Context, cl *kgo.Client, tps []TopicPartition, which int64) (map[TopicPartition]int64, error) {
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	byTopic := map[string][]int32{}
	for _, tp := range tps {
		byTopic[tp.Topic] = append(byTopic[tp.Topic], tp.Partition)
	}
	for _, topic := range sortedKeys(byTopic) {
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = topic
		for _, p := range byTopic[topic] {
			rp := kmsg.NewListOffsetsRequestTopicPartition()
			rp.Partition = p
			rp.Timestamp = which
			rp.CurrentLeaderEpoch = -1
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, fmt.Errorf("list offsets: %w", err)
	}
	out := map[TopicPartition]int64{}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return nil, fmt.Errorf("list offsets of %s-%d: %w", t.Topic, p.Partition, err)
			}
			out[TopicPartition{t.Topic, p.Partition}] = p.Offset
		}
	}
	return out, nil
}
