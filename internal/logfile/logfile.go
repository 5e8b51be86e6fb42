// Package logfile writes squall's log files so that they cannot fill a
// disk: each is rotated by size, keeping a bounded number of compressed
// backups (gopkg.in/natefinch/lumberjack.v2 does the rotation). Daemons
// log into one with Open; a worker process sends everything it writes to
// its standard output and error there with Capture, since its shell
// children's output and the prints of Go components arrive there too.
package logfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"syscall"

	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/squallstream/squall/topology"
)

// Configuration keys of the rotation (squall's; Storm configures log4j's
// rolling appenders in its XML files instead).
const (
	// KeyMaxSizeMB is the size in MiB at which a log file is rotated.
	KeyMaxSizeMB = "squall.log.max.size.mb"
	// KeyMaxBackups is how many rotated files of a log are kept.
	KeyMaxBackups = "squall.log.max.backups"
)

// Rotation says when a log file is rotated and what is kept.
type Rotation struct {
	// MaxSizeMB is the size in MiB at which the file is rotated.
	MaxSizeMB int
	// MaxBackups is how many rotated files are kept, compressed.
	MaxBackups int
}

// DefaultRotation is Storm's for its worker and daemon logs: 100 MB files,
// 9 backups.
var DefaultRotation = Rotation{MaxSizeMB: 100, MaxBackups: 9}

// MaxBytes is the most a log and its backups hold, uncompressed.
func (r Rotation) MaxBytes() int64 { return int64(r.MaxSizeMB) << 20 * int64(r.MaxBackups+1) }

// RotationOf reads the rotation from conf, DefaultRotation for what it
// does not set; the error names a key whose value is not a positive
// integer (backups may be 0).
func RotationOf(conf topology.Config) (Rotation, error) {
	r := DefaultRotation
	for _, k := range []struct {
		key string
		dst *int
		min int
	}{{KeyMaxSizeMB, &r.MaxSizeMB, 1}, {KeyMaxBackups, &r.MaxBackups, 0}} {
		v, ok := conf[k.key]
		if !ok || v == nil {
			continue
		}
		// Type-checked as a key topology knows to be an integer.
		asInt := topology.Config{topology.KeyWorkers: v}
		if topology.CheckConfig(asInt) != nil || asInt.Int(topology.KeyWorkers, 0) < k.min {
			return r, fmt.Errorf("config: %s: %v is not an integer of at least %d", k.key, v, k.min)
		}
		*k.dst = asInt.Int(topology.KeyWorkers, 0)
	}
	return r, nil
}

// Modes of log files and their directories: the daemon's user reads and
// writes them, its group reads them.
const (
	DirMode  = 0o700
	FileMode = 0o640
)

// Open returns a writer appending to the log file at path, rotated as r
// says. Its directory is made if missing. Close the writer when done.
func Open(path string, r Rotation) (io.WriteCloser, error) {
	if err := os.MkdirAll(filepath.Dir(path), DirMode); err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	// Created here with its mode: lumberjack keeps the mode of the file
	// it rotates.
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, FileMode)
	if err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	f.Close()
	return &lumberjack.Logger{
		Filename:   path,
		MaxSize:    r.MaxSizeMB,
		MaxBackups: r.MaxBackups,
		Compress:   true,
	}, nil
}

// maxLine bounds a line Capture copies whole; a longer one is copied in
// pieces.
const maxLine = 64 << 10

// Capture makes the process's standard output and error (file descriptors
// 1 and 2, so everything written there: prints, a library's logging) go
// into the rotated log file at path, line by line, through a pipe. It
// returns the log's writer too, for the process's own logger: a line
// written there is in the file when Write returns, while one written to
// descriptor 1 or 2 just before the process crashes may never leave the
// pipe. What descriptor 2 pointed to before (the file a supervisor opened)
// receives the runtime's crash reports (debug.SetCrashOutput), since a
// crashing process cannot copy its last words itself. stop puts the
// descriptors back, copies what is left and closes the log; call it
// before the process exits.
func Capture(path string, r Rotation) (w io.Writer, stop func() error, err error) {
	log, err := Open(path, r)
	if err != nil {
		return nil, nil, err
	}
	// Keep the original descriptors, for crash reports and for stop.
	origOut, err := syscall.Dup(1)
	if err != nil {
		log.Close()
		return nil, nil, fmt.Errorf("capture output: %w", err)
	}
	origErr, err := syscall.Dup(2)
	if err != nil {
		syscall.Close(origOut)
		log.Close()
		return nil, nil, fmt.Errorf("capture output: %w", err)
	}
	crash := os.NewFile(uintptr(origErr), "stderr")
	pr, pw, err := os.Pipe()
	if err == nil {
		if err = syscall.Dup3(int(pw.Fd()), 1, 0); err == nil {
			err = syscall.Dup3(int(pw.Fd()), 2, 0)
		}
	}
	if err != nil {
		syscall.Dup3(origOut, 1, 0)
		syscall.Dup3(origErr, 2, 0)
		for _, c := range []io.Closer{pr, pw, log, crash} {
			if c != nil {
				c.Close()
			}
		}
		syscall.Close(origOut)
		return nil, nil, fmt.Errorf("capture output: %w", err)
	}
	pw.Close() // descriptors 1 and 2 hold the pipe now
	_ = debug.SetCrashOutput(crash, debug.CrashOptions{})

	var wg sync.WaitGroup
	var copyErr error
	wg.Go(func() { copyErr = copyLines(log, pr) })
	var once sync.Once
	var stopErr error
	stop = func() error {
		once.Do(func() {
			_ = debug.SetCrashOutput(nil, debug.CrashOptions{})
			// Putting the original descriptors back closes the pipe's
			// last write ends: the copy reads to its end.
			e1 := syscall.Dup3(origOut, 1, 0)
			e2 := syscall.Dup3(origErr, 2, 0)
			wg.Wait()
			stopErr = errors.Join(e1, e2, copyErr, pr.Close(), log.Close(), crash.Close(), syscall.Close(origOut))
		})
		return stopErr
	}
	return log, stop, nil
}

// copyLines copies r to w a line at a time, so that lines from several
// writers of the pipe stay whole in the log.
func copyLines(w io.Writer, r io.Reader) error {
	br := bufio.NewReaderSize(r, maxLine)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			if _, werr := w.Write(line); werr != nil {
				// Keep reading: a writer blocked on a full pipe would hang
				// the process.
				io.Copy(io.Discard, br)
				return werr
			}
		}
		switch {
		case err == nil, errors.Is(err, bufio.ErrBufferFull):
		case errors.Is(err, io.EOF):
			return nil
		default:
			return err
		}
	}
}
