//go:build unix && !linux

package serverproc

import "syscall"

// sysProcAttr puts the server in its own process group, killed whole by
// Stop.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
