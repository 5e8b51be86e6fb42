package nimbus

import (
	"strings"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/metrics"
	"github.com/squallstream/squall/topology"
)

// Statistics come from the workers' heartbeats in the cluster state: each
// worker reports, per executor, a metrics.Snapshot of every series in
// Storm's four windows (10 minutes, 3 hours, 1 day, all time), read where
// the rolling buckets are, as Storm's executors do. nimbus only adds them
// up, so it keeps nothing and a nimbus that takes over answers the same.
// What a restarted worker had counted is lost, as in Storm.

// windowOf checks a requested window: "" (all time) or one of Storm's four.
func windowOf(w string) (metrics.Window, error) {
	win, err := metrics.ParseWindow(w)
	if err != nil {
		return 0, invalidf("window %q: want 600, 10800, 86400 or %s", w, api.WindowAllTime)
	}
	return win, nil
}

// figures are counts and latencies in one window, summed over executors
// or streams. Latencies are sums of sampled latencies in nanoseconds with
// their sample counts; the histograms (all time) give percentiles.
type figures struct {
	emitted, transferred      int64
	executed, acked, failed   int64
	execLat, procLat, compLat float64
	execW, procW, compW       int64
	execHist, compHist        metrics.HistogramSnapshot
	capacity                  float64
	queuePop, queueCap        int64
	// childRestarts (all time, whatever the window) and crashLooping
	// (tasks now) are shell children's.
	childRestarts, crashLooping int64
	// backpressure and pendingWait are nanoseconds held back; overflow
	// messages held back now.
	backpressure, pendingWait, overflow int64
}

// addSeries adds a built-in series read in window w.
func (f *figures) addSeries(x metrics.Series, w metrics.Window) {
	n := x.Counts[w]
	switch x.Name {
	case metrics.Emitted:
		f.emitted += n
	case metrics.Transferred:
		f.transferred += n
	case metrics.Executed:
		f.executed += n
	case metrics.Acked:
		f.acked += n
	case metrics.Failed:
		f.failed += n
	case metrics.ExecuteLatency:
		f.execLat += x.Sums[w]
		f.execW += n
		if h := x.WindowHistogram(w); h != nil {
			f.execHist = f.execHist.Merge(*h)
		}
	case metrics.ProcessLatency:
		f.procLat += x.Sums[w]
		f.procW += n
	case metrics.CompleteLatency:
		f.compLat += x.Sums[w]
		f.compW += n
		if h := x.WindowHistogram(w); h != nil {
			f.compHist = f.compHist.Merge(*h)
		}
	case metrics.ReceiveQueuePopulation:
		f.queuePop += int64(x.Value)
	case metrics.ReceiveQueueCapacity:
		f.queueCap += int64(x.Value)
	case metrics.ChildRestarts:
		if len(x.Counts) > int(metrics.WindowAllTime) {
			f.childRestarts += x.Counts[metrics.WindowAllTime]
		}
	case metrics.ChildCrashLooping:
		f.crashLooping += int64(x.Value)
	case metrics.BackpressureTime:
		f.backpressure += n
	case metrics.MaxSpoutPendingTime:
		f.pendingWait += n
	case metrics.ReceiveQueueOverflow:
		f.overflow += int64(x.Value)
	}
}

func (f *figures) add(o figures) {
	f.emitted += o.emitted
	f.transferred += o.transferred
	f.executed += o.executed
	f.acked += o.acked
	f.failed += o.failed
	f.execLat += o.execLat
	f.procLat += o.procLat
	f.compLat += o.compLat
	f.execW += o.execW
	f.procW += o.procW
	f.compW += o.compW
	f.execHist = f.execHist.Merge(o.execHist)
	f.compHist = f.compHist.Merge(o.compHist)
	f.capacity = max(f.capacity, o.capacity)
	f.queuePop += o.queuePop
	f.queueCap += o.queueCap
	f.childRestarts += o.childRestarts
	f.crashLooping += o.crashLooping
	f.backpressure += o.backpressure
	f.pendingWait += o.pendingWait
	f.overflow += o.overflow
}

