package metrics

import (
	"context"
	"log/slog"
	"time"
)

// ConsoleReporter writes every metric of a registry to a logger each
// period: Storm's ConsoleStormReporter, into the worker's log, where the
// logviewer and `squall logs` find it. One line per task and metric, under
// the task's component and task keys (the logger is expected to carry the
// worker's topology and port):
//
//	msg=metric component=split task=5 name=emitted stream=default kind=counter value=1200 delta=40
//
// Counters give their all-time value and what they grew by since the last
// report; histograms their count, delta, mean, p50 and p99; gauges their
// value. Durations (the built-in latencies, backpressure and CPU time)
// read as Go durations ("1.5ms").
type ConsoleReporter struct {
	reg        *Registry
	cfg        ReporterConfig
	host       string
	port       int
	log        *slog.Logger
	lastCounts map[consoleKey]int64
}

type consoleKey struct {
	task         int
	name, stream string
	user         bool
}

// NewConsoleReporter returns a reporter of reg to log. host and port are
// the worker's, for filters on long names.
func NewConsoleReporter(reg *Registry, cfg ReporterConfig, host string, port int, log *slog.Logger) *ConsoleReporter {
	if cfg.Period <= 0 {
		cfg.Period = DefaultReportPeriod
	}
	return &ConsoleReporter{reg: reg, cfg: cfg, host: host, port: port, log: log, lastCounts: map[consoleKey]int64{}}
}

// Run reports every period until ctx ends.
func (c *ConsoleReporter) Run(ctx context.Context) error {
	tick := time.NewTicker(c.cfg.Period)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-tick.C:
			c.Report(now)
		}
	}
}

// Report writes one report, at now. It is not safe for concurrent use.
func (c *ConsoleReporter) Report(now time.Time) {
	for _, snap := range c.reg.Snapshot(now) {
		for _, s := range snap.Series {
			if !c.cfg.Keep(LongName(c.reg.topology, c.host, snap.Component, snap.FirstTask, c.port, s.Name, s.Stream)) {
				continue
			}
			attrs := []slog.Attr{
				slog.String("component", snap.Component),
				slog.Int("task", snap.FirstTask),
				slog.String("name", s.Name),
			}
			if s.Stream != "" {
				attrs = append(attrs, slog.String("stream", s.Stream))
			}
			if s.User {
				attrs = append(attrs, slog.Bool("user", true))
			}
			attrs = append(attrs, slog.String("kind", s.Kind.String()))
			key := consoleKey{snap.FirstTask, s.Name, s.Stream, s.User}
			dur := !s.User && unitOf(s.Name) == UnitNanoseconds
			switch s.Kind {
			case KindCounter:
				all := s.Counts[WindowAllTime]
				v := slog.Int64("value", all)
				if dur {
					v = slog.Duration("value", time.Duration(all))
				}
				attrs = append(attrs, v, slog.Int64("delta", all-c.lastCounts[key]))
				c.lastCounts[key] = all
			case KindGauge:
				attrs = append(attrs, value("value", s.Value, dur))
			case KindHistogram:
				all := s.Counts[WindowAllTime]
				attrs = append(attrs, slog.Int64("count", all), slog.Int64("delta", all-c.lastCounts[key]),
					value("mean", s.Mean(WindowAllTime), dur))
				if s.Histogram != nil {
					attrs = append(attrs, value("p50", s.Histogram.Quantile(0.5), dur), value("p99", s.Histogram.Quantile(0.99), dur))
				}
				c.lastCounts[key] = all
			}
			c.log.LogAttrs(context.Background(), slog.LevelInfo, "metric", attrs...)
		}
	}
}

func value(key string, v float64, dur bool) slog.Attr {
	if dur {
		return slog.Duration(key, time.Duration(v))
	}
	return slog.Float64(key, v)
}

// unitOf returns the unit of the built-in metric name.
func unitOf(name string) Unit {
	if b, ok := builtinByName[name]; ok {
		return b.Unit
	}
	return UnitNone
}
