// Package metrics is one registry for a worker's built-in and user
// metrics, per task: counters, gauges and histograms, read as Storm's UI
// reads its statistics, in rolling windows of 10 minutes, 3 hours, 1 day
// and all time.
//
// Recording is cheap and allocation-free: a Counter is one atomic add and
// a Histogram one more (plus a compare-and-swap for its sum), so the
// executors record on the tuple path. Everything else happens off that
// path: Registry.Roll moves the counts into Storm's rolling buckets,
// Registry.Snapshot reads every series in every window into a Snapshot, a
// plain value that a worker ships in its heartbeat and that nimbus merges
// with Merge, keeping nothing itself.
//
// User metrics arrive by name, from the multilang "metrics" command
// (Task.Record) or from Go components: a name is registered on first use,
// up to Config.MaxUserMetrics names per task; beyond that updates are
// dropped, counted and warned about once.
//
// The package imports only the standard library, so that the cluster
// state's record types may carry a Snapshot; package metrics/prom exposes
// a Registry to Prometheus.
package metrics
