package worker

import (
	"fmt"
	"sync"
	"time"

	"github.com/squallstream/squall/metrics"
	"github.com/squallstream/squall/topology"
)

// ErrorReport is an error a component reported.
type ErrorReport struct {
	Component string
	Task      int
	Time      time.Time
	Err       error
}

// keptErrors is how many recent errors are kept per component.
const keptErrors = 10

// errorLog throttles and keeps the errors components report: at most
// topology.max.error.report.per.interval per task per
// topology.error.throttle.interval.secs, as Storm, and the last 10 per
// component. It is safe for concurrent use.
type errorLog struct {
	interval time.Duration
	perInt   int
	sink     func(ErrorReport)

	mu sync.Mutex
	// The following fields are guarded by mu.
	windows map[int]*throttleWindow
	recent  map[string][]ErrorReport
	counts  map[string]int64
}

type throttleWindow struct {
	start time.Time
	n     int
}

func newErrorLog(conf topology.Config, sink func(ErrorReport)) *errorLog {
	return &errorLog{
		interval: conf.Seconds(topology.KeyErrorThrottleIntervalSecs, 10*time.Second),
		perInt:   conf.Int(topology.KeyMaxErrorReportPerInterval, 5),
		sink:     sink,
		windows:  map[int]*throttleWindow{},
		recent:   map[string][]ErrorReport{},
		counts:   map[string]int64{},
	}
}

// add records an error; it reports whether it passed the throttle.
func (l *errorLog) add(r ErrorReport) bool {
	l.mu.Lock()
	l.counts[r.Component]++
	w := l.windows[r.Task]
	if w == nil || r.Time.Sub(w.start) >= l.interval {
		w = &throttleWindow{start: r.Time}
		l.windows[r.Task] = w
	}
	w.n++
	if w.n > l.perInt {
		l.mu.Unlock()
		return false
	}
	rs := append(l.recent[r.Component], r)
	if len(rs) > keptErrors {
		rs = rs[len(rs)-keptErrors:]
	}
	l.recent[r.Component] = rs
	l.mu.Unlock()
	if l.sink != nil {
		l.sink(r)
	}
	return true
}

func (l *errorLog) count(component string) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.counts[component]
}

// Errors returns the last errors each component reported (at most 10 per
// component, oldest first), throttled as Storm throttles them.
func (w *Worker) Errors() map[string][]ErrorReport {
	w.errors.mu.Lock()
	defer w.errors.mu.Unlock()
	out := make(map[string][]ErrorReport, len(w.errors.recent))
	for c, rs := range w.errors.recent {
		out[c] = append([]ErrorReport(nil), rs...)
	}
	return out
}

func (w *Worker) reportError(component string, task int, err error) {
	r := ErrorReport{Component: component, Task: task, Time: time.Now(), Err: err}
	w.metrics.Task(component, task).Counter(metrics.ReportedErrors, "").Inc()
	if w.errors.add(r) {
		w.log.Error("component reported an error", "component", component, "task", task, "err", err)
	}
}

// SettingError is a configuration value the worker cannot run with,
// though its type is right (a wait strategy it does not know, a negative
// count). It wraps topology.ErrBadConfig.
type SettingError struct {
	Key    string
	Value  any
	Reason string
}

func (e *SettingError) Error() string {
	return fmt.Sprintf("%v: %s = %#v: %s", topology.ErrBadConfig, e.Key, e.Value, e.Reason)
}

func (e *SettingError) Unwrap() error { return topology.ErrBadConfig }
