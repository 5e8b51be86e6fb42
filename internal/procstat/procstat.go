// Package procstat reads what Linux's /proc/PID/stat tells about a
// process: its state, parent, process group, start time, CPU time and
// resident memory. It is the one parser of that file, for the child CPU
// and RSS metrics, for walking a process's ancestors and for telling a
// running process from a reused pid.
package procstat

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// ErrFormat: /proc/PID/stat does not read as expected.
var ErrFormat = errors.New("unexpected /proc/PID/stat format")

// userHZ is the unit of /proc's CPU times: USER_HZ, 100 on every Linux
// architecture Go supports.
const userHZ = 100

// Stat is what /proc/PID/stat says about a process.
type Stat struct {
	Pid int
	// State is the one-letter state: R running, S sleeping, Z zombie...
	State byte
	// PPid is its parent's pid, Pgid its process group's.
	PPid, Pgid int
	// StartTicks is when the process started, in clock ticks since boot:
	// with the pid, it identifies a process even once the pid is reused.
	StartTicks uint64
	// CPU is the user and system time of the process and of the children
	// it has waited for.
	CPU time.Duration
	// RSS is its resident memory in bytes.
	RSS int64
}

// Zombie reports whether the process has exited and not been reaped.
func (s Stat) Zombie() bool { return s.State == 'Z' || s.State == 'X' }

// Read reads /proc/pid/stat. A process that does not exist is an error
// satisfying errors.Is(err, fs.ErrNotExist).
func Read(pid int) (Stat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Stat{}, fmt.Errorf("read stat of pid %d: %w", pid, err)
	}
	s, err := Parse(b)
	if err != nil {
		return Stat{}, fmt.Errorf("pid %d: %w", pid, err)
	}
	return s, nil
}

// Parse reads the contents of a /proc/PID/stat file.
func Parse(b []byte) (Stat, error) {
	// The command name, in parentheses, may hold anything, spaces and
	// parentheses included: fields are counted after its last ')'.
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 1 || end < open {
		return Stat{}, fmt.Errorf("%w: no command name", ErrFormat)
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:open])))
	if err != nil {
		return Stat{}, fmt.Errorf("%w: pid: %v", ErrFormat, err)
	}
	f := bytes.Fields(b[end+1:])
	// f[0] is field 3 (state); field n is f[n-3].
	if len(f) < 22 || len(f[0]) != 1 {
		return Stat{}, fmt.Errorf("%w: %d fields after the command name", ErrFormat, len(f))
	}
	var ids [2]int // ppid, pgrp: fields 4-5
	for i := range ids {
		if ids[i], err = strconv.Atoi(string(f[1+i])); err != nil {
			return Stat{}, fmt.Errorf("%w: field %d: %v", ErrFormat, 4+i, err)
		}
	}
	var n [4]uint64 // utime, stime, cutime, cstime: fields 14-17
	for i := range n {
		if n[i], err = strconv.ParseUint(string(f[11+i]), 10, 64); err != nil {
			return Stat{}, fmt.Errorf("%w: field %d: %v", ErrFormat, 14+i, err)
		}
	}
	start, err := strconv.ParseUint(string(f[19]), 10, 64)
	if err != nil {
		return Stat{}, fmt.Errorf("%w: start time: %v", ErrFormat, err)
	}
	pages, err := strconv.ParseInt(string(f[21]), 10, 64)
	if err != nil {
		return Stat{}, fmt.Errorf("%w: rss: %v", ErrFormat, err)
	}
	ticks := n[0] + n[1] + n[2] + n[3]
	return Stat{
		Pid:        pid,
		State:      f[0][0],
		PPid:       ids[0],
		Pgid:       ids[1],
		StartTicks: start,
		CPU:        time.Duration(ticks) * (time.Second / userHZ),
		RSS:        pages * int64(os.Getpagesize()),
	}, nil
}

// CPUTotal adds up the CPU time of the processes that succeed each other
// as one task's child, so that the task's CPU time only grows across
// restarts, as a counter must. Its methods are safe for concurrent use.
type CPUTotal struct {
	mu sync.Mutex
	// The following fields are guarded by mu.
	pid   int
	start uint64
	last  time.Duration
	done  time.Duration
}

// Read returns the CPU time of every process seen so far plus that of the
// current one, pid (0 if there is none now). The time a process spent
// after its last reading is not counted.
func (c *CPUTotal) Read(pid int) time.Duration {
	var s Stat
	var err error
	if pid > 0 {
		s, err = Read(pid)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if pid <= 0 || err != nil || s.Pid != c.pid || s.StartTicks != c.start {
		c.done += c.last
		c.pid, c.start, c.last = 0, 0, 0
		if pid <= 0 || err != nil {
			return c.done
		}
		c.pid, c.start = s.Pid, s.StartTicks
	}
	c.last = max(c.last, s.CPU)
	return c.done + c.last
}
