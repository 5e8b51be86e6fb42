package supervisor

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/internal/layout"
	"github.com/squallstream/squall/internal/procgroup"
	"github.com/squallstream/squall/internal/testenv"
)

// TestLaunchFromAssignment follows an assignment to running workers: the
// package is downloaded and unpacked, each assigned slot gets a worker
// started with exactly the contract's arguments in its worker directory,
// and the registration lists the ports in use.
func TestLaunchFromAssignment(t *testing.T) {
	h := newHarness(t)
	local := filepath.Join(t.TempDir(), "local")
	s := h.startSupervisor(local, []int{6700, 6701, 6702})
	node := s.NodeID()

	digest := h.submit("wc-1-1", map[string]string{"words.py": "print('hi')\n", "data/list.txt": "a b c\n"}, nil)
	assigned := time.Now()
	a := h.assign("wc-1-1", merge(
		slots(cluster.Slot{NodeID: node, Port: 6700}, 1, 2),
		slots(cluster.Slot{NodeID: node, Port: 6701}, 3),
		slots(cluster.Slot{NodeID: "elsewhere", Port: 6702}, 4),
	))
	w0 := s.waitRunning(t, 6700)
	w1 := s.waitRunning(t, 6701)
	t.Logf("assignment to first heartbeat of both workers: %v", time.Since(assigned))

	// The package, as the worker reads it.
	dist := layout.StormDist(local, "wc-1-1")
	if got, err := readDigest(dist); err != nil || got != digest {
		t.Errorf("digest file = %q, %v; want %q", got, err, digest)
	}
	data, err := os.ReadFile(layout.SubmissionFile(dist))
	if err != nil {
		t.Fatal(err)
	}
	var sub api.SubmitTopologyRequest
	if err := protojson.Unmarshal(data, &sub); err != nil {
		t.Fatalf("submission.json: %v", err)
	}
	if want := h.nimbus.pkgs["wc-1-1"].manifest.GetSubmission(); !proto.Equal(&sub, want) {
		t.Errorf("submission.json = %v, want %v", &sub, want)
	}
	for name, want := range map[string]string{"words.py": "print('hi')\n", "data/list.txt": "a b c\n"} {
		got, err := os.ReadFile(filepath.Join(layout.ResourcesDir(dist), name))
		if err != nil || string(got) != want {
			t.Errorf("resources/%s = %q, %v; want %q", name, got, err, want)
		}
	}
	if _, err := os.Stat(layout.GoBinary(dist)); !os.IsNotExist(err) {
		t.Errorf("bin/topology exists without a Go binary in the package (%v)", err)
	}

	// The workers, as launched.
	exe, _ := os.Executable()
	recs := launches(t, h.control)
	if len(recs) != 2 {
		t.Fatalf("%d workers launched, want 2: %+v", len(recs), recs)
	}
	for _, w := range []WorkerStatus{w0, w1} {
		i := slices.IndexFunc(recs, func(r launchRecord) bool { return r.Pid == w.Pid })
		if i < 0 {
			t.Fatalf("no launch record for worker %+v", w)
		}
		r := recs[i]
		wantArgs := []string{"worker", "--storm-id", "wc-1-1", "--node", node, "--port", strconv.Itoa(w.Port),
			"--worker-id", w.WorkerID, "--local-dir", local, "--log-file", layout.WorkerLog(local, "wc-1-1", w.Port),
			"-c", "squall.log.max.size.mb=100", "-c", "squall.log.max.backups=9", "-c", "test.key=1"}
		if !slices.Equal(r.Args, wantArgs) {
			t.Errorf("worker args = %q, want %q", r.Args, wantArgs)
		}
		if want := layout.WorkerDir(local, w.WorkerID); r.Dir != want {
			t.Errorf("worker cwd = %q, want %q", r.Dir, want)
		}
		if r.Exe != exe {
			t.Errorf("worker binary = %q, want %q", r.Exe, exe)
		}
		var meta layout.WorkerMeta
		if err := layout.ReadJSON(layout.MetaFile(layout.WorkerDir(local, w.WorkerID)), &meta); err != nil {
			t.Fatal(err)
		}
		wantExecs := map[int][]layout.Executor{6700: {{Start: 1, End: 1}, {Start: 2, End: 2}}, 6701: {{Start: 3, End: 3}}}[w.Port]
		if meta.Pid != r.Pid || meta.StartTime != r.Start || meta.NodeID != node || meta.StormID != "wc-1-1" ||
			!slices.Equal(meta.Executors, wantExecs) || meta.AssignmentVersion != a.Version || meta.Binary != exe {
			t.Errorf("meta = %+v, want pid %d start %d executors %v version %d", meta, r.Pid, r.Start, wantExecs, a.Version)
		}
		t.Logf("port %d: launched %v after the assignment, first heartbeat %v after launch",
			w.Port, meta.LaunchedAt.Sub(assigned).Round(time.Millisecond), w.LastHeartbeat.Sub(r.Time).Round(time.Millisecond))
	}

	// The registration.
	testenv.WaitUntil(t, testWaitDeadline, "the registration to list the used ports", func() bool {
		info, err := h.admin.GetSupervisor(t.Context(), node)
		return err == nil && slices.Equal(info.UsedPorts, []int{6700, 6701})
	})
	info, _ := h.admin.GetSupervisor(t.Context(), node)
	if info.Host != "127.0.0.1" || !slices.Equal(info.Ports, []int{6700, 6701, 6702}) || info.Version == "" || info.StartTime.IsZero() {
		t.Errorf("registration = %+v", info)
	}
	if n := h.nimbus.downloadCount(); n != 1 {
		t.Errorf("%d downloads, want 1", n)
	}
}

