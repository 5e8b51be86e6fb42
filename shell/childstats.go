package shell

import (
	"bytes"
	"os"
	"strconv"
	"sync"
	"time"
)

// ChildStats are what a shell task's children cost and how they fare, for
// the worker's metrics (child-restarts, child-cpu-time, child-rss).
type ChildStats struct {
	// Pid is the running child's pid, 0 while none runs.
	Pid int
	// Restarts counts the children that failed (each is restarted).
	Restarts int
	// CrashLooping is set while children keep failing in quick succession.
	CrashLooping bool
	// CPUTime is the user and system time of every child the task ran and
	// of the processes they waited for; it never decreases.
	CPUTime time.Duration
	// RSSBytes is the running child's resident memory, 0 while none runs.
	RSSBytes int64
}

// ChildStats reports on the task's children.
func (b *Bolt) ChildStats() ChildStats { return b.sup.childStats() }

// ChildStats reports on the task's children.
func (s *Spout) ChildStats() ChildStats { return s.sup.childStats() }

// childUsage adds up the CPU time of a task's children. Its methods are
// safe for concurrent use.
type childUsage struct {
	mu sync.Mutex
	// ended is the CPU time of the children that were reaped; reported is
	// the most CPUTime said, so that it never goes back while a child
	// that just ended is not added yet.
	ended, reported time.Duration
}

// reaped adds the CPU time of a child that was stopped and reaped.
func (u *childUsage) reaped(c *child) {
	cpu := c.proc.CPUTime()
	u.mu.Lock()
	u.ended += cpu
	u.mu.Unlock()
}

// total returns the CPU time of the children, the running one's (pid, 0
// for none) read from /proc.
func (u *childUsage) total(pid int) time.Duration {
	var now time.Duration
	if pid > 0 {
		now, _ = procCPUTime(pid)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.reported = max(u.reported, u.ended+now)
	return u.reported
}

func (s *supervisor) childStats() ChildStats {
	h := s.Health()
	st := ChildStats{Pid: h.Pid, Restarts: h.Failures, CrashLooping: h.CrashLooping}
	st.CPUTime = s.usage.total(h.Pid)
	if h.Pid > 0 {
		st.RSSBytes, _ = procRSS(h.Pid)
	}
	return st
}

// clockTicks is the kernel's USER_HZ, the unit of times in /proc/PID/stat:
// 100 on every Linux platform Go runs on.
const clockTicks = 100

// procCPUTime reads a process's user and system time, its waited-for
// children's included, from /proc/PID/stat.
func procCPUTime(pid int) (time.Duration, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name may hold spaces and parentheses: fields are
	// counted from the last ')'. After it: state (field 3), ..., utime
	// (14), stime (15), cutime (16), cstime (17).
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 15 {
		return 0, false
	}
	var ticks int64
	for _, s := range f[11:15] {
		n, err := strconv.ParseInt(string(s), 10, 64)
		if err != nil {
			return 0, false
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, true
}

// procRSS reads a process's resident memory from /proc/PID/statm.
func procRSS(pid int) (int64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/statm")
	if err != nil {
		return 0, false
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseInt(string(f[1]), 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * int64(os.Getpagesize()), true
}