// avg formats an average latency in milliseconds from a sum in
// nanoseconds.
func avg(sumNanos float64, w int64) string {
	if w == 0 {
		return api.FormatStat(0)
	}
	return api.FormatStat(sumNanos / float64(w) / 1e6)
}

func (f figures) executeLatency() string  { return avg(f.execLat, f.execW) }
func (f figures) processLatency() string  { return avg(f.procLat, f.procW) }
func (f figures) completeLatency() string { return avg(f.compLat, f.compW) }

// percentile formats the q-quantile of h, nanoseconds, in milliseconds.
// A timed window without values (or whose workers sent no windowed
// buckets: an older worker, a heartbeat past its size) gets "".
func percentile(h metrics.HistogramSnapshot, q float64, w metrics.Window) string {
	if w != metrics.WindowAllTime && h.Count == 0 {
		return ""
	}
	return api.FormatStat(h.Quantile(q) / 1e6)
}

// systemStream reports whether a stream or component id is a system one
// ("__ack_init", "__acker"), shown only when sys is asked for.
func systemStream(id string) bool { return strings.HasPrefix(id, "__") }

// inputKey splits a bolt's input stream key, "component:stream", at the
// colon that follows a known component id.
func inputKey(key string, known func(string) bool) (from, stream string, ok bool) {
	for i := 0; i < len(key); i++ {
		if key[i] == ':' && known(key[:i]) {
			return key[:i], key[i+1:], true
		}
	}
	return "", "", false
}

// componentStats are a component's figures in one window, in total and
// split by stream.
type componentStats struct {
	total   figures
	outputs map[string]figures // by stream id
	inputs  map[string]figures // by "component:stream"
}

func newComponentStats() componentStats {
	return componentStats{outputs: map[string]figures{}, inputs: map[string]figures{}}
}

// known reports whether c is a component of the topology, or the system
// component (tick tuples come from it).
func (m *model) known(c string) bool {
	_, ok := m.kind(c)
	return ok || c == topology.SystemComponent
}

// addSnapshot adds an executor's snapshot read in window w, without
// system streams unless sys. The executor's capacity counts toward the
// component's, the largest of its executors'.
func (m *model) addSnapshot(cs *componentStats, s metrics.Snapshot, w metrics.Window, sys bool) {
	spout := false
	if kind, _ := m.kind(s.Component); kind == topology.KindSpout.String() {
		spout = true
	} else {
		cs.total.capacity = max(cs.total.capacity, metrics.Capacity(s))
	}
	for _, x := range s.Series {
		if x.User {
			continue
		}
		b, ok := metrics.LookupBuiltin(x.Name)
		if !ok {
			continue
		}
		input := b.Stream == metrics.InputStream || b.Stream == metrics.EitherStream && !spout
		switch {
		case x.Stream == "":
			cs.total.addSeries(x, w)
		case input:
			from, stream, ok := inputKey(x.Stream, m.known)
			if !sys && (!ok || systemStream(from) || systemStream(stream)) {
				continue
			}
			f := cs.inputs[x.Stream]
			f.addSeries(x, w)
			cs.inputs[x.Stream] = f
			cs.total.addSeries(x, w)
		default:
			if !sys && systemStream(x.Stream) {
				continue
			}
			f := cs.outputs[x.Stream]
			f.addSeries(x, w)
			cs.outputs[x.Stream] = f
			cs.total.addSeries(x, w)
		}
	}
}

// executorSnapshot is one executor's snapshot with the worker it came
// from.
type executorSnapshot struct {
	slot   cluster.Slot
	uptime int64
	snap   metrics.Snapshot
}

// snapshots returns the snapshots of a component's executors in the
// heartbeats.
func (p *page) snapshots(component string) []executorSnapshot {
	var out []executorSnapshot
	for slot, hb := range p.beats {
		for _, s := range hb.ExecutorStats {
			if s.Component == component {
				out = append(out, executorSnapshot{slot: slot, uptime: hb.UptimeSecs, snap: s})
			}
		}
	}
	return out
}

// stats sums a component's figures over its executors in window w.
func (p *page) stats(component string, sys bool, w metrics.Window) componentStats {
	out := newComponentStats()
	for _, e := range p.snapshots(component) {
		p.m.addSnapshot(&out, e.snap, w, sys)
	}
	return out
}
