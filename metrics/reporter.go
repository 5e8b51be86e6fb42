package metrics

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Configuration keys, under Storm's names.
const (
	// KeyReporters lists the metrics reporters of a topology's workers
	// (Storm's metrics v2 reporters).
	KeyReporters = "topology.metrics.reporters"
	// KeyBuiltinBucketSizeSecs is how often, in seconds, built-in metrics
	// are reported: the report.period of reporters that give none.
	KeyBuiltinBucketSizeSecs = "topology.builtin.metrics.bucket.size.secs"
)

// DefaultReportPeriod is Storm's default topology.builtin.metrics.bucket.size.secs.
const DefaultReportPeriod = 60 * time.Second

// MaxReporters bounds the reporters a topology may configure.
const MaxReporters = 16

// ReporterKind is what a reporter does.
type ReporterKind string

const (
	// ReporterConsole writes every metric to the worker's log every
	// period, as Storm's ConsoleStormReporter does to its console.
	ReporterConsole ReporterKind = "console"
	// ReporterPrometheus configures the worker's Prometheus exposition,
	// which is served whether or not it is listed.
	ReporterPrometheus ReporterKind = "prometheus"
)

// reporterClasses maps the class names a reporter may be given by, squall's
// and Storm's, to what they are.
var reporterClasses = map[string]ReporterKind{
	"console": ReporterConsole,
	"log":     ReporterConsole,
	"org.apache.storm.metrics2.reporters.ConsoleStormReporter": ReporterConsole,
	"prometheus": ReporterPrometheus,
}

// regexFilterClasses are the names of Storm's regular expression filter.
var regexFilterClasses = map[string]bool{
	"regex": true,
	"org.apache.storm.metrics2.filters.RegexFilter": true,
}

// ignoredReporterKeys are keys Storm's reporters take that mean nothing
// here; they are accepted so that Storm configurations load.
var ignoredReporterKeys = map[string]bool{
	"locale": true, "rate.unit": true, "duration.unit": true, "report.dimensions.enabled": true,
}

// ReporterConfig is one entry of topology.metrics.reporters:
//
//	topology.metrics.reporters:
//	  - class: "org.apache.storm.metrics2.reporters.ConsoleStormReporter"  # or "console"
//	    report.period: 10
//	    report.period.units: "SECONDS"
//	    filter:
//	      class: "org.apache.storm.metrics2.filters.RegexFilter"            # or "regex"
//	      expression: ".*split.*emitted.*"
//	  - class: "prometheus"
//	    per.task: false
type ReporterConfig struct {
	Kind ReporterKind
	// Period is how often a console reporter reports.
	Period time.Duration
	// Filter keeps the metrics whose whole long name (see LongName) it
	// matches; nil keeps them all.
	Filter *regexp.Regexp
	// PerTask keeps a Prometheus series per task (the default); false adds
	// up a component's tasks, for fewer series.
	PerTask bool
}

// Keep reports whether the filter keeps the metric of this long name.
func (c ReporterConfig) Keep(longName string) bool {
	return c.Filter == nil || c.Filter.MatchString(longName)
}

// LongName names a metric as Storm's reporters do by default, for filters:
// storm.topology.<topology>.<host>.<component>.<task>.<port>-<name>, with
// "-<stream>" after a metric of a stream.
func LongName(topology, host, component string, task, port int, name, stream string) string {
	var b strings.Builder
	b.WriteString("storm.topology.")
	b.WriteString(topology)
	b.WriteByte('.')
	b.WriteString(host)
	b.WriteByte('.')
	b.WriteString(component)
	b.WriteByte('.')
	b.WriteString(strconv.Itoa(task))
	b.WriteByte('.')
	b.WriteString(strconv.Itoa(port))
	b.WriteByte('-')
	b.WriteString(name)
	if stream != "" {
		b.WriteByte('-')
		b.WriteString(stream)
	}
	return b.String()
}

