package procgroup

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Ident identifies a running process across pid reuse: its pid and its
// start time.
type Ident struct {
	Pid   int
	Start uint64
}

// stat is what /proc/PID/stat says about a process.
type stat struct {
	state      byte
	ppid, pgid int
	start      uint64
}

func readStat(pid int) (stat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return stat{}, err
	}
	// The command name, in parentheses, may hold anything: count fields
	// after its closing parenthesis, so the state (field 3) is the first,
	// the parent (4) the second, the group (5) the third and the start
	// time (22) the 20th.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return stat{}, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 || len(f[0]) != 1 {
		return stat{}, fmt.Errorf("parse /proc/%d/stat: %d fields", pid, len(f))
	}
	s := stat{state: f[0][0]}
	if s.ppid, err = strconv.Atoi(f[1]); err == nil {
		if s.pgid, err = strconv.Atoi(f[2]); err == nil {
			s.start, err = strconv.ParseUint(f[19], 10, 64)
		}
	}
	if err != nil {
		return stat{}, fmt.Errorf("parse /proc/%d/stat: %w", pid, err)
	}
	return s, nil
}

// Running reports whether the process still runs: same pid, same start
// time, not a zombie.
func (id Ident) Running() bool {
	s, err := readStat(id.Pid)
	return err == nil && s.start == id.Start && s.state != 'Z'
}

// Kill sends sig to the process, and to its process group if it leads
// one (a process that called setsid leads its own), unless its pid now
// belongs to another process.
func (id Ident) Kill(sig syscall.Signal) {
	s, err := readStat(id.Pid)
	if err != nil || s.start != id.Start {
		return
	}
	if s.pgid == id.Pid {
		syscall.Kill(-id.Pid, sig)
	}
	syscall.Kill(id.Pid, sig)
}

// maxDepth bounds the walk up a process's ancestors.
const maxDepth = 64

// DescendantsInPidDir returns the processes named in dir, a directory of
// empty files named after pids (the pid directory multilang children
// write to), that descend from ancestor, ancestor excluded. A descendant
// that left ancestor's process group (with setsid, say) escapes a signal
// to the group; its pid file gives it away. The tree is read now, while
// ancestor still runs: once it dies, its descendants belong to init.
func DescendantsInPidDir(dir string, ancestor int) ([]Ident, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []Ident
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 1 || pid == ancestor {
			continue
		}
		s, err := readStat(pid)
		if err != nil || s.state == 'Z' {
			continue
		}
		if descends(s, ancestor) {
			out = append(out, Ident{Pid: pid, Start: s.start})
		}
	}
	return out, nil
}

// descends reports whether the process whose stat is s descends from
// ancestor.
func descends(s stat, ancestor int) bool {
	for range maxDepth {
		switch s.ppid {
		case ancestor:
			return true
		case 0, 1:
			return false
		}
		var err error
		if s, err = readStat(s.ppid); err != nil {
			return false
		}
	}
	return false
}

// KillChildren kills, with SIGKILL, every child process of this process
// with its process group and the descendants named in pidDir that left
// it: what a second Ctrl-C does. It returns how many children it killed.
func KillChildren(pidDir string) int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	self, n := os.Getpid(), 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		s, err := readStat(pid)
		if err != nil || s.ppid != self || s.state == 'Z' {
			continue
		}
		others, _ := DescendantsInPidDir(pidDir, pid)
		Ident{Pid: pid, Start: s.start}.Kill(syscall.SIGKILL)
		for _, o := range others {
			o.Kill(syscall.SIGKILL)
		}
		n++
	}
	return n
}
