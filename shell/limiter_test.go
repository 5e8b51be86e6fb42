package shell

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/topology"
)

func TestLineLimiter(t *testing.T) {
	t0 := time.Unix(1000, 0)
	l := newLineLimiter(10, 3)
	type step struct {
		at      time.Duration
		ok      bool
		dropped int64
	}
	steps := []step{
		{0, true, 0}, {0, true, 0}, {0, true, 0}, // the burst
		{0, false, 0}, {50 * time.Millisecond, false, 0}, // half a token
		{100 * time.Millisecond, true, 2}, // one token back: say what was held back
		{100 * time.Millisecond, false, 0},
		{10 * time.Second, true, 1}, // refilled, up to the burst only
		{10 * time.Second, true, 0}, {10 * time.Second, true, 0}, {10 * time.Second, false, 0},
	}
	for i, s := range steps {
		ok, dropped := l.allow(t0.Add(s.at))
		if ok != s.ok || dropped != s.dropped {
			t.Errorf("step %d: allow(+%v) = %v, %d; want %v, %d", i, s.at, ok, dropped, s.ok, s.dropped)
		}
	}
	if n := l.flush(); n != 1 {
		t.Errorf("flush() = %d, want the 1 line held back", n)
	}
	if n := l.flush(); n != 0 {
		t.Errorf("second flush() = %d, want 0", n)
	}
}

// TestChildStderrIsRateLimited floods stderr: the task log gets a burst of
// lines and a count of those dropped, which add up to what was written.
func TestChildStderrIsRateLimited(t *testing.T) {
	checkLeaks(t)
	const rate = 10
	start := time.Now()
	f := startBolt(t, "flood", topology.Config{KeyStderrLinesPerSec: rate}, fastOptions)
	waitUntil(t, patience, "the flood", func() bool { return len(f.logs.matching("INFO flooded")) == 1 })
	f.bolt.Cleanup() // waits for the rest of stderr
	elapsed := time.Since(start)
	logged := len(f.logs.matching("child stderr", "line=noise"))
	var dropped int
	for _, l := range f.logs.matching("child stderr lines dropped") {
		_, n, _ := strings.Cut(l, "dropped=")
		d, err := strconv.Atoi(strings.Fields(n)[0])
		if err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		dropped += d
	}
	if logged+dropped != 5000 {
		t.Errorf("%d lines logged and %d counted as dropped, want 5000 in all", logged, dropped)
	}
	if limit := 10*rate + int(elapsed.Seconds()*rate) + 1; logged > limit {
		t.Errorf("%d lines logged in %v, want at most %d", logged, elapsed.Round(time.Millisecond), limit)
	}
}