// TestNoSecretNoWorker: a topology without a worker secret is not
// launched, since its workers could not authenticate each other; the
// supervisor says why.
func TestNoSecretNoWorker(t *testing.T) {
	h := newHarness(t)
	h.noSecret = true
	s := h.startSupervisor(t.TempDir(), []int{6700})
	h.submit("nosecret-1-1", map[string]string{"x": "y"}, nil)
	h.assign("nosecret-1-1", slots(cluster.Slot{NodeID: s.NodeID(), Port: 6700}, 1))
	testenv.WaitUntil(t, testWaitDeadline, "the refusal in the log", func() bool {
		return len(s.logs.find("launching worker", "nosecret-1-1", "no worker secret")) > 0
	})
	if recs := launches(t, h.control); len(recs) != 0 {
		t.Errorf("launched %+v, want nothing", recs)
	}
}

// TestGoBinaryPackage runs a topology's own Go binary as its worker.
func TestGoBinaryPackage(t *testing.T) {
	h := newHarness(t)
	local := t.TempDir()
	// The worker is a fresh copy of the (race-instrumented) test binary:
	// on a loaded machine it may start slower than the harness's short
	// timeouts allow, and a relaunch would spoil the count of launches.
	s := h.startSupervisor(local, []int{6700}, func(c *Config) {
		c.WorkerStartTimeout, c.WorkerTimeout = time.Minute, time.Minute
	})
	exe, _ := os.Executable()
	bin, err := os.ReadFile(exe) // the test binary, which plays the worker
	if err != nil {
		t.Fatal(err)
	}
	h.submit("gobin-1-1", map[string]string{"x": "y"}, bin)
	h.assign("gobin-1-1", slots(cluster.Slot{NodeID: s.NodeID(), Port: 6700}, 1))
	w := s.waitRunning(t, 6700)

	goBin := layout.GoBinary(layout.StormDist(local, "gobin-1-1"))
	info, err := os.Stat(goBin)
	if err != nil || info.Mode().Perm() != 0o700 || info.Size() != int64(len(bin)) {
		t.Fatalf("bin/topology: %v, %v; want mode 0700, %d bytes", info, err, len(bin))
	}
	// Nobody but the supervisor's user reads a topology's code, its
	// configuration or its worker's secret.
	dist := layout.StormDist(local, "gobin-1-1")
	workerDir := layout.WorkerDir(local, w.WorkerID)
	for path, want := range map[string]os.FileMode{
		layout.StormDistRoot(local):  0o700,
		dist:                         0o700,
		layout.SubmissionFile(dist):  0o600,
		layout.WorkersRoot(local):    0o700,
		workerDir:                    0o700,
		layout.SecretFile(workerDir): 0o600,
	} {
		if info, err := os.Stat(path); err != nil || info.Mode().Perm() != want {
			t.Errorf("%s: %v, %v; want mode %v", path, info.Mode().Perm(), err, want)
		}
	}
	recs := launches(t, h.control)
	if len(recs) != 1 || recs[0].Pid != w.Pid || recs[0].Exe != goBin || recs[0].Args[0] != "worker" {
		t.Errorf("launched %+v, want pid %d running %s worker …", recs, w.Pid, goBin)
	}
}

