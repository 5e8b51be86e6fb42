package serverproc

import "syscall"

// sysProcAttr puts the server in its own process group, killed whole by
// Stop, and has the kernel kill it if the test binary dies first.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
