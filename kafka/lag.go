package kafka

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/squallstream/squall/topology"
)

// SpoutLag is the lag of one Kafka spout component: its partitions, or
// why they could not be read.
type SpoutLag struct {
	SpoutID    string
	Partitions []PartitionLag
	Err        error
}

// QueryLag asks the brokers for a spout's group's committed offsets and
// its partitions' log ends, as Storm's storm-kafka-monitor does for the UI:
// it needs no running spout. conf is the topology's configuration (for
// kafka.bootstrap.servers) and resourcesDir where relative certificate
// paths are found.
func QueryLag(ctx context.Context, c SpoutConfig, conf topology.Config, resourcesDir string) ([]PartitionLag, error) {
	s, err := c.settings()
	if err != nil {
		return nil, err
	}
	servers, err := bootstrapServers(s.BootstrapServers, conf, "kafka lag")
	if err != nil {
		return nil, err
	}
	conn := &connErrors{}
	opts, err := clientOptions(s.client, servers, resourcesDir, nil, conn)
	if err != nil {
		return nil, fmt.Errorf("kafka lag: %w", err)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka lag: %w: %v", ErrConfig, err)
	}
	defer cl.Close()
	all, _, err := listPartitions(ctx, cl, s.Topics, s.pattern)
	if err != nil {
		return nil, conn.explain(err)
	}
	if len(all) == 0 {
		return nil, nil
	}
	committed, err := fetchCommitted(ctx, cl, s.GroupID, all)
	if err != nil {
		return nil, conn.explain(err)
	}
	ends, err := listOffsets(ctx, cl, all, latestOffset)
	if err != nil {
		return nil, conn.explain(err)
	}
	starts, err := listOffsets(ctx, cl, all, earliestOffset)
	if err != nil {
		return nil, conn.explain(err)
	}
	out := make([]PartitionLag, len(all))
	for i, tp := range all {
		l := PartitionLag{Topic: tp.Topic, Partition: tp.Partition, Committed: -1, LogStart: starts[tp], LogEnd: ends[tp], LatestEmitted: -1}
		if c, ok := committed[tp]; ok {
			l.Committed = c.offset
		}
		out[i] = l
	}
	return out, nil
}

// TopologyLag queries the lag of every squall.KafkaSpout of a topology
// loaded from YAML (components built in Go are skipped: their settings
// are not in the definition), in component order.
func TopologyLag(ctx context.Context, topo *topology.Topology, conf topology.Config, resourcesDir string) []SpoutLag {
	var out []SpoutLag
	for _, c := range topo.Components {
		if c.Kind != topology.KindSpout || c.Go == nil || c.Go.Name != SpoutName {
			continue
		}
		l := SpoutLag{SpoutID: c.ID}
		cfg, err := SpoutConfigFromArgs(topology.NewArgs(c.Go.Args))
		if err == nil {
			l.Partitions, err = QueryLag(ctx, cfg, conf.Merge(c.Config), resourcesDir)
		}
		l.Err = err
		out = append(out, l)
	}
	return out
}

// StormSpoutLag is one spout's entry of Storm's
// GET /api/v1/topology/:id/lag answer.
type StormSpoutLag struct {
	SpoutID   string `json:"spoutId"`
	SpoutType string `json:"spoutType"`
	// SpoutLagResult maps topic → partition (as a string, as Storm's JSON
	// has it) → offsets.
	SpoutLagResult map[string]map[string]StormPartitionLag `json:"spoutLagResult,omitempty"`
	ErrorInfo      string                                  `json:"errorInfo,omitempty"`
}

// StormPartitionLag is storm-kafka-monitor's KafkaPartitionOffsetLag.
type StormPartitionLag struct {
	ConsumerCommittedOffset int64 `json:"consumerCommittedOffset"`
	LogHeadOffset           int64 `json:"logHeadOffset"`
	Lag                     int64 `json:"lag"`
}

// StormLag builds the answer of Storm's GET /api/v1/topology/:id/lag:
// spout id → {spoutId, spoutType: "KAFKA", spoutLagResult | errorInfo}. A
// partition the group never committed shows consumerCommittedOffset -1, as
// in Storm, and its lag counts from the log's start.
func StormLag(spouts []SpoutLag) map[string]StormSpoutLag {
	out := make(map[string]StormSpoutLag, len(spouts))
	for _, s := range spouts {
		e := StormSpoutLag{SpoutID: s.SpoutID, SpoutType: "KAFKA"}
		if s.Err != nil {
			e.ErrorInfo = s.Err.Error()
		} else {
			e.SpoutLagResult = map[string]map[string]StormPartitionLag{}
			for _, p := range s.Partitions {
				byPart := e.SpoutLagResult[p.Topic]
				if byPart == nil {
					byPart = map[string]StormPartitionLag{}
					e.SpoutLagResult[p.Topic] = byPart
				}
				byPart[strconv.Itoa(int(p.Partition))] = StormPartitionLag{ConsumerCommittedOffset: p.Committed, LogHeadOffset: p.LogEnd, Lag: p.Lag()}
			}
		}
		out[s.SpoutID] = e
	}
	return out
}

// StormLagJSON is StormLag marshalled, keys sorted.
func StormLagJSON(spouts []SpoutLag) ([]byte, error) {
	return json.Marshal(StormLag(spouts))
}

// StormMetrics returns the partition's figures under the names of Storm's
// KafkaOffsetMetricManager ("<topic>/partition_<n>/spoutLag", ...), for the
// metrics registry; unknown figures are left out.
func (l PartitionLag) StormMetrics() map[string]int64 {
	prefix := l.Topic + "/partition_" + strconv.Itoa(int(l.Partition)) + "/"
	m := map[string]int64{}
	add := func(name string, v int64) {
		if v >= 0 {
			m[prefix+name] = v
		}
	}
	add("spoutLag", l.Lag())
	add("earliestTimeOffset", l.LogStart)
	add("latestTimeOffset", l.LogEnd)
	add("latestEmittedOffset", l.LatestEmitted)
	add("latestCompletedOffset", l.Committed)
	if l.LogStart >= 0 && l.LogEnd >= 0 {
		add("recordsInPartition", l.LogEnd-l.LogStart)
	}
	return m
}
