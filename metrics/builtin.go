package metrics

import "fmt"

// Kind is what a metric is.
type Kind uint8

const (
	// KindCounter only grows; its windows hold what it grew by.
	KindCounter Kind = iota + 1
	// KindGauge is a value that goes up and down; it has no windows.
	KindGauge
	// KindHistogram counts values; its windows hold their count and sum.
	KindHistogram
)

var kindNames = [...]string{KindCounter: "counter", KindGauge: "gauge", KindHistogram: "histogram"}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// MarshalText writes the kind's name, so that snapshots read well as JSON.
func (k Kind) MarshalText() ([]byte, error) {
	if int(k) >= len(kindNames) || kindNames[k] == "" {
		return nil, fmt.Errorf("marshal metric kind %d", int(k))
	}
	return []byte(kindNames[k]), nil
}

// UnmarshalText reads a kind's name.
func (k *Kind) UnmarshalText(b []byte) error {
	for i, n := range kindNames {
		if n != "" && n == string(b) {
			*k = Kind(i)
			return nil
		}
	}
	return fmt.Errorf("unknown metric kind %q", b)
}

// Unit is what a built-in metric's values measure.
type Unit uint8

const (
	UnitNone Unit = iota
	// UnitNanoseconds: durations, exposed to Prometheus in seconds.
	UnitNanoseconds
	UnitBytes
)

// Names of the built-in metrics. Storm's names are in each Builtin's Storm
// field; squall drops their "__" prefix and "-count" suffix, as Storm's UI
// does.
const (
	Emitted                = "emitted"
	Transferred            = "transferred"
	Acked                  = "acked"
	Failed                 = "failed"
	Executed               = "executed"
	ExecuteLatency         = "execute-latency"
	ProcessLatency         = "process-latency"
	CompleteLatency        = "complete-latency"
	ReceiveQueuePopulation = "receive-queue-population"
	ReceiveQueueCapacity   = "receive-queue-capacity"
	ReceiveQueueOverflow   = "receive-queue-overflow"
	BackpressureTime       = "backpressure-time"
	MaxSpoutPendingTime    = "max-spout-pending-time"
	ReportedErrors         = "reported-errors"
	ChildRestarts          = "child-restarts"
	ChildCPUTime           = "child-cpu-time"
	ChildRSS               = "child-rss"
	ChildCrashLooping      = "child-crash-looping"
	UserMetricsDropped     = "user-metrics-dropped"
	UserMetricsRejected    = "user-metrics-rejected"
)

// Stream says what a built-in metric's stream is.
type Stream uint8

const (
	// NoStream: the metric is the task's.
	NoStream Stream = iota
	// OutputStream: a stream the task emits on, by its id.
	OutputStream
	// InputStream: a bolt's input, "component:stream" as Storm keys it.
	InputStream
	// EitherStream: a spout's output stream or a bolt's input (acked,
	// failed).
	EitherStream
)

// Builtin describes a metric that squall records itself.
type Builtin struct {
	Name   string
	Kind   Kind
	Unit   Unit
	Stream Stream
	// Storm is Storm's name for it, or "" if Storm has none.
	Storm string
	Help  string
}

// Builtins lists the built-in metrics, in the order reports list them.
var Builtins = []Builtin{
	{Emitted, KindCounter, UnitNone, OutputStream, "__emit-count", "Tuples emitted."},
	{Transferred, KindCounter, UnitNone, OutputStream, "__transfer-count", "Tuples sent to target tasks: an emit counts once per target."},
	{Acked, KindCounter, UnitNone, EitherStream, "__ack-count", "Spouts: tuple trees fully acked. Bolts: input tuples acked."},
	{Failed, KindCounter, UnitNone, EitherStream, "__fail-count", "Spouts: tuple trees failed or timed out. Bolts: input tuples failed."},
	{Executed, KindCounter, UnitNone, InputStream, "__execute-count", "Input tuples a bolt executed."},
	{ExecuteLatency, KindHistogram, UnitNanoseconds, InputStream, "__execute-latency", "Time a bolt spent executing an input tuple (sampled)."},
	{ProcessLatency, KindHistogram, UnitNanoseconds, InputStream, "__process-latency", "Time from an input tuple's execute to its ack (sampled)."},
	{CompleteLatency, KindHistogram, UnitNanoseconds, OutputStream, "__complete-latency", "Time from a spout's emit to its tuple tree's ack (sampled)."},
	{ReceiveQueuePopulation, KindGauge, UnitNone, NoStream, "receive_queue population", "Messages in the task's receive queue."},
	{ReceiveQueueCapacity, KindGauge, UnitNone, NoStream, "receive_queue capacity", "Capacity of the task's receive queue."},
	{ReceiveQueueOverflow, KindGauge, UnitNone, NoStream, "receive_queue overflow", "Messages held back because the receive queue is full."},
	{BackpressureTime, KindCounter, UnitNanoseconds, NoStream, "__skipped-backpressure-ms", "Time the task was held back by backpressure."},
	{MaxSpoutPendingTime, KindCounter, UnitNanoseconds, NoStream, "__skipped-max-spout-ms", "Time a spout waited because topology.max.spout.pending tuples were pending."},
	{ReportedErrors, KindCounter, UnitNone, NoStream, "__reported-error-count", "Errors the task reported."},
	{ChildRestarts, KindCounter, UnitNone, NoStream, "", "Restarts of the task's child process."},
	{ChildCPUTime, KindCounter, UnitNanoseconds, NoStream, "", "CPU time (user and system) of the task's child processes."},
	{ChildRSS, KindGauge, UnitBytes, NoStream, "", "Resident memory of the task's child process."},
	{ChildCrashLooping, KindGauge, UnitNone, NoStream, "", "1 while the task's children keep failing in quick succession."},
	{UserMetricsDropped, KindCounter, UnitNone, NoStream, "", "User metric updates dropped because the task has too many user metrics."},
	{UserMetricsRejected, KindCounter, UnitNone, NoStream, "", "User metric updates refused for a bad name, params or kind."},
}

var builtinByName = func() map[string]*Builtin {
	m := make(map[string]*Builtin, len(Builtins))
	for i := range Builtins {
		m[Builtins[i].Name] = &Builtins[i]
	}
	return m
}()

// LookupBuiltin returns the built-in metric called name.
func LookupBuiltin(name string) (Builtin, bool) {
	b, ok := builtinByName[name]
	if !ok {
		return Builtin{}, false
	}
	return *b, true
}

// builtin returns the built-in metric called name, which must be of kind
// k: asking for anything else is a programming error.
func builtin(name string, k Kind) *Builtin {
	b, ok := builtinByName[name]
	if !ok {
		panic(fmt.Sprintf("metrics: %q is not a built-in metric", name))
	}
	if b.Kind != k {
		panic(fmt.Sprintf("metrics: built-in metric %q is a %v, not a %v", name, b.Kind, k))
	}
	return b
}
