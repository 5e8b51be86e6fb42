package shell

import (
	"os"
	"syscall"
	"unsafe"
)

// quietTerminal turns off echo and signal keys on terminal f.
func quietTerminal(f *os.File) error {
	var t syscall.Termios
	fd := f.Fd()
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TCGETS, uintptr(unsafe.Pointer(&t))); e != 0 {
		return e
	}
	t.Lflag &^= syscall.ECHO | syscall.ECHONL | syscall.ISIG
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TCSETS, uintptr(unsafe.Pointer(&t))); e != 0 {
		return e
	}
	return nil
}
