package procgroup

import (
	"syscall"
	"time"
)

// CPUTime returns the user and system time the process and the children
// it waited for used, once it has exited and been reaped; 0 before.
func (p *Process) CPUTime() time.Duration {
	if !p.Exited() || p.cmd.ProcessState == nil {
		return 0
	}
	ru, ok := p.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok || ru == nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
