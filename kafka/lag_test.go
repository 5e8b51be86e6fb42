package kafka

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/testenv"
	"github.com/squallstream/squall/metrics"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/worker"
)

func TestStormLagJSON(t *testing.T) {
	got, err := StormLagJSON([]SpoutLag{
		{SpoutID: "kafka-spout", Partitions: []PartitionLag{
			{Topic: "orders", Partition: 0, Committed: 90, LogStart: 0, LogEnd: 100, LatestEmitted: 95},
			{Topic: "orders", Partition: 1, Committed: -1, LogStart: 10, LogEnd: 30, LatestEmitted: -1},
			{Topic: "clicks", Partition: 12, Committed: 5, LogStart: 0, LogEnd: 5, LatestEmitted: 4},
		}},
		{SpoutID: "broken", Err: errors.New("list partitions: context deadline exceeded")},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"broken":{"spoutId":"broken","spoutType":"KAFKA","errorInfo":"list partitions: context deadline exceeded"},` +
		`"kafka-spout":{"spoutId":"kafka-spout","spoutType":"KAFKA","spoutLagResult":{` +
		`"clicks":{"12":{"consumerCommittedOffset":5,"logHeadOffset":5,"lag":0}},` +
		`"orders":{"0":{"consumerCommittedOffset":90,"logHeadOffset":100,"lag":10},"1":{"consumerCommittedOffset":-1,"logHeadOffset":30,"lag":20}}}}}`
	if string(got) != want {
		t.Errorf("StormLagJSON =\n%s\nwant\n%s", got, want)
	}
}

func TestPartitionLag(t *testing.T) {
	tests := []struct {
		l    PartitionLag
		want int64
	}{
		{PartitionLag{Committed: 90, LogStart: 0, LogEnd: 100}, 10},
		{PartitionLag{Committed: -1, LogStart: 40, LogEnd: 100}, 60},
		{PartitionLag{Committed: -1, LogStart: -1, LogEnd: 100}, 100},
		{PartitionLag{Committed: 5, LogStart: -1, LogEnd: -1}, -1},
		{PartitionLag{Committed: 120, LogStart: 0, LogEnd: 100}, 0}, // a commit past a truncated log
	}
	for _, tt := range tests {
		if got := tt.l.Lag(); got != tt.want {
			t.Errorf("%+v.Lag() = %d, want %d", tt.l, got, tt.want)
		}
	}
	m := PartitionLag{Topic: "t", Partition: 3, Committed: 7, LogStart: 2, LogEnd: 10, LatestEmitted: 9}.StormMetrics()
	want := map[string]int64{"t/partition_3/spoutLag": 3, "t/partition_3/earliestTimeOffset": 2, "t/partition_3/latestTimeOffset": 10,
		"t/partition_3/latestEmittedOffset": 9, "t/partition_3/latestCompletedOffset": 7, "t/partition_3/recordsInPartition": 8}
	if fmt.Sprint(m) != fmt.Sprint(want) {
		t.Errorf("StormMetrics = %v, want %v", m, want)
	}
}

// TestQueryLag: the lag of a running topology, asked of the brokers from
// its definition (as the REST API will), matches what its spout reports,
// while one record is held failing.
func TestQueryLag(t *testing.T) {
	const n, parts = 400, 2
	b := startBroker(t, parts, "orders")
	produce(t, b.Addr(), "orders", parts, 0, n)
	r := topology.NewRegistry()
	Register(r)
	y := fmt.Sprintf(`
name: lagged
config: {%s: "%s"}
spouts:
  - id: kafka
    go: squall.KafkaSpout
    args: {topics: [orders], group.id: lagged, offset.commit.period.ms: 50}
bolts:
  - id: sink
    go: squall.KafkaBolt
    args: {topic: orders-out, value.field: value}
streams:
  - {from: kafka, to: sink, grouping: {type: SHUFFLE}}
`, KeyBootstrapServers, b.Addr())
	topo, err := topology.Load([]byte(y), topology.LoadOptions{Registry: r})
	if err != nil {
		t.Fatal(err)
	}
	// The bolt's topic does not exist: every tuple fails and is retried,
	// so nothing is committed until it appears.
	ctx, cancel := context.WithTimeout(context.Background(), patience(30*time.Second))
	defer cancel()
	lags := TopologyLag(ctx, topo, topo.Config, "")
	if len(lags) != 1 || lags[0].Err != nil || len(lags[0].Partitions) != parts {
		t.Fatalf("TopologyLag before running = %+v", lags)
	}
	for _, p := range lags[0].Partitions {
		if p.Committed != -1 || p.LogEnd != n/parts || p.Lag() != n/parts {
			t.Errorf("before running: %+v, want nothing committed and lag %d", p, n/parts)
		}
	}
	runWorker(t, worker.Config{Topology: topo})
	if err := b.CreateTopic("orders-out", 1); err != nil {
		t.Fatal(err)
	}
	testenv.WaitUntil(t, 60*time.Second, "lag 0 once everything is written", func() bool {
		ls := TopologyLag(ctx, topo, topo.Config, "")
		if len(ls) != 1 || ls[0].Err != nil {
			return false
		}
		for _, p := range ls[0].Partitions {
			if p.Lag() != 0 || p.Committed != n/parts {
				return false
			}
		}
		return true
	})

	// A spout without a reachable broker reports why.
	bad := *topo
	badCtx, badCancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer badCancel()
	ls := TopologyLag(badCtx, &bad, topology.Config{KeyBootstrapServers: "127.0.0.1:1"}, "")
	if len(ls) != 1 || ls[0].Err == nil {
		t.Errorf("lag with no broker = %+v, want an error", ls)
	}
}

// TestLagMetricsCapped: a task reading more partitions than its user
// metrics leave room for says so once, naming the setting to raise.
func TestLagMetricsCapped(t *testing.T) {
	tests := []struct {
		name      string
		conf      topology.Config
		wantRoom  int
		wantError bool
	}{
		{"default cap", topology.Config{}, 33, false},
		{"raised", topology.Config{metrics.KeyMaxUserMetrics: 12}, 4, false},
		{"too low", topology.Config{metrics.KeyMaxUserMetrics: 9}, 3, true},
		{"none allowed", topology.Config{metrics.KeyMaxUserMetrics: 0}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, feed := spoutFeeder(t) // 4 partitions
			if s.lagPartitions = lagPartitions(tt.conf); s.lagPartitions != tt.wantRoom {
				t.Fatalf("lagPartitions = %d, want %d", s.lagPartitions, tt.wantRoom)
			}
			var names []string
			s.record = func(name string, _ any) { names = append(names, name) }
			feed(1000)
			s.nextLagMetrics = time.Time{}
			feed(1000)
			errs := s.out.(*ackingCollector).errors
			if len(names) == 0 {
				t.Fatal("no lag metrics recorded")
			}
			switch {
			case !tt.wantError && len(errs) > 0:
				t.Errorf("reported %v", errs)
			case tt.wantError && len(errs) != 1:
				t.Errorf("reported %d errors, want 1: %v", len(errs), errs)
			case tt.wantError && !strings.Contains(errs[0].Error(), metrics.KeyMaxUserMetrics):
				t.Errorf("reported %q, which does not name %s", errs[0], metrics.KeyMaxUserMetrics)
			}
		})
	}
}
