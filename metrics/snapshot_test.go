package metrics

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// executorRegistry returns a registry in which bolt task 4 executed n
// tuples on each of two inputs at latency lat, over the first uptime of
// its life.
func executorRegistry(t *testing.T, n int64, lat time.Duration, uptime time.Duration) Snapshot {
	t.Helper()
	r, _ := newTestRegistry(t, 0)
	task := r.Task("count", 4)
	for _, in := range []string{"split:default", "split:other"} {
		task.Counter(Executed, in).Add(n)
		h := task.Histogram(ExecuteLatency, in)
		for range 10 { // sampled
			h.ObserveDuration(lat)
		}
	}
	return r.Snapshot(t0.Add(uptime))[0]
}

func TestCapacity(t *testing.T) {
	tests := []struct {
		name     string
		executed int64
		lat      time.Duration
		uptime   time.Duration
		want     float64
	}{
		// 2 x 3000 tuples at 50ms = 300s busy.
		{"half busy over 10 minutes", 3000, 50 * time.Millisecond, 10 * time.Minute, 0.5},
		{"uptime shorter than the window", 3000, 50 * time.Millisecond, 5 * time.Minute, 1.0},
		// Never rolled: the work spreads evenly over 30 minutes, a third in
		// the last 10.
		{"work over 30 minutes", 3000, 50 * time.Millisecond, 30 * time.Minute, 1.0 / 6},
		{"idle", 0, 0, 10 * time.Minute, 0},
		{"no uptime", 3000, 50 * time.Millisecond, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := executorRegistry(t, tt.executed, tt.lat, tt.uptime)
			if got := Capacity(s); math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("Capacity = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	r, _ := newTestRegistry(t, 0)
	a, b := r.Task("split", 5), r.Task("split", 6)
	a.Counter(Emitted, "default").Add(10)
	b.Counter(Emitted, "default").Add(5)
	b.Counter(Emitted, "__ack_init").Add(2)
	a.Gauge(ReceiveQueuePopulation, "").Set(3)
	b.Gauge(ReceiveQueuePopulation, "").Set(4)
	a.Histogram(ExecuteLatency, "spout:default").ObserveDuration(time.Millisecond)
	b.Histogram(ExecuteLatency, "spout:default").ObserveDuration(3 * time.Millisecond)
	a.Record("hits", 1)
	snaps := r.Snapshot(t0.Add(time.Minute))

	m, err := Merge(snaps[0], snaps[1])
	if err != nil {
		t.Fatal(err)
	}
	if m.FirstTask != 5 || m.LastTask != 6 || m.UptimeSecs != 60 {
		t.Errorf("merged head %+v", m)
	}
	checks := []struct {
		name, stream string
		user         bool
		all          int64
		value        float64
	}{
		{Emitted, "default", false, 15, 0},
		{Emitted, "__ack_init", false, 2, 0},
		{ReceiveQueuePopulation, "", false, 0, 7},
		{ExecuteLatency, "spout:default", false, 2, 0},
		{"hits", "", true, 1, 0},
	}
	for _, c := range checks {
		got, ok := m.Find(c.name, c.stream, c.user)
		if !ok || got.Counts[WindowAllTime] != c.all || got.Value != c.value {
			t.Errorf("merged %s/%s = %+v, want all-time %d value %v", c.name, c.stream, got, c.all, c.value)
		}
	}
	lat, _ := m.Find(ExecuteLatency, "spout:default", false)
	if lat.Mean(Window10m) != float64(2*time.Millisecond) || lat.Histogram.Count != 2 {
		t.Errorf("merged latency %+v, want mean 2ms over 2 values", lat)
	}
	total := m.Total(Emitted, func(s string) bool { return !strings.HasPrefix(s, "__") })
	if total.Counts != (Counts{15, 15, 15, 15}) || total.Kind != KindCounter {
		t.Errorf("Total(emitted) without system streams = %+v, want 15 everywhere", total)
	}
	// Merging does not change its inputs.
	if got, _ := snaps[0].Find(Emitted, "default", false); got.Counts[WindowAllTime] != 10 {
		t.Errorf("input changed: %v", got.Counts)
	}
}

func TestMergeRefuses(t *testing.T) {
	a := Snapshot{Component: "a", Series: []Series{{Name: "x", User: true, Kind: KindCounter}}}
	b := Snapshot{Component: "b"}
	if _, err := Merge(a, b); !errors.Is(err, ErrMerge) {
		t.Errorf("Merge of two components = %v, want ErrMerge", err)
	}
	c := Snapshot{Component: "a", Series: []Series{{Name: "x", User: true, Kind: KindGauge}}}
	if _, err := Merge(a, c); !errors.Is(err, ErrMerge) {
		t.Errorf("Merge of a counter and a gauge = %v, want ErrMerge", err)
	}
}

// TestSnapshotJSON pins the form a heartbeat carries, and that it merges
// the same after a round trip (unsorted series included).
func TestSnapshotJSON(t *testing.T) {
	r, _ := newTestRegistry(t, 0)
	task := r.Task("split", 5)
	task.Counter(Emitted, "default").Add(3)
	task.Histogram(ExecuteLatency, "spout:default").ObserveDuration(time.Millisecond)
	task.Gauge(ReceiveQueuePopulation, "").Set(2)
	task.Record("hits", 1)
	s := r.Snapshot(t0.Add(time.Second))[0]
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"component":"split","firstTask":5,"lastTask":5,"uptimeSecs":1,"series":[` +
		`{"name":"emitted","stream":"default","kind":"counter","counts":[3,3,3,3]},` +
		`{"name":"execute-latency","stream":"spout:default","kind":"histogram","counts":[1,1,1,1],"sums":[1000000,1000000,1000000,1000000],` +
		`"histogram":{"count":1,"sum":1000000,"buckets":[{"i":400,"n":1}]},` +
		`"windowed":[{"count":1,"sum":1000000,"buckets":[{"i":400,"n":1}]},{"count":1,"sum":1000000,"buckets":[{"i":400,"n":1}]},{"count":1,"sum":1000000,"buckets":[{"i":400,"n":1}]}]},` +
		`{"name":"receive-queue-population","kind":"gauge","value":2},` +
		`{"name":"hits","user":true,"kind":"counter","counts":[1,1,1,1]}]}`
	if string(b) != want {
		t.Errorf("JSON\n%s\nwant\n%s", b, want)
	}
	var back Snapshot
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	back.Series[0], back.Series[3] = back.Series[3], back.Series[0]
	m, err := Merge(back, back)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := m.Find(Emitted, "default", false); got.Counts != (Counts{6, 6, 6, 6}) {
		t.Errorf("merged emitted %v, want 6 everywhere", got.Counts)
	}
	if got, _ := m.Find(ExecuteLatency, "spout:default", false); got.Histogram == nil || got.Histogram.Count != 2 ||
		math.Abs(got.Histogram.Quantile(0.5)-1e6) > 1e6*0.0625 {
		t.Errorf("merged histogram %+v, want 2 values of 1 ms", got.Histogram)
	}
	if len(m.Series) != 4 {
		t.Errorf("merged %d series, want 4", len(m.Series))
	}
	var k Kind
	if err := json.Unmarshal([]byte(`"meter"`), &k); err == nil {
		t.Errorf("unmarshal of an unknown kind succeeded")
	}
}