// TestWorkerGOMAXPROCS: a worker's runtime gets Config.WorkerMaxProcs
// through GOMAXPROCS in its environment, unless the operator's
// environment sets one.
func TestWorkerGOMAXPROCS(t *testing.T) {
	tests := []struct {
		name     string
		env      string // GOMAXPROCS in Config.WorkerEnv; "" for none
		maxProcs int    // Config.WorkerMaxProcs
		want     string // the worker's GOMAXPROCS
	}{
		{"the node's share", "", 1, "1"},
		{"the operator's", "2", 1, "2"},
		{"an empty one is unset", "=", 3, "3"},
		{"none", "", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			s := h.startSupervisor(t.TempDir(), []int{6700}, func(c *Config) {
				c.WorkerEnv = slices.DeleteFunc(c.WorkerEnv, func(kv string) bool { return strings.HasPrefix(kv, "GOMAXPROCS=") })
				switch tt.env {
				case "":
				case "=":
					c.WorkerEnv = append(c.WorkerEnv, "GOMAXPROCS=")
				default:
					c.WorkerEnv = append(c.WorkerEnv, "GOMAXPROCS="+tt.env)
				}
				c.WorkerMaxProcs = tt.maxProcs
			})
			h.submit("procs-1-1", map[string]string{"x": "y"}, nil)
			h.assign("procs-1-1", slots(cluster.Slot{NodeID: s.NodeID(), Port: 6700}, 1))
			w := s.waitRunning(t, 6700)
			recs := launches(t, h.control)
			i := slices.IndexFunc(recs, func(r launchRecord) bool { return r.Pid == w.Pid })
			if i < 0 {
				t.Fatalf("no launch record for worker %+v", w)
			}
			r := recs[i]
			if r.MaxProcsEnv != tt.want {
				t.Errorf("worker's GOMAXPROCS = %q, want %q", r.MaxProcsEnv, tt.want)
			}
			if n, err := strconv.Atoi(tt.want); err == nil && r.MaxProcs != n {
				t.Errorf("worker's runtime.GOMAXPROCS(0) = %d with GOMAXPROCS=%s", r.MaxProcs, tt.want)
			}
		})
	}
}

// TestWorkerExitRestarted restarts a worker that keeps exiting, with
// restarts counted in the logs.
func TestWorkerExitRestarted(t *testing.T) {
	h := newHarness(t)
	local := t.TempDir()
	// A worker that ran for the maximum backoff counts as stable and starts
	// the count again: on a loaded machine a worker that exits 200 ms after
	// it started may have run for the harness's 400 ms since its launch.
	s := h.startSupervisor(local, []int{6700}, func(c *Config) { c.MaxRestartBackoff = 10 * time.Second })
	writeMode(t, h.control, "crash-1-1", workerMode{ExitAfter: 200 * time.Millisecond})
	h.submit("crash-1-1", nil, nil)
	h.assign("crash-1-1", slots(cluster.Slot{NodeID: s.NodeID(), Port: 6700}, 1))

	testenv.WaitUntil(t, testWaitDeadline, "three launches", func() bool { return len(launches(t, h.control)) >= 3 })
	testenv.WaitUntil(t, testWaitDeadline, "the third restart in the logs", func() bool {
		return len(s.logs.find(`msg="worker failed"`, "restarts=3", `reason="exited: exit status 3"`)) > 0
	})
	recs := launches(t, h.control)
	pids := map[int]bool{}
	for _, r := range recs {
		pids[r.Pid] = true
	}
	if len(pids) != len(recs) {
		t.Errorf("launches reuse pids: %+v", recs)
	}

	// Once it behaves, it stays.
	writeMode(t, h.control, "crash-1-1", workerMode{})
	n := len(launches(t, h.control))
	var w WorkerStatus
	testenv.WaitUntil(t, testWaitDeadline, "a worker that does not exit", func() bool {
		recs := launches(t, h.control)
		if len(recs) <= n {
			return false
		}
		last := recs[len(recs)-1]
		var ok bool
		w, ok = s.worker(6700)
		return ok && w.Pid == last.Pid && w.State == WorkerRunning && time.Since(last.Time) > 500*time.Millisecond
	})
	if w.Restarts == 0 {
		t.Errorf("worker status %+v: want its restarts counted", w)
	}
	if dirs := workerDirs(t, local); len(dirs) != 1 || dirs[0] != w.WorkerID {
		t.Errorf("worker dirs = %v, want only the running worker's %s", dirs, w.WorkerID)
	}
}

