package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
)

// terminalColumns returns a function that reads f's width, 0 when f is not
// a terminal. It is read at every redraw, so resizing the window works.
func terminalColumns(f *os.File) func() int {
	return func() int {
		_, cols, err := pty.Getsize(f)
		if err != nil {
			return 0
		}
		return cols
	}
}

// sameTerminal reports whether a and b are the same terminal device.
func sameTerminal(a, b *os.File) bool {
	if !isTerminal(a) || !isTerminal(b) {
		return false
	}
	sa, errA := a.Stat()
	sb, errB := b.Stat()
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

// captureStdout makes what this process (and its children) writes to
// file descriptor 1 go to w, line by line, until restore is called.
// squall local needs it while its live table is on the terminal: Go
// components print to os.Stdout (squall.TopN, squall.Log, fmt.Println in
// a user's component), and a line printed behind the table's back would be
// erased at its next redraw. restore puts the terminal back on fd 1 after
// every captured byte has reached w.
func captureStdout(w io.Writer) (restore func(), err error) {
	saved, err := syscall.Dup(1)
	if err != nil {
		return nil, fmt.Errorf("capture stdout: %w", err)
	}
	r, pw, err := os.Pipe()
	if err != nil {
		syscall.Close(saved)
		return nil, fmt.Errorf("capture stdout: %w", err)
	}
	if err := syscall.Dup3(int(pw.Fd()), 1, 0); err != nil {
		syscall.Close(saved)
		r.Close()
		pw.Close()
		return nil, fmt.Errorf("capture stdout: %w", err)
	}
	pw.Close() // fd 1 holds the pipe's write end now
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		br := bufio.NewReaderSize(r, 64<<10)
		for {
			line, err := br.ReadSlice('\n')
			if len(line) > 0 {
				w.Write(line)
			}
			if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
				return
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			// Putting the terminal back on fd 1 closes the pipe's last
			// write end (children write to their own pipes): the copy
			// ends at its end.
			syscall.Dup3(saved, 1, 0)
			syscall.Close(saved)
			select {
			case <-copied:
			case <-time.After(2 * time.Second):
				// A grandchild holds the pipe open: stop copying.
			}
			r.Close()
		})
	}, nil
}
