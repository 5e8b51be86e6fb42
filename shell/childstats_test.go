package shell

import (
	"os"
	"testing"
	"time"
)

// TestChildStats: a shell task reports its running child's pid and
// resident memory, counts the children that failed, and adds up the CPU
// time of every child it ran, the failed ones' included, never going back.
func TestChildStats(t *testing.T) {
	f := startBolt(t, "crash", nil, fastOptions)
	pid := f.waitUp(t)
	st := f.bolt.ChildStats()
	if st.Pid != pid || st.Restarts != 0 || st.CrashLooping {
		t.Errorf("stats of a fresh child = %+v, want pid %d and no restarts", st, pid)
	}
	if _, err := os.Stat("/proc/self/statm"); err == nil && st.RSSBytes <= 0 {
		t.Errorf("RSS of the running child = %d, want its resident memory", st.RSSBytes)
	}
	f.bolt.Execute(sentence("crash"))
	var after ChildStats
	waitUntil(t, patience, "a new child after the crash", func() bool {
		after = f.bolt.ChildStats()
		return after.Restarts == 1 && after.Pid != 0 && after.Pid != pid
	})
	// The crashed child's CPU time, from its rusage, is exact: a Go
	// program's start alone takes some.
	if after.CPUTime <= 0 || after.CPUTime < st.CPUTime {
		t.Errorf("CPU time after a crash = %v (before %v), want the crashed child's added", after.CPUTime, st.CPUTime)
	}
	prev := after.CPUTime
	for range 20 {
		if c := f.bolt.ChildStats().CPUTime; c < prev {
			t.Fatalf("CPU time went back from %v to %v", prev, c)
		} else {
			prev = c
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestProcStatParsing(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	// This process: its CPU time so far is at least what it burns here.
	start := time.Now()
	for time.Since(start) < 30*time.Millisecond {
	}
	cpu, ok := procCPUTime(os.Getpid())
	if !ok || cpu < 10*time.Millisecond {
		t.Errorf("procCPUTime(self) = %v, %v; want at least the 30 ms just spun (in 10 ms ticks)", cpu, ok)
	}
	if rss, ok := procRSS(os.Getpid()); !ok || rss < 1<<20 {
		t.Errorf("procRSS(self) = %d, %v; want at least 1 MiB", rss, ok)
	}
	if _, ok := procCPUTime(-1); ok {
		t.Error("procCPUTime(-1) succeeded")
	}
}
