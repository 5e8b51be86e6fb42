package procgroup

import (
	"errors"
	"os"
	"strconv"
	"syscall"

	"github.com/squallstream/squall/internal/procstat"
)

// Ident identifies a running process across pid reuse: its pid and its
// start time.
type Ident struct {
	Pid   int
	Start uint64
}

// Running reports whether the process still runs: same pid, same start
// time, not a zombie.
func (id Ident) Running() bool {
	s, err := procstat.Read(id.Pid)
	return err == nil && s.StartTicks == id.Start && !s.Zombie()
}

// Kill sends sig to the process, and to its process group if it leads
// one (a process that called setsid leads its own), unless its pid now
// belongs to another process.
func (id Ident) Kill(sig syscall.Signal) {
	s, err := procstat.Read(id.Pid)
	if err != nil || s.StartTicks != id.Start {
		return
	}
	if s.Pgid == id.Pid {
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
		s, err := procstat.Read(pid)
		if err != nil || s.Zombie() {
			continue
		}
		if descends(s, ancestor) {
			out = append(out, Ident{Pid: pid, Start: s.StartTicks})
		}
	}
	return out, nil
}

// descends reports whether the process whose stat is s descends from
// ancestor.
func descends(s procstat.Stat, ancestor int) bool {
	for range maxDepth {
		switch s.PPid {
		case ancestor:
			return true
		case 0, 1:
			return false
		}
		var err error
		if s, err = procstat.Read(s.PPid); err != nil {
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
		s, err := procstat.Read(pid)
		if err != nil || s.PPid != self || s.Zombie() {
			continue
		}
		others, _ := DescendantsInPidDir(pidDir, pid)
		Ident{Pid: pid, Start: s.StartTicks}.Kill(syscall.SIGKILL)
		for _, o := range others {
			o.Kill(syscall.SIGKILL)
		}
		n++
	}
	return n
}
