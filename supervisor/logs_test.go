package supervisor

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/internal/layout"
	"github.com/squallstream/squall/internal/logfile"
	"github.com/squallstream/squall/internal/testenv"
)

// writeLog writes a slot's worker.log of size bytes, last written at t.
func writeLog(t *testing.T, root, stormID string, port int, size int, at time.Time) string {
	t.Helper()
	path := layout.WorkerLog(filepath.Dir(root), stormID, port)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(strings.Repeat("x", size)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, at, at); err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(path)
}

func TestPruneLogs(t *testing.T) {
	now := time.Now()
	day := 24 * time.Hour
	tests := []struct {
		name     string
		maxAge   time.Duration
		maxBytes int64
		want     []string // slot dirs removed, by name
	}{
		{"by age: dead and older than a week", 7 * day, 1 << 30, []string{"old-1-1/6700", "old-1-1/6701"}},
		{"by size: dead, least recently written first", 30 * day, 150, []string{"old-1-1/6700", "old-1-1/6701", "recent-1-2/6700"}},
		{"nothing due", 30 * day, 1 << 30, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := layout.LogsRoot(t.TempDir())
			writeLog(t, root, "old-1-1", 6700, 100, now.Add(-9*day))
			writeLog(t, root, "old-1-1", 6701, 100, now.Add(-8*day))
			writeLog(t, root, "recent-1-2", 6700, 100, now.Add(-time.Hour))
			writeLog(t, root, "live-1-3", 6700, 100, now.Add(-20*day)) // a quiet worker still runs
			if err := os.WriteFile(filepath.Join(root, "stray.txt"), []byte("not ours"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Join(root, "old-1-1", "notaport"), 0o755); err != nil {
				t.Fatal(err)
			}
			live := func(stormID string, port int) bool { return stormID == "live-1-3" && port == 6700 }

			removed, err := pruneLogs(root, live, now, logLimits{maxAge: tt.maxAge, maxPerWorker: 1 << 30, maxTotal: tt.maxBytes})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, dir := range removed {
				rel, _ := filepath.Rel(root, dir)
				got = append(got, rel)
				if _, err := os.Stat(dir); !os.IsNotExist(err) {
					t.Errorf("%s still exists (%v)", dir, err)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("removed %v, want %v", got, tt.want)
			}
			for _, keep := range []string{"live-1-3/6700/worker.log", "stray.txt", "old-1-1/notaport"} {
				if _, err := os.Stat(filepath.Join(root, keep)); err != nil {
					t.Errorf("%s was removed: %v", keep, err)
				}
			}
		})
	}
}

func TestPruneLogsRemovesEmptyTopologyDir(t *testing.T) {
	now := time.Now()
	root := layout.LogsRoot(t.TempDir())
	writeLog(t, root, "gone-1-1", 6700, 10, now.Add(-30*24*time.Hour))
	if _, err := pruneLogs(root, func(string, int) bool { return false }, now, logLimits{maxAge: time.Hour, maxPerWorker: 1 << 30, maxTotal: 1 << 30}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "gone-1-1")); !os.IsNotExist(err) {
		t.Errorf("topology log dir left: %v", err)
	}
	if removed, err := pruneLogs(filepath.Join(root, "absent"), nil, now, logLimits{maxAge: time.Hour, maxPerWorker: 1, maxTotal: 1}); err != nil || removed != nil {
		t.Errorf("pruneLogs of a missing root = %v, %v; want nothing", removed, err)
	}
}

// A supervisor keeps the log of a slot it runs, however old, and removes
// an old one of a topology that no longer runs here.
func TestSupervisorPrunesOldLogs(t *testing.T) {
	h := newHarness(t)
	local := t.TempDir()
	root := layout.LogsRoot(local)
	old := time.Now().Add(-30 * 24 * time.Hour)
	gone := writeLog(t, root, "gone-1-1", 6701, 10, old)
	s := h.startSupervisor(local, []int{6700}, func(c *Config) {
		c.LogMaxAge = 24 * time.Hour
		c.LogCleanupInterval = testMonitor
	})
	h.submit("kept-1-1", map[string]string{"a": "b"}, nil)
	h.assign("kept-1-1", slots(cluster.Slot{NodeID: s.NodeID(), Port: 6700}, 1))
	s.waitRunning(t, 6700)
	// The fake worker writes no worker.log; the supervisor made the early
	// output file.
	kept := earlyLog(local, "kept-1-1", 6700)
	if err := os.Chtimes(kept, old, old); err != nil {
		t.Fatal(err)
	}
	// Written after the running worker's log aged: once this one is gone,
	// a pass has seen the other old too.
	gone2 := writeLog(t, root, "gone-1-2", 6700, 10, old)
	for _, dir := range []string{gone, gone2} {
		testenv.WaitUntil(t, testWaitDeadline, "the old log's removal logged", func() bool { return len(s.logs.find("removed old worker log", dir)) > 0 })
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("%s still exists (%v)", dir, err)
		}
	}
	if _, err := os.Stat(kept); err != nil {
		t.Errorf("the running worker's log was removed: %v", err)
	}
}

