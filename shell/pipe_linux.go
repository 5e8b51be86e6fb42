package shell

import (
	"syscall"
	"unsafe"
)

// fGetPipeSz is Linux's fcntl command for a pipe's capacity.
const fGetPipeSz = 1032

// pipeCapacity returns how many bytes the pipe behind rc holds, 0 if
// unknown. Linux gives a pipe 64 KiB, or a single page when the user holds
// too many pipe pages already.
func pipeCapacity(rc syscall.RawConn) int {
	n := 0
	rc.Control(func(fd uintptr) {
		r, _, errno := syscall.Syscall(syscall.SYS_FCNTL, fd, fGetPipeSz, 0)
		if errno == 0 {
			n = int(r)
		}
	})
	return n
}

// pipeUnread returns how many bytes written to the pipe behind rc its
// reader has not read yet, -1 if unknown.
func pipeUnread(rc syscall.RawConn) int {
	n := int32(-1)
	rc.Control(func(fd uintptr) {
		var v int32
		if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&v))); errno == 0 {
			n = v
		}
	})
	return int(n)
}