// TestHeartbeatStopKilled kills and restarts a worker whose heartbeat
// stops.
func TestHeartbeatStopKilled(t *testing.T) {
	h := newHarness(t)
	local := t.TempDir()
	s := h.startSupervisor(local, []int{6700})
	writeMode(t, h.control, "stuck-1-1", workerMode{StopBeatAfter: 200 * time.Millisecond})
	h.submit("stuck-1-1", nil, nil)
	h.assign("stuck-1-1", slots(cluster.Slot{NodeID: s.NodeID(), Port: 6700}, 1))
	first := s.waitRunning(t, 6700)
	writeMode(t, h.control, "stuck-1-1", workerMode{})

	second := s.waitRunning(t, 6700, first.Pid)
	if running(first.Pid) {
		t.Errorf("worker %d still runs after its heartbeat timed out", first.Pid)
	}
	if len(s.logs.find(`msg="worker failed"`, `reason="heartbeat timed out"`, "pid="+strconv.Itoa(first.Pid))) == 0 {
		t.Error("no log of the heartbeat timeout")
	}
	if second.Restarts != 1 {
		t.Errorf("restarts = %d, want 1", second.Restarts)
	}
}

// TestNeverHeartbeatsKilled kills a worker that writes no heartbeat within
// the start timeout, and not before.
func TestNeverHeartbeatsKilled(t *testing.T) {
	h := newHarness(t)
	local := t.TempDir()
	const startTO = time.Second
	s := h.startSupervisor(local, []int{6700}, func(c *Config) { c.WorkerStartTimeout = startTO })
	writeMode(t, h.control, "mute-1-1", workerMode{NoBeat: true})
	h.submit("mute-1-1", nil, nil)
	h.assign("mute-1-1", slots(cluster.Slot{NodeID: s.NodeID(), Port: 6700}, 1))

	var first WorkerStatus
	testenv.WaitUntil(t, testWaitDeadline, "the first launch", func() bool {
		var ok bool
		first, ok = s.worker(6700)
		return ok && len(launches(t, h.control)) == 1
	})
	writeMode(t, h.control, "mute-1-1", workerMode{})
	testenv.WaitUntil(t, testWaitDeadline, "the mute worker to be killed", func() bool { return !running(first.Pid) })
	if lived := time.Since(first.LaunchedAt); lived < startTO {
		t.Errorf("killed %v after its launch, before the start timeout %v", lived, startTO)
	}
	s.waitRunning(t, 6700, first.Pid)
	if len(s.logs.find(`msg="worker failed"`, `reason="no heartbeat within the start timeout"`)) == 0 {
		t.Error("no log of the start timeout")
	}
}

// TestUnassignedKilled stops a worker whose assignment is removed, though
// it ignores SIGTERM, kills the shell child it leaves behind (recorded in
// its pid directory, in a process group of its own), and removes its
// directory and package.
func TestUnassignedKilled(t *testing.T) {
	h := newHarness(t)
	local := t.TempDir()
	s := h.startSupervisor(local, []int{6700})
	writeMode(t, h.control, "gone-1-1", workerMode{IgnoreTerm: true, Leftover: true})
	h.submit("gone-1-1", map[string]string{"a": "b"}, nil)
	h.assign("gone-1-1", slots(cluster.Slot{NodeID: s.NodeID(), Port: 6700}, 1))
	w := s.waitRunning(t, 6700)
	dir := layout.WorkerDir(local, w.WorkerID)

	var child int
	testenv.WaitUntil(t, testWaitDeadline, "the leftover child's pid file", func() bool {
		entries, _ := os.ReadDir(layout.PidDir(dir))
		for _, e := range entries {
			if pid, err := strconv.Atoi(e.Name()); err == nil {
				child = pid
				return true
			}
		}
		return false
	})
	if pgid, _ := syscall.Getpgid(child); pgid == w.Pid {
		t.Fatalf("leftover child %d is in the worker's group: the test proves nothing", child)
	}

	unassigned := time.Now()
	h.unassign("gone-1-1")
	testenv.WaitUntil(t, testWaitDeadline, "the worker to be removed", func() bool { return len(s.Workers()) == 0 })
	took := time.Since(unassigned)
	if running(w.Pid) {
		t.Errorf("worker %d survived", w.Pid)
	}
	if running(child) {
		t.Errorf("leftover child %d survived", child)
	}
	if took < testGrace {
		t.Errorf("worker stopped after %v, less than the grace %v it should have had", took, testGrace)
	}
	if dirs := workerDirs(t, local); len(dirs) != 0 {
		t.Errorf("worker dirs left: %v", dirs)
	}
	testenv.WaitUntil(t, testWaitDeadline, "the package to be removed", func() bool {
		_, err := os.Stat(layout.StormDist(local, "gone-1-1"))
		return os.IsNotExist(err)
	})
	if len(s.logs.find("killed processes the worker left behind", "pids=["+strconv.Itoa(child)+"]")) == 0 {
		t.Error("no log of the leftover child killed")
	}
	testenv.WaitUntil(t, testWaitDeadline, "the registration to show no used port", func() bool {
		info, err := h.admin.GetSupervisor(t.Context(), s.NodeID())
		return err == nil && len(info.UsedPorts) == 0
	})
}

