package shell

import (
	"errors"
	"os"
	"syscall"
)

// pipeBuf is POSIX's PIPE_BUF on Linux: a write of at most this many bytes
// to a pipe is atomic, so a non-blocking one writes all or nothing.
const pipeBuf = 4096

// pageSlack is the room a write leaves unused in a pipe for the page the
// pipe's last unread bytes may not fill: Linux counts a pipe's room in
// pages.
const pageSlack = 4096

// stdinWriter is the host's end of a child's stdin, under the child's
// encoder. Normally it writes as an *os.File does, waiting for room. In
// non-blocking mode (the direct writes of child.send) it writes what fits
// in the pipe at once and keeps the rest, which the next blocking write
// sends first. The child's wmu guards it.
type stdinWriter struct {
	f  *os.File
	rc syscall.RawConn
	// capacity is the pipe's size in bytes, 0 if unknown, which disables
	// non-blocking writes.
	capacity    int
	nonblocking bool
	// rest holds what a non-blocking write left unwritten.
	rest []byte
}

func newStdinWriter(f *os.File) *stdinWriter {
	w := &stdinWriter{f: f}
	if rc, err := f.SyscallConn(); err == nil {
		w.rc, w.capacity = rc, pipeCapacity(rc)
	}
	return w
}

// fits reports whether n more bytes can be written without waiting: the
// pipe's free room is checked against them, and nothing is left over from
// an earlier write.
func (w *stdinWriter) fits(n int) bool {
	switch {
	case w.capacity == 0 || len(w.rest) > 0:
		return false
	case n <= pipeBuf:
		return true // all or nothing: whatever does not fit is kept in rest
	}
	unread := pipeUnread(w.rc)
	return unread >= 0 && n <= w.capacity-unread-pageSlack
}

// unread returns how many bytes written to the pipe its reader has not
// read yet, -1 if unknown. Unlike the other methods, it is safe to call
// without the child's wmu.
func (w *stdinWriter) unread() int {
	if w.rc == nil {
		return -1
	}
	return pipeUnread(w.rc)
}

// leftover reports whether a non-blocking write left bytes unwritten.
func (w *stdinWriter) leftover() bool { return len(w.rest) > 0 }

func (w *stdinWriter) Write(b []byte) (int, error) {
	if !w.nonblocking {
		if err := w.flushRest(); err != nil {
			return 0, err
		}
		return w.f.Write(b)
	}
	n, err := w.tryWrite(b)
	if err != nil {
		return n, err
	}
	w.rest = append(w.rest, b[n:]...)
	return len(b), nil
}

// flushRest writes, waiting for room, what a non-blocking write left.
func (w *stdinWriter) flushRest() error {
	if len(w.rest) == 0 {
		return nil
	}
	_, err := w.f.Write(w.rest)
	if cap(w.rest) > 1<<20 {
		w.rest = nil // do not keep a huge buffer after a huge message
	} else {
		w.rest = w.rest[:0]
	}
	return err
}

// tryWrite makes one write system call, which does not wait: the pipe is
// in non-blocking mode, as os.Pipe leaves it for the runtime's poller.
func (w *stdinWriter) tryWrite(b []byte) (int, error) {
	var n int
	var err error
	cerr := w.rc.Write(func(fd uintptr) bool {
		n, err = syscall.Write(int(fd), b)
		return true // done, whatever happened: never wait
	})
	if cerr != nil {
		return 0, cerr
	}
	if n < 0 {
		n = 0
	}
	if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINTR) {
		err = nil
	}
	return n, err
}
