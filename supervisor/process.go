package supervisor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/squallstream/squall/internal/layout"
	"github.com/squallstream/squall/internal/procgroup"
	"github.com/squallstream/squall/internal/procstat"
)

// pollInterval is how often the state of a process that is not our child is
// polled while waiting for it to exit.
const pollInterval = 10 * time.Millisecond

// procID identifies a process across pid reuse: its pid and its start time
// (procgroup.StartTime). A worker's pid is also its process group id.
type procID struct {
	pid   int
	start uint64
}

// alive reports whether the process still runs: the pid exists, has the
// same start time, and is not a zombie.
func (p procID) alive() bool {
	if p.pid <= 0 || !procgroup.Alive(p.pid) {
		return false
	}
	st, err := procstat.Read(p.pid)
	return err == nil && st.StartTicks == p.start && !st.Zombie()
}

// identify returns the identity of the running process pid, if it is
// running.
func identify(pid int) (procID, bool) {
	if pid <= 0 {
		return procID{}, false
	}
	st, err := procstat.Read(pid)
	if err != nil || st.Zombie() {
		return procID{}, false
	}
	return procID{pid, st.StartTicks}, true
}

// waitGone polls until p no longer runs or timeout passes, and reports
// whether it is gone.
func waitGone(p procID, timeout time.Duration) bool {
	if !p.alive() {
		return true
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		select {
		case <-deadline.C:
			return !p.alive()
		case <-tick.C:
			if !p.alive() {
				return true
			}
		}
	}
}

// stopForeign ends the process group led by p, a process that is not our
// child (an adopted worker): SIGTERM to the group, up to grace for the
// leader to exit, then SIGKILL to the group. Without a child to wait for,
// it polls. A leader already gone when stopForeign starts is left alone:
// its pid, and so its group id, may belong to another process by now.
func stopForeign(p procID, grace time.Duration) {
	if !p.alive() {
		return
	}
	syscall.Kill(-p.pid, syscall.SIGTERM)
	waitGone(p, grace)
	// The leader was ours until a moment ago: its group id cannot have
	// been reused while members of its group live on.
	syscall.Kill(-p.pid, syscall.SIGKILL)
	waitGone(p, 5*time.Second)
}

// sweepPids kills, with SIGKILL, every process named in a worker's pid
// directory that still runs: shell children a worker left behind, which
// run in process groups of their own. A pid whose process started before
// the worker (notBefore, its start time; 0 if unknown) was reused by
// another process and is spared, and so is a process of another user than
// the worker directory's owner: the directory is the worker's own when it
// runs as its topology's owner, and its pid files must not make the
// supervisor kill anyone else's processes. It returns the pids killed.
func sweepPids(workerDir string, notBefore uint64) []int {
	entries, err := os.ReadDir(layout.PidDir(workerDir))
	if err != nil {
		return nil
	}
	owner := dirOwner(workerDir)
	var killed []procID
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		p, ok := identify(pid)
		if !ok || p.start < notBefore || owner >= 0 && procUID(pid) != owner {
			continue
		}
		if pgid, err := syscall.Getpgid(pid); err == nil && pgid == pid {
			syscall.Kill(-pid, syscall.SIGKILL) // its own children too
		} else {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		killed = append(killed, p)
	}
	pids := make([]int, 0, len(killed))
	for _, p := range killed {
		waitGone(p, 2*time.Second)
		pids = append(pids, p.pid)
	}
	slices.Sort(pids)
	return pids
}

// processIn returns the running process whose working directory is dir:
// how a worker whose meta file lacks a pid (its supervisor died between
// launching it and recording it) is found. The pids in hints (the one its
// heartbeat names) are tried first, then every process; a process group
// leader is preferred, as a worker leads its group.
func processIn(dir string, hints ...int) (procID, bool) {
	want, err := filepath.EvalSymlinks(dir)
	if err != nil {
		want = dir
	}
	in := func(pid int) bool {
		cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
		return err == nil && (cwd == want || cwd == dir)
	}
	for _, pid := range hints {
		if pid > 0 && in(pid) {
			if p, ok := identify(pid); ok {
				return p, true
			}
		}
	}
	entries, _ := os.ReadDir("/proc")
	var found []procID
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !in(pid) {
			continue
		}
		if p, ok := identify(pid); ok {
			found = append(found, p)
		}
	}
	for _, p := range found {
		if pgid, err := syscall.Getpgid(p.pid); err == nil && pgid == p.pid {
			return p, true
		}
	}
	if len(found) > 0 {
		return found[0], true
	}
	return procID{}, false
}

// maxHeartbeatBytes bounds a worker's heartbeat file, a few hundred
// bytes when the worker wrote it.
const maxHeartbeatBytes = 64 << 10

// readHeartbeat returns a worker's last heartbeat, nil if it wrote none.
func readHeartbeat(workerDir string) (*layout.Heartbeat, error) {
	path := layout.HeartbeatFile(workerDir)
	data, fi, err := layout.ReadFile(path, maxHeartbeatBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var hb layout.Heartbeat
	if err := json.Unmarshal(data, &hb); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	// A worker whose heartbeat would change nothing but its Time only
	// sets the file's modification time.
	if fi.ModTime().After(hb.Time) {
		hb.Time = fi.ModTime()
	}
	return &hb, nil
}

// logTailBytes bounds the part of a worker's log quoted when it fails.
const logTailBytes = 2048

// logTail returns the last lines of a worker's log, at most logTailBytes.
func logTail(logPath string) string {
	f, err := os.OpenFile(logPath, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return ""
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		return ""
	}
	off := max(info.Size()-logTailBytes, 0)
	b, err := io.ReadAll(io.NewSectionReader(f, off, info.Size()-off))
	if err != nil {
		return ""
	}
	if off > 0 {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return strings.TrimSpace(string(b))
}
