package nimbus

import (
	"strconv"
	"strings"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/topology"
)

// Statistics come from the workers' heartbeats in the cluster state: each
// worker reports, per component, cumulative counts and average latencies
// since it started, output streams under their stream id and a bolt's
// inputs under "component:stream".
//
// nimbus reports them for Storm's ":all-time" window only: the sums over
// the workers running now (a restarted worker starts counting again). It
// keeps no history, so it has no 10-minute, 3-hour or 1-day windows; a
// request for one is answered with the all-time figures, labelled
// ":all-time".

// windowOf checks a requested window: "", ":all-time" or a number of
// seconds.
func windowOf(w string) error {
	if w == "" || w == api.WindowAllTime {
		return nil
	}
	if n, err := strconv.ParseInt(w, 10, 64); err != nil || n <= 0 {
		return invalidf("window %q: want a number of seconds or %q", w, api.WindowAllTime)
	}
	return nil
}

// figures are counts and latencies summed over workers, streams or
// executors. Latencies are kept as sums of latency × weight: execute
// latency weighted by executed tuples, process and complete latency by
// acked ones, as Storm aggregates them.
type figures struct {
	emitted, transferred      int64
	executed, acked, failed   int64
	execLat, procLat, compLat float64
	execW, procW, compW       int64
	capacity                  float64
}

// addOutput adds a stream's output counters; a spout's output streams
// also carry its acks, fails and complete latency.
func (f *figures) addOutput(s cluster.StreamStats, spout bool) {
	f.emitted += s.Emitted
	f.transferred += s.Transferred
	if spout {
		f.acked += s.Acked
		f.failed += s.Failed
		f.compLat += s.CompleteLatencyMs * float64(s.Acked)
		f.compW += s.Acked
	}
}

// addInput adds a bolt input stream's counters.
func (f *figures) addInput(s cluster.StreamStats) {
	f.executed += s.Executed
	f.acked += s.Acked
	f.failed += s.Failed
	f.execLat += s.ExecuteLatencyMs * float64(s.Executed)
	f.execW += s.Executed
	f.procLat += s.ProcessLatencyMs * float64(s.Acked)
	f.procW += s.Acked
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
	f.capacity = max(f.capacity, o.capacity)
}

// share returns f divided over k executors: counts split (the first
// executors taking the remainder: i is the executor's index), latencies
// and capacity unchanged.
func (f figures) share(i, k int) figures {
	if k <= 1 {
		return f
	}
	part := func(v int64) int64 {
		p := v / int64(k)
		if int64(i) < v%int64(k) {
			p++
		}
		return p
	}
	scale := func(sum float64, w, pw int64) float64 {
		if w == 0 {
			return 0
		}
		return sum / float64(w) * float64(pw)
	}
	out := f
	out.emitted, out.transferred = part(f.emitted), part(f.transferred)
	out.executed, out.acked, out.failed = part(f.executed), part(f.acked), part(f.failed)
	out.execW, out.procW, out.compW = part(f.execW), part(f.procW), part(f.compW)
	out.execLat = scale(f.execLat, f.execW, out.execW)
	out.procLat = scale(f.procLat, f.procW, out.procW)
	out.compLat = scale(f.compLat, f.compW, out.compW)
	return out
}

func avg(sum float64, w int64) string {
	if w == 0 {
		return api.FormatStat(0)
	}
	return api.FormatStat(sum / float64(w))
}

func (f figures) executeLatency() string  { return avg(f.execLat, f.execW) }
func (f figures) processLatency() string  { return avg(f.procLat, f.procW) }
func (f figures) completeLatency() string { return avg(f.compLat, f.compW) }

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

// componentStats are one component's figures in one worker, split by
// stream.
type componentStats struct {
	total   figures
	outputs map[string]figures // by stream id
	inputs  map[string]figures // by "component:stream"
}

// statsOf sums a component's figures in one worker's heartbeat, without
// system streams unless sys.
func (m *model) statsOf(cs cluster.ComponentStats, component string, sys bool) componentStats {
	kind, _ := m.kind(component)
	spout := kind == topology.KindSpout.String()
	out := componentStats{outputs: map[string]figures{}, inputs: map[string]figures{}}
	out.total.capacity = cs.Capacity
	known := func(c string) bool {
		_, ok := m.kind(c)
		return ok || c == topology.SystemComponent
	}
	for key, s := range cs.Streams {
		if from, stream, ok := inputKey(key, known); ok && !spout {
			if !sys && (systemStream(from) || systemStream(stream)) {
				continue
			}
			var f figures
			f.addInput(s)
			out.inputs[key] = addFigures(out.inputs[key], f)
			out.total.add(f)
			continue
		}
		if !sys && systemStream(key) {
			continue
		}
		var f figures
		f.addOutput(s, spout)
		out.outputs[key] = addFigures(out.outputs[key], f)
		out.total.add(f)
	}
	return out
}

func addFigures(a, b figures) figures {
	a.add(b)
	return a
}
