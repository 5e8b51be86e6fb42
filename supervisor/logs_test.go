package supervisor

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/internal/layout"
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

			removed, err := pruneLogs(root, live, now, tt.maxAge, tt.maxBytes)
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
	if _, err := pruneLogs(root, func(string, int) bool { return false }, now, time.Hour, 1<<30); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "gone-1-1")); !os.IsNotExist(err) {
		t.Errorf("topology log dir left: %v", err)
	}
	if removed, err := pruneLogs(filepath.Join(root, "absent"), nil, now, time.Hour, 1); err != nil || removed != nil {
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
	kept := layout.WorkerLog(local, "kept-1-1", 6700)
	if err := os.Chtimes(kept, old, old); err != nil {
		t.Fatal(err)
	}
	// Written after the running worker's log aged: once this one is gone,
	// a pass has seen the other old too.
	gone2 := writeLog(t, root, "gone-1-2", 6700, 10, old)
	for _, dir := range []string{gone, gone2} {
		waitFor(t, "the old log's removal logged", func() bool { return len(s.logs.find("removed old worker log", dir)) > 0 })
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("%s still exists (%v)", dir, err)
		}
	}
	if _, err := os.Stat(kept); err != nil {
		t.Errorf("the running worker's log was removed: %v", err)
	}
}