// TestAssignmentChangeRelaunches replaces a worker whose executors change,
// never running two workers on its port.
func TestAssignmentChangeRelaunches(t *testing.T) {
	h := newHarness(t)
	local := t.TempDir()
	s := h.startSupervisor(local, []int{6700})
	h.submit("move-1-1", nil, nil)
	slot := cluster.Slot{NodeID: s.NodeID(), Port: 6700}
	h.assign("move-1-1", slots(slot, 1, 2))
	first := s.waitRunning(t, 6700)

	// A new version that leaves the slot's executors alone keeps the worker.
	h.assign("move-1-1", slots(slot, 2, 1))
	h.assign("move-1-1", slots(slot, 1, 2, 3))
	testenv.WaitUntil(t, testWaitDeadline, "a second launch", func() bool { return len(launches(t, h.control)) == 2 })
	if running(first.Pid) {
		t.Errorf("the new worker started while the old one (%d) still ran", first.Pid)
	}
	second := s.waitRunning(t, 6700, first.Pid)
	var meta layout.WorkerMeta
	if err := layout.ReadJSON(layout.MetaFile(layout.WorkerDir(local, second.WorkerID)), &meta); err != nil {
		t.Fatal(err)
	}
	if len(meta.Executors) != 3 {
		t.Errorf("new worker runs %v, want 3 executors", meta.Executors)
	}
	if second.Restarts != 0 {
		t.Errorf("a reassignment counted as a failure: restarts = %d", second.Restarts)
	}
}

// TestStopLeavesWorkersThenAdopt stops a supervisor: its workers keep
// running, and the next supervisor on the same local dir adopts them
// without restarting them, then notices when one dies.
func TestStopLeavesWorkersThenAdopt(t *testing.T) {
	h := newHarness(t)
	local := t.TempDir()
	s1 := h.startSupervisor(local, []int{6700, 6701})
	node := s1.NodeID()
	h.submit("keep-1-1", nil, nil)
	h.assign("keep-1-1", merge(slots(cluster.Slot{NodeID: node, Port: 6700}, 1), slots(cluster.Slot{NodeID: node, Port: 6701}, 2)))
	w0 := s1.waitRunning(t, 6700)
	w1 := s1.waitRunning(t, 6701)

	s1.stop(t)
	hb0, _ := readHeartbeat(layout.WorkerDir(local, w0.WorkerID))
	testenv.WaitUntil(t, testWaitDeadline, "a heartbeat written with no supervisor", func() bool {
		hb, _ := readHeartbeat(layout.WorkerDir(local, w0.WorkerID))
		return hb != nil && hb.Time.After(hb0.Time)
	})
	if !running(w0.Pid) || !running(w1.Pid) {
		t.Fatal("workers died with their supervisor")
	}

	s2 := h.startSupervisor(local, []int{6700, 6701})
	if s2.NodeID() != node {
		t.Fatalf("node id %q after a restart, want %q", s2.NodeID(), node)
	}
	testenv.WaitUntil(t, testWaitDeadline, "both workers adopted", func() bool { return len(s2.logs.find(`msg="adopted worker"`)) == 2 })
	for _, w := range []WorkerStatus{w0, w1} {
		got, ok := s2.worker(w.Port)
		if !ok || got.Pid != w.Pid || got.WorkerID != w.WorkerID || !got.Adopted {
			t.Errorf("port %d: %+v, want worker %s (pid %d) adopted", w.Port, got, w.WorkerID, w.Pid)
		}
	}
	if n := len(launches(t, h.control)); n != 2 {
		t.Errorf("%d launches, want the 2 of the first supervisor", n)
	}
	testenv.WaitUntil(t, testWaitDeadline, "the registration to list the adopted workers' ports", func() bool {
		info, err := h.admin.GetSupervisor(t.Context(), node)
		return err == nil && slices.Equal(info.UsedPorts, []int{6700, 6701})
	})

	// An adopted worker is not our child: its death is noticed by polling.
	syscall.Kill(-w0.Pid, syscall.SIGKILL)
	s2.waitRunning(t, 6700, w0.Pid)
	if got, _ := s2.worker(6701); got.Pid != w1.Pid {
		t.Errorf("port 6701 runs %d, want the adopted %d untouched", got.Pid, w1.Pid)
	}
	if len(s2.logs.find(`msg="worker exited"`, `status="process gone"`, "pid="+strconv.Itoa(w0.Pid))) == 0 {
		t.Error("no log of the adopted worker's death")
	}
}

