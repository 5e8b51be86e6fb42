package kafka

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/squallstream/squall/metrics"
	"github.com/squallstream/squall/topology"
)

// LagMetricsEvery is how often a spout task records its partitions' lag
// as metrics of the task.
const LagMetricsEvery = time.Second

// Names of the lag metrics a spout task records per partition, as
// "<topic>/partition_<n>/<name>" (Storm's KafkaOffsetMetricManager names):
// three per partition, so that a task within the default 100 user metrics
// reports up to 33 partitions.
const (
	MetricSpoutLag       = "spoutLag"
	MetricLogHead        = "latestTimeOffset"
	MetricLatestComplete = "latestCompletedOffset"
)

// recordLag records the task's partitions' lag as gauges, at most every
// LagMetricsEvery: they reach the REST API's lag (nimbus reads them in the
// heartbeats) and Prometheus (squall_user_gauge). Figures not known yet
// are not recorded.
func (s *Spout) recordLag(now time.Time) {
	if s.record == nil || now.Before(s.nextLagMetrics) {
		return
	}
	s.nextLagMetrics = now.Add(LagMetricsEvery)
	lags := s.Lag()
	if len(lags) > s.lagPartitions && !s.lagCapped {
		// The registry drops the names past its cap with a warning that
		// does not say what goes missing: say it, once.
		s.lagCapped = true
		err := fmt.Errorf("kafka spout: the lag metrics of the task's %d partitions (%d each) do not fit under %s, which leaves room for %d: the lag API and the component page miss some partitions; raise %s",
			len(lags), lagMetricsPerPartition, metrics.KeyMaxUserMetrics, s.lagPartitions, metrics.KeyMaxUserMetrics)
		s.log.Warn("kafka spout lag metrics capped", "err", err)
		s.out.ReportError(err)
	}
	for _, l := range lags {
		prefix := l.Topic + "/partition_" + strconv.Itoa(int(l.Partition)) + "/"
		for _, m := range [...]struct {
			name string
			v    int64
		}{{MetricSpoutLag, l.Lag()}, {MetricLogHead, l.LogEnd}, {MetricLatestComplete, l.Committed}} {
			if m.v >= 0 {
				s.record(prefix+m.name, map[string]any{"type": "gauge", "value": float64(m.v)})
			}
		}
	}
}

// lagMetricsPerPartition is how many metrics recordLag records for a
// partition.
const lagMetricsPerPartition = 3

// lagPartitions returns for how many partitions a task of a topology with
// configuration conf can record lag metrics, its other metrics aside.
func lagPartitions(conf topology.Config) int {
	n, err := metrics.MaxUserMetricsFrom(conf)
	if err != nil {
		return 0 // the worker refuses such a topology
	}
	return max(n, 0) / lagMetricsPerPartition
}

// ParseLagMetric reads the name of a lag metric a spout task records:
// its topic, partition and which figure it is.
func ParseLagMetric(name string) (topic string, partition int32, figure string, ok bool) {
	i := strings.LastIndexByte(name, '/')
	if i < 0 {
		return "", 0, "", false
	}
	figure = name[i+1:]
	if figure != MetricSpoutLag && figure != MetricLogHead && figure != MetricLatestComplete {
		return "", 0, "", false
	}
	rest := name[:i]
	j := strings.LastIndex(rest, "/partition_")
	if j <= 0 {
		return "", 0, "", false
	}
	p, err := strconv.ParseInt(rest[j+len("/partition_"):], 10, 32)
	if err != nil || p < 0 {
		return "", 0, "", false
	}
	return rest[:j], int32(p), figure, true
}
