package nimbus

import (
	"cmp"
	"context"
	"slices"
	"strconv"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/kafka"
	"github.com/squallstream/squall/metrics"
	"github.com/squallstream/squall/topology"
)

// GetTopologyLag answers Storm's GET /api/v1/topology/:id/lag for the
// topology's Kafka spouts, from the lag figures their tasks record as
// metrics (kafka.ParseLagMetric) and ship in the workers' heartbeats: so
// nimbus needs no access to the brokers, and the figures are as fresh as
// the heartbeats. Spouts that report no lag are left out, as Storm leaves
// out spouts that are not Kafka's.
func (n *Nimbus) GetTopologyLag(ctx context.Context, req *api.GetTopologyLagRequest) (*structpb.Struct, error) {
	p, err := n.page(ctx, req.GetId(), req.GetName(), "")
	if err != nil {
		return nil, grpcError(err)
	}
	out := map[string]any{}
	for _, c := range p.components(false) {
		if kind, _ := p.m.kind(c); kind != topology.KindSpout.String() {
			continue
		}
		var snaps []metrics.Snapshot
		for _, e := range p.snapshots(c) {
			snaps = append(snaps, e.snap)
		}
		if result := lagResult(snaps); len(result) > 0 {
			out[c] = map[string]any{"spoutId": c, "spoutType": "KAFKA", "spoutLagResult": result}
		}
	}
	p.v.finish()
	s, err := structpb.NewStruct(out)
	if err != nil {
		return nil, grpcError(err)
	}
	return s, nil
}

// partitionLag are one partition's figures as one task reported them.
type partitionLag struct {
	committed, head, lag int64
}

// lagResult builds Storm's spoutLagResult, topic -> partition ->
// {consumerCommittedOffset, logHeadOffset, lag}, from a spout's executors'
// snapshots. A partition that moved between tasks is reported by both
// until the old one's worker restarts: the figures with the higher
// committed offset, the newer owner's, win.
func lagResult(snaps []metrics.Snapshot) map[string]any {
	best := bestLag(snaps)
	out := map[string]any{}
	for _, r := range lagRows(best) {
		byPart, _ := out[r.Topic].(map[string]any)
		if byPart == nil {
			byPart = map[string]any{}
			out[r.Topic] = byPart
		}
		byPart[strconv.Itoa(int(r.Partition))] = map[string]any{
			"consumerCommittedOffset": r.ConsumerCommittedOffset, "logHeadOffset": r.LogHeadOffset, "lag": r.Lag,
		}
	}
	return out
}

// bestLag reads each partition's lag from a spout's snapshots.
func bestLag(snaps []metrics.Snapshot) map[topicPartition]partitionLag {
	best := map[topicPartition]partitionLag{}
	for _, s := range snaps {
		mine := map[topicPartition]*partitionLag{}
		for _, x := range s.Series {
			if !x.User || x.Kind != metrics.KindGauge {
				continue
			}
			topic, part, figure, ok := kafka.ParseLagMetric(x.Name)
			if !ok {
				continue
			}
			k := topicPartition{topic, part}
			l := mine[k]
			if l == nil {
				l = &partitionLag{committed: -1, head: -1, lag: -1}
				mine[k] = l
			}
			switch figure {
			case kafka.MetricLatestComplete:
				l.committed = int64(x.Value)
			case kafka.MetricLogHead:
				l.head = int64(x.Value)
			case kafka.MetricSpoutLag:
				l.lag = int64(x.Value)
			}
		}
		for k, l := range mine {
			if b, seen := best[k]; !seen || l.committed > b.committed {
				best[k] = *l
			}
		}
	}
	return best
}

// topicPartition names a Kafka partition.
type topicPartition struct {
	topic     string
	partition int32
}

// lagRows lists partitions' lag by topic and partition.
func lagRows(best map[topicPartition]partitionLag) []*api.PartitionLag {
	rows := make([]*api.PartitionLag, 0, len(best))
	for k, l := range best {
		rows = append(rows, &api.PartitionLag{Topic: k.topic, Partition: k.partition,
			ConsumerCommittedOffset: l.committed, LogHeadOffset: l.head, Lag: l.lag})
	}
	slices.SortFunc(rows, func(a, b *api.PartitionLag) int {
		return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	return rows
}

// spoutLag lists a spout's partitions' lag for its component page.
func (p *page) spoutLag(comp string) []*api.PartitionLag {
	var snaps []metrics.Snapshot
	for _, e := range p.snapshots(comp) {
		snaps = append(snaps, e.snap)
	}
	return lagRows(bestLag(snaps))
}