// ParseReporters reads topology.metrics.reporters and
// topology.builtin.metrics.bucket.size.secs from a topology's
// configuration. No reporters configured is no error.
func ParseReporters(conf map[string]any) ([]ReporterConfig, error) {
	period := DefaultReportPeriod
	if v, ok := conf[KeyBuiltinBucketSizeSecs]; ok && v != nil {
		secs, ok := number(v)
		if !ok || secs < 1 || secs != float64(int64(secs)) || secs > 86400 {
			return nil, fmt.Errorf("%w: %s: %s: want whole seconds from 1 to 86400", ErrReporterConfig, KeyBuiltinBucketSizeSecs, describe(v))
		}
		period = time.Duration(secs) * time.Second
	}
	v, ok := conf[KeyReporters]
	if !ok || v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%w: %s: want a list of reporters, got %s", ErrReporterConfig, KeyReporters, describe(v))
	}
	if len(list) > MaxReporters {
		return nil, fmt.Errorf("%w: %s: %d reporters, more than %d", ErrReporterConfig, KeyReporters, len(list), MaxReporters)
	}
	out := make([]ReporterConfig, 0, len(list))
	for i, item := range list {
		rc, err := parseReporter(item, period)
		if err != nil {
			return nil, fmt.Errorf("%w: %s[%d]: %w", ErrReporterConfig, KeyReporters, i, err)
		}
		out = append(out, rc)
	}
	return out, nil
}

func parseReporter(item any, period time.Duration) (ReporterConfig, error) {
	m, ok := item.(map[string]any)
	if !ok {
		return ReporterConfig{}, fmt.Errorf("want a map with a class, got %s", describe(item))
	}
	class, _ := m["class"].(string)
	kind, ok := reporterClasses[class]
	if !ok {
		return ReporterConfig{}, fmt.Errorf("class %s: unknown reporter; known: console, prometheus (or Storm's ConsoleStormReporter)", describe(m["class"]))
	}
	rc := ReporterConfig{Kind: kind, Period: period, PerTask: true}
	units := time.Second
	for k, v := range m {
		var err error
		switch {
		case k == "class" || ignoredReporterKeys[k]:
		case k == "report.period":
			n, ok := number(v)
			if !ok || n <= 0 || n != float64(int64(n)) {
				err = fmt.Errorf("report.period %s: want a whole number > 0", describe(v))
			}
			rc.Period = time.Duration(n) // scaled below
		case k == "report.period.units":
			units, err = timeUnit(v)
		case k == "filter":
			rc.Filter, err = parseFilter(v)
		case k == "per.task" && kind == ReporterPrometheus:
			b, ok := v.(bool)
			if !ok {
				err = fmt.Errorf("per.task %s: want true or false", describe(v))
			}
			rc.PerTask = b
		default:
			err = fmt.Errorf("unknown key %q for a %s reporter", k, kind)
		}
		if err != nil {
			return rc, err
		}
	}
	if _, ok := m["report.period"]; ok {
		if rc.Period > time.Duration(1<<62)/units {
			return rc, fmt.Errorf("report.period %d %v is too long", rc.Period, units)
		}
		rc.Period *= units
		if rc.Period < time.Second {
			return rc, fmt.Errorf("report.period %v: want at least a second", rc.Period)
		}
	}
	return rc, nil
}

// timeUnit reads a Java TimeUnit name, as Storm's report.period.units.
func timeUnit(v any) (time.Duration, error) {
	s, _ := v.(string)
	switch strings.ToUpper(s) {
	case "NANOSECONDS":
		return time.Nanosecond, nil
	case "MICROSECONDS":
		return time.Microsecond, nil
	case "MILLISECONDS":
		return time.Millisecond, nil
	case "SECONDS":
		return time.Second, nil
	case "MINUTES":
		return time.Minute, nil
	case "HOURS":
		return time.Hour, nil
	case "DAYS":
		return 24 * time.Hour, nil
	}
	return 0, fmt.Errorf("report.period.units %s: want NANOSECONDS, MICROSECONDS, MILLISECONDS, SECONDS, MINUTES, HOURS or DAYS", describe(v))
}

func parseFilter(v any) (*regexp.Regexp, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("filter %s: want a map with class and expression", describe(v))
	}
	class, _ := m["class"].(string)
	if !regexFilterClasses[class] {
		return nil, fmt.Errorf("filter class %s: want regex (Storm's RegexFilter)", describe(m["class"]))
	}
	for k := range m {
		if k != "class" && k != "expression" {
			return nil, fmt.Errorf("filter: unknown key %q", k)
		}
	}
	expr, ok := m["expression"].(string)
	if !ok {
		return nil, fmt.Errorf("filter expression %s: want a regular expression", describe(m["expression"]))
	}
	// Storm's RegexFilter matches the whole name.
	re, err := regexp.Compile(`^(?:` + expr + `)$`)
	if err != nil {
		return nil, fmt.Errorf("filter expression: %w", err)
	}
	return re, nil
}
