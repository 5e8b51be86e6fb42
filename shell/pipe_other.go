//go:build !linux

package shell

import "syscall"

// pipeCapacity is unknown here: the host never writes to a child from a
// goroutine that must not block.
func pipeCapacity(syscall.RawConn) int { return 0 }

func pipeUnread(syscall.RawConn) int { return -1 }
