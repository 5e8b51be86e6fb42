package worker

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/squallstream/squall/topology"
)

// A worker given no pid directory makes its own and leaves nothing in
// TMPDIR: not when it never runs, not after a child died and left a pid
// file behind.
func TestOwnPidDirIsRemoved(t *testing.T) {
	opts, resources := pythonOptions(t)
	b := topology.NewBuilder("pids")
	b.SetSpout("sentences", topology.SpoutFunc(func() (topology.Spout, error) {
		return &listSpout{field: "sentence", sentences: testSentences(1), rec: newAckRecord()}, nil
	}), 1)
	b.SetBolt("split", topology.Shell("python3", "split.py").Fields("word").Stream("lengths", "sentence", "n").Stream("ticks", "tick"), 1).ShuffleGrouping("sentences")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where a worker makes its pid directory
	leftInTmp := func() []os.DirEntry {
		left, err := os.ReadDir(tmp)
		if err != nil {
			t.Fatal(err)
		}
		return left
	}

	if _, err := New(Config{Topology: topo, StormID: "pids-1-1", ResourcesDir: resources, Shell: opts}); err != nil {
		t.Fatal(err)
	}
	if left := leftInTmp(); len(left) != 0 {
		t.Errorf("a worker that never ran left %v in TMPDIR", left)
	}

	w, stop := startWorker(t, Config{Topology: topo, ResourcesDir: resources, Shell: opts})
	waitUntil(t, testDeadline(), "the worker started", func() bool {
		select {
		case <-w.Started(): // PidDir is set
			return true
		default:
			return false
		}
	})
	first := childPid(t, w.PidDir(), 0)
	// A pid file no one removes: a child's child that wrote it and died.
	if err := os.WriteFile(filepath.Join(w.PidDir(), "999999999"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	childPid(t, w.PidDir(), first) // the child that replaced it
	stop()
	if left := leftInTmp(); len(left) != 0 {
		t.Errorf("a stopped worker left %v in TMPDIR", left)
	}
}

// childPid waits for the pid file of a shell child other than not in dir
// and returns its pid.
func childPid(t *testing.T, dir string, not int) int {
	t.Helper()
	pid := 0
	waitUntil(t, testDeadline(), "a child's pid file", func() bool {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if n, err := strconv.Atoi(e.Name()); err == nil && n != not && n != 999999999 && syscall.Kill(n, 0) == nil {
				pid = n
				return true
			}
		}
		return false
	})
	return pid
}
