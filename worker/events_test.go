package worker

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/logline"
	"github.com/squallstream/squall/topology"
)

// eventCounts reads an event log: lines with msg (event or emitting) by
// component; every line must be in the line format with its values as
// JSON.
func eventCounts(t *testing.T, log, msg string) map[string]int {
	t.Helper()
	counts := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		line := sc.Bytes()
		r, ok := logline.Parse(line)
		if !ok {
			t.Fatalf("not a log line: %s", line)
		}
		if r.Msg != msg {
			continue
		}
		_, values, _ := strings.Cut(string(line), "values=")
		var v []any
		if s, err := unquote(values); err != nil || json.Unmarshal([]byte(s), &v) != nil || len(v) != 1 || v[0] != "some data" {
			t.Fatalf("values of %s: %q, want [\"some data\"] (%v)", line, values, err)
		}
		if !r.HasTask || r.Component == "" || !strings.Contains(string(line), "stream=default") {
			t.Fatalf("line %s lacks its task or stream", line)
		}
		counts[r.Component]++
	}
	return counts
}

// unquote reads a logfmt value, quoted or not.
func unquote(s string) (string, error) {
	if strings.HasPrefix(s, `"`) {
		var out string
		err := json.Unmarshal([]byte(s), &out)
		return out, err
	}
	return s, nil
}

// TestDebugSamplesEmits: Storm's debug options sample what the chosen
// components emit into the event log, a component's option winning over
// the topology's; topology.eventlogger.executors 0 turns it off;
// topology.debug logs every emit into the worker's log.
func TestDebugSamplesEmits(t *testing.T) {
	const n = 1000
	for _, tc := range []struct {
		name       string
		conf       topology.Config
		opts       map[string]DebugOption
		want       map[string][2]int // events per component, at least and at most
		wantEmits  int               // "emitting" lines in the worker's log
		wantEvents bool
	}{
		{name: "topology", opts: map[string]DebugOption{"": {Enable: true, SamplingPct: 100}},
			want: map[string][2]int{"spout": {n, n}, "identity0": {n, n}}},
		{name: "one component", opts: map[string]DebugOption{"spout": {Enable: true, SamplingPct: 100}},
			want: map[string][2]int{"spout": {n, n}}},
		{name: "component disabled", opts: map[string]DebugOption{"": {Enable: true, SamplingPct: 100}, "identity0": {}},
			want: map[string][2]int{"spout": {n, n}}},
		{name: "sampled", opts: map[string]DebugOption{"spout": {Enable: true, SamplingPct: 30}},
			want: map[string][2]int{"spout": {n * 15 / 100, n * 45 / 100}}},
		{name: "no event loggers", conf: topology.Config{KeyEventLoggers: 0}, opts: map[string]DebugOption{"": {Enable: true, SamplingPct: 100}},
			want: map[string][2]int{}},
		{name: "topology.debug", conf: topology.Config{topology.KeyDebug: true},
			want: map[string][2]int{}, wantEmits: 2 * n},
	} {
		t.Run(tc.name, func(t *testing.T) {
			topo := benchTopology(t, n, false, 1, topology.LocalOrShuffle, 0)
			topo.Config = topo.Config.Merge(tc.conf)
			var events, workerLog lockedBuffer
			w, err := New(Config{Topology: topo, StormID: "debug-1-1",
				Logger: slog.New(logline.NewHandler(&workerLog, nil)),
				Events: slog.New(logline.NewHandler(&events, nil))})
			if err != nil {
				t.Fatal(err)
			}
			w.SetDebug(tc.opts)
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- w.Run(ctx) }()
			waitUntil(t, 60*time.Second, "the null bolt's tuples", func() bool { return executedBy(w, "null") >= n })
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			got := eventCounts(t, events.String(), "event")
			for comp, want := range tc.want {
				if got[comp] < want[0] || got[comp] > want[1] {
					t.Errorf("%s: %d events, want %d to %d", comp, got[comp], want[0], want[1])
				}
			}
			for comp, k := range got {
				if _, ok := tc.want[comp]; !ok {
					t.Errorf("%s: %d events, want none", comp, k)
				}
			}
			emits := 0
			for _, k := range eventCounts(t, workerLog.String(), "emitting") {
				emits += k
			}
			if emits != tc.wantEmits {
				t.Errorf("%d emits in the worker's log, want %d", emits, tc.wantEmits)
			}
		})
	}
}

// TestDebugChangesWhileRunning: SetDebug on a running worker starts and
// stops sampling.
func TestDebugChangesWhileRunning(t *testing.T) {
	topo := benchTopology(t, 1<<30, false, 0, topology.LocalOrShuffle, 0)
	var events lockedBuffer
	w := runWorker(t, Config{Topology: topo, Events: slog.New(logline.NewHandler(&events, nil))})
	waitUntil(t, 60*time.Second, "tuples", func() bool { return executedBy(w, "null") > 100 })
	if s := events.String(); s != "" {
		t.Fatalf("events before debug was enabled: %.200s", s)
	}
	w.SetDebug(map[string]DebugOption{"": {Enable: true, SamplingPct: 1}})
	waitUntil(t, 60*time.Second, "sampled events", func() bool { return eventCounts(t, events.String(), "event")["spout"] > 10 })
	off := time.Now()
	w.SetDebug(map[string]DebugOption{"": {Enable: false, SamplingPct: 1}})
	// An emit racing with SetDebug may still be sampled, and stamped as
	// late as its goroutine is descheduled (long, on a loaded machine):
	// look from a second later, over 10,000 tuples or more.
	const grace = time.Second
	waitUntil(t, 60*time.Second, "the grace to pass", func() bool { return time.Since(off) > grace })
	at := executedBy(w, "null")
	waitUntil(t, 60*time.Second, "more tuples after the grace", func() bool { return executedBy(w, "null") > at+10000 })
	late := 0
	for _, line := range strings.Split(events.String(), "\n") {
		if r, ok := logline.Parse([]byte(line)); ok && r.Msg == "event" && r.Time.After(off.Add(grace)) {
			late++
		}
	}
	if late > 0 {
		t.Errorf("%d events after debug was disabled", late)
	}
}