// TestWorkerDiedWhileNoSupervisor restarts a worker that died while no
// supervisor ran, and cleans up after it.
func TestWorkerDiedWhileNoSupervisor(t *testing.T) {
	h := newHarness(t)
	local := t.TempDir()
	s1 := h.startSupervisor(local, []int{6700})
	h.submit("dead-1-1", nil, nil)
	h.assign("dead-1-1", slots(cluster.Slot{NodeID: s1.NodeID(), Port: 6700}, 1))
	w := s1.waitRunning(t, 6700)
	s1.stop(t)
	syscall.Kill(-w.Pid, syscall.SIGKILL)
	testenv.WaitUntil(t, testWaitDeadline, "the worker to die", func() bool { return !running(w.Pid) })

	s2 := h.startSupervisor(local, []int{6700})
	s2.waitRunning(t, 6700, w.Pid)
	if len(s2.logs.find(`msg="worker died while no supervisor ran"`, "worker="+w.WorkerID)) == 0 {
		t.Error("no log of the dead worker")
	}
	testenv.WaitUntil(t, testWaitDeadline, "the dead worker's directory to be removed", func() bool {
		return !slices.Contains(workerDirs(t, local), w.WorkerID)
	})
}

// TestRestartKillsWhatIsNotAssigned: a supervisor restarted after the
// assignment went away kills the worker it finds instead of adopting it.
func TestRestartKillsWhatIsNotAssigned(t *testing.T) {
	h := newHarness(t)
	local := t.TempDir()
	s1 := h.startSupervisor(local, []int{6700})
	h.submit("old-1-1", nil, nil)
	h.assign("old-1-1", slots(cluster.Slot{NodeID: s1.NodeID(), Port: 6700}, 1))
	w := s1.waitRunning(t, 6700)
	s1.stop(t)
	h.unassign("old-1-1")

	s2 := h.startSupervisor(local, []int{6700})
	testenv.WaitUntil(t, testWaitDeadline, "the unassigned worker to be killed", func() bool { return !running(w.Pid) })
	testenv.WaitUntil(t, testWaitDeadline, "its directory to be removed", func() bool { return len(workerDirs(t, local)) == 0 })
	if len(s2.logs.find(`msg="adopted worker"`)) != 0 {
		t.Error("adopted a worker no longer assigned")
	}
}

// TestKillWorkersOnStop stops the workers with the supervisor when asked.
func TestKillWorkersOnStop(t *testing.T) {
	h := newHarness(t)
	local := t.TempDir()
	s := h.startSupervisor(local, []int{6700}, func(c *Config) { c.KillWorkersOnStop = true })
	h.submit("kill-1-1", nil, nil)
	h.assign("kill-1-1", slots(cluster.Slot{NodeID: s.NodeID(), Port: 6700}, 1))
	w := s.waitRunning(t, 6700)
	s.stop(t)
	if running(w.Pid) {
		t.Errorf("worker %d runs after Run returned", w.Pid)
	}
	if dirs := workerDirs(t, local); len(dirs) != 0 {
		t.Errorf("worker dirs left: %v", dirs)
	}
}

