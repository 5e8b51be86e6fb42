package shell

import (
	"os"
	"syscall"
)

// fGetPipeSz is Linux's fcntl command for a pipe's capacity.
const fGetPipeSz = 1032

// pipeCapacity returns how many bytes the pipe f writes to holds, 0 if
// unknown. Linux gives a pipe 64 KiB, or a single page when the user holds
// too many pipe pages already.
func pipeCapacity(f *os.File) int {
	n, _, errno := syscall.Syscall(syscall.SYS_FCNTL, f.Fd(), fGetPipeSz, 0)
	if errno != 0 {
		return 0
	}
	return int(n)
}