// writeFile writes a file of size bytes in a slot's log directory, last
// written at t.
func writeFile(t *testing.T, root, stormID string, port int, name string, size int, at time.Time) string {
	t.Helper()
	path := filepath.Join(root, stormID, strconv.Itoa(port), name)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(strings.Repeat("x", size)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, at, at); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPruneLogsPerWorker: as Storm's cleaner, a slot's directory over
// logviewer.max.per.worker.logs.size.mb loses its oldest rotated files,
// live or not, never worker.log or the early output file; then, over the
// total, dead slots go first and then the oldest rotated files anywhere.
func TestPruneLogsPerWorker(t *testing.T) {
	now := time.Now()
	min := func(m int) time.Time { return now.Add(-time.Duration(m) * time.Minute) }
	tests := []struct {
		name string
		lim  logLimits
		want []string // removed, relative to root
	}{
		{"per worker", logLimits{maxAge: 24 * time.Hour, maxPerWorker: 250, maxTotal: 1 << 30}, []string{
			"live-1-1/6700/worker-1.log.gz", "live-1-1/6700/worker-2.log.gz",
		}},
		{"total: the dead slot, then rotated files", logLimits{maxAge: 24 * time.Hour, maxPerWorker: 1 << 30, maxTotal: 300}, []string{
			"dead-1-2/6701", "live-1-1/6700/worker-1.log.gz",
		}},
		{"never what is written to", logLimits{maxAge: 24 * time.Hour, maxPerWorker: 1, maxTotal: 1}, []string{
			"live-1-1/6700/worker-1.log.gz", "live-1-1/6700/worker-2.log.gz", "live-1-1/6700/worker-3.log.gz",
			"live-1-1/6700/worker.log.err.1", "dead-1-2/6701",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := layout.LogsRoot(t.TempDir())
			writeFile(t, root, "live-1-1", 6700, "worker-1.log.gz", 100, min(50))
			writeFile(t, root, "live-1-1", 6700, "worker-2.log.gz", 100, min(40))
			writeFile(t, root, "live-1-1", 6700, "worker.log.err.1", 10, min(35))
			writeFile(t, root, "live-1-1", 6700, "worker-3.log.gz", 100, min(30))
			writeFile(t, root, "live-1-1", 6700, "worker.log", 50, min(1))
			writeFile(t, root, "live-1-1", 6700, "worker.log.err", 10, min(20))
			writeFile(t, root, "dead-1-2", 6701, "worker.log", 100, min(60))
			live := func(stormID string, _ int) bool { return stormID == "live-1-1" }

			removed, err := pruneLogs(root, live, now, tt.lim)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range removed {
				rel, _ := filepath.Rel(root, p)
				got = append(got, rel)
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tt.want))
			if !slices.Equal(got, want) {
				t.Errorf("removed %v, want %v", got, want)
			}
			for _, keep := range []string{"live-1-1/6700/worker.log", "live-1-1/6700/worker.log.err"} {
				if _, err := os.Stat(filepath.Join(root, keep)); err != nil {
					t.Errorf("%s was removed: %v", keep, err)
				}
			}
		})
	}
}

// TestEarlyLogBounded: a launch moves an early output file past its
// limit aside, replacing the older one: at most two files of about the
// limit stay, whatever the worker wrote.
func TestEarlyLogBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs", "t-1-1", "6700", "worker.log.err")
	for i := range 3 {
		f, err := openEarlyLog(path)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(f, "launch %d\n", i)
		f.Write(make([]byte, maxEarlyLogBytes))
		f.Close()
	}
	cur, err := os.ReadFile(path)
	if err != nil || !strings.HasPrefix(string(cur), "launch 2") {
		t.Errorf("current file starts %.10q (%v), want the last launch", cur, err)
	}
	old, err := os.ReadFile(path + ".1")
	if err != nil || !strings.HasPrefix(string(old), "launch 1") {
		t.Errorf("older file starts %.10q (%v), want the launch before", old, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != logfile.FileMode {
		t.Errorf("mode %v (%v), want %v", fi.Mode(), err, os.FileMode(logfile.FileMode))
	}
}

// TestWorkerLogTail: a worker that crashed is reported with its crash
// report, one that ended otherwise with the end of its log.
func TestWorkerLogTail(t *testing.T) {
	local := t.TempDir()
	root := layout.LogsRoot(local)
	launched := time.Now().Add(-time.Minute)
	writeFile(t, root, "t-1-1", 6700, "worker.log", 0, launched)
	os.WriteFile(layout.WorkerLog(local, "t-1-1", 6700), []byte("level=INFO msg=\"worker stopping\"\n"), 0o600)
	writeFile(t, root, "t-1-1", 6700, "worker.log.err", 0, launched.Add(-time.Hour))
	os.Chtimes(earlyLog(local, "t-1-1", 6700), launched.Add(-time.Hour), launched.Add(-time.Hour))
	if got := workerLogTail(local, "t-1-1", 6700, launched); !strings.Contains(got, "worker stopping") {
		t.Errorf("tail = %q, want worker.log's", got)
	}
	os.WriteFile(earlyLog(local, "t-1-1", 6700), []byte("panic: boom\ngoroutine 1 [running]:\n"), 0o600)
	if got := workerLogTail(local, "t-1-1", 6700, launched); !strings.Contains(got, "panic: boom") {
		t.Errorf("tail = %q, want the crash report", got)
	}
}