// TestMaliciousPackageRefused refuses a package whose entries leave its
// directory: nothing is written outside, no worker starts, the refusal is
// reported to the topology's errors, and the package is not fetched again.
func TestMaliciousPackageRefused(t *testing.T) {
	h := newHarness(t)
	root := t.TempDir()
	local := filepath.Join(root, "local")
	s := h.startSupervisor(local, []int{6700})

	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, name := range []string{"ok.txt", "../../evil.txt"} {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: 4, Typeflag: tar.TypeReg})
		tw.Write([]byte("evil"))
	}
	tw.Close()
	zw.Close()
	h.submitRaw("evil-1-1", buf.Bytes(), nil)
	h.assign("evil-1-1", slots(cluster.Slot{NodeID: s.NodeID(), Port: 6700}, 1))

	var errs []cluster.ErrorInfo
	testenv.WaitUntil(t, testWaitDeadline, "the refusal to be reported", func() bool {
		errs, _ = h.admin.ListErrors(t.Context(), "evil-1-1")
		return len(errs) > 0
	})
	if e := errs[0]; e.Component != reportComponent || e.Port != 6700 || !strings.Contains(e.Message, s.NodeID()) {
		t.Errorf("reported %+v", e)
	}
	// Let the loop run a few more times: it must not download again.
	info0, _ := h.admin.GetSupervisor(t.Context(), s.NodeID())
	testenv.WaitUntil(t, testWaitDeadline, "five more monitor ticks", func() bool {
		info, err := h.admin.GetSupervisor(t.Context(), s.NodeID())
		return err == nil && info.Time.Sub(info0.Time) >= 5*testMonitor
	})
	if n := h.nimbus.downloadCount(); n != 1 {
		t.Errorf("%d downloads of a refused package, want 1", n)
	}
	if n := len(launches(t, h.control)); n != 0 {
		t.Errorf("%d workers launched from a refused package", n)
	}
	for _, p := range []string{filepath.Join(root, "evil.txt"), filepath.Join(filepath.Dir(root), "evil.txt"), filepath.Join(local, "evil.txt")} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s exists", p)
		}
	}
	if entries, _ := os.ReadDir(layout.StormDistRoot(local)); len(entries) != 0 {
		t.Errorf("stormdist holds %v after a refused download", entries)
	}
	if len(s.logs.find(`msg="package refused"`, "topology=evil-1-1")) == 0 {
		t.Error("no log of the refusal")
	}
}

// TestTwoSupervisors runs two supervisors on one cluster: each runs the
// slots assigned to its node.
func TestTwoSupervisors(t *testing.T) {
	h := newHarness(t)
	a := h.startSupervisor(t.TempDir(), []int{6700, 6701})
	b := h.startSupervisor(t.TempDir(), []int{6710})
	if a.NodeID() == b.NodeID() {
		t.Fatalf("two supervisors share the node id %s", a.NodeID())
	}
	h.submit("pair-1-1", nil, nil)
	h.assign("pair-1-1", merge(
		slots(cluster.Slot{NodeID: a.NodeID(), Port: 6700}, 1),
		slots(cluster.Slot{NodeID: a.NodeID(), Port: 6701}, 2),
		slots(cluster.Slot{NodeID: b.NodeID(), Port: 6710}, 3),
	))
	wa0, wa1, wb := a.waitRunning(t, 6700), a.waitRunning(t, 6701), b.waitRunning(t, 6710)
	if len(a.Workers()) != 2 || len(b.Workers()) != 1 {
		t.Errorf("workers: %+v and %+v", a.Workers(), b.Workers())
	}
	for _, c := range []struct {
		w    WorkerStatus
		node string
		dir  string
	}{{wa0, a.NodeID(), a.LocalDir()}, {wa1, a.NodeID(), a.LocalDir()}, {wb, b.NodeID(), b.LocalDir()}} {
		var meta layout.WorkerMeta
		if err := layout.ReadJSON(layout.MetaFile(layout.WorkerDir(c.dir, c.w.WorkerID)), &meta); err != nil {
			t.Fatal(err)
		}
		if meta.NodeID != c.node || meta.Port != c.w.Port {
			t.Errorf("worker %s: meta %+v, want node %s", c.w.WorkerID, meta, c.node)
		}
	}
	ids, err := h.admin.ListSupervisors(t.Context())
	if err != nil || len(ids) != 2 {
		t.Errorf("ListSupervisors() = %v, %v; want both", ids, err)
	}
	if n := h.nimbus.downloadCount(); n != 2 {
		t.Errorf("%d downloads, want one per supervisor", n)
	}
}

// TestCleanExit: a worker exiting with status 0 on its own because its
// assignment changed (as squall's worker does) is not a failure; a clean
// exit while still assigned is.
func TestCleanExit(t *testing.T) {
	h := newHarness(t)
	s := h.startSupervisor(t.TempDir(), []int{6700})
	h.submit("clean-1-1", nil, nil)
	slot := cluster.Slot{NodeID: s.NodeID(), Port: 6700}
	h.assign("clean-1-1", slots(slot, 1))
	first := s.waitRunning(t, 6700)

	// Still assigned: restarted as a failure.
	syscall.Kill(first.Pid, syscall.SIGTERM) // the fake worker exits 0
	second := s.waitRunning(t, 6700, first.Pid)
	if second.Restarts != 1 {
		t.Errorf("after a clean exit while assigned: restarts = %d, want 1", second.Restarts)
	}

	// Reassigned: the worker's own exit and the supervisor race; either
	// way no failure is counted for the new executors' worker.
	h.assign("clean-1-1", slots(slot, 1, 2))
	syscall.Kill(second.Pid, syscall.SIGTERM)
	third := s.waitRunning(t, 6700, first.Pid, second.Pid)
	if third.Restarts != 0 {
		t.Errorf("after a reassignment: restarts = %d, want 0", third.Restarts)
	}
	if len(s.logs.find(`reason="exited: exit status 0"`, "pid="+strconv.Itoa(second.Pid))) != 0 {
		t.Error("the exit after a reassignment was logged as a failure")
	}
}

// TestZooKeeper runs a supervisor on a real ZooKeeper: it registers as an
// ephemeral node, runs its assignment, and after a restart with a new
// session adopts its worker.
func TestZooKeeper(t *testing.T) {
	h := newZooKeeperHarness(t)
	local := t.TempDir()
	s1 := h.startSupervisor(local, []int{6700})
	node := s1.NodeID()
	h.submit("zk-1-1", map[string]string{"a": "b"}, nil)
	h.assign("zk-1-1", slots(cluster.Slot{NodeID: node, Port: 6700}, 1, 2))
	w := s1.waitRunning(t, 6700)
	testenv.WaitUntil(t, testWaitDeadline, "the registration to list the used port", func() bool {
		info, err := h.admin.GetSupervisor(t.Context(), node)
		return err == nil && slices.Equal(info.UsedPorts, []int{6700})
	})

	s1.stop(t) // closes its session: the registration goes at once
	if _, err := h.admin.GetSupervisor(t.Context(), node); !errors.Is(err, cluster.ErrNotFound) {
		t.Errorf("GetSupervisor() after the session closed = %v, want ErrNotFound", err)
	}
	if !running(w.Pid) {
		t.Fatal("the worker died with its supervisor")
	}
	s2 := h.startSupervisor(local, []int{6700})
	testenv.WaitUntil(t, testWaitDeadline, "the worker adopted", func() bool { return len(s2.logs.find(`msg="adopted worker"`, "pid="+strconv.Itoa(w.Pid))) == 1 })
	if n := len(launches(t, h.control)); n != 1 {
		t.Errorf("%d launches, want 1", n)
	}
	h.unassign("zk-1-1")
	testenv.WaitUntil(t, testWaitDeadline, "the worker stopped", func() bool { return len(s2.Workers()) == 0 && !running(w.Pid) })
}

// TestIncompleteLaunchKilled: a supervisor that died between starting a
// worker and recording its pid left a worker directory whose meta file has
// no pid, and a worker that wrote no heartbeat yet. The next supervisor
// finds the process by its working directory and kills it.
func TestIncompleteLaunchKilled(t *testing.T) {
	h := newHarness(t)
	local := t.TempDir()
	h.submit("orphan-1-1", nil, nil)
	writeMode(t, h.control, "orphan-1-1", workerMode{NoBeat: true})
	const id = "0a7e1ee0-0000-4000-8000-000000000000"
	dir := layout.WorkerDir(local, id)
	meta := layout.WorkerMeta{WorkerID: id, StormID: "orphan-1-1", NodeID: "n", Port: 6700, LaunchedAt: time.Now()}
	if err := os.MkdirAll(layout.PidDir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := layout.WriteJSON(layout.MetaFile(dir), meta); err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	cmd := exec.Command(exe, "worker", "--storm-id", "orphan-1-1", "--node", "n", "--port", "6700", "--worker-id", id, "--local-dir", local)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), controlEnv+"="+h.control)
	p, err := procgroup.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(0) })
	testenv.WaitUntil(t, testWaitDeadline, "the orphan to start", func() bool { return len(launches(t, h.control)) == 1 })

	s := h.startSupervisor(local, []int{6700})
	select {
	case <-p.Done():
	case <-time.After(testWaitDeadline):
		t.Fatal("the orphan worker survived the supervisor's start")
	}
	testenv.WaitUntil(t, testWaitDeadline, "its directory to be removed", func() bool { return len(workerDirs(t, local)) == 0 })
	if len(s.logs.find(`msg="stopping worker"`, `reason="incomplete worker directory"`, "pid="+strconv.Itoa(p.Pid()))) == 0 {
		t.Error("no log of the orphan stopped")
	}
}
