package supervisor

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/squallstream/squall/internal/layout"
	"github.com/squallstream/squall/internal/logfile"
)

// Worker logs, under logs/<storm-id>/<port>/:
//
//	worker.log           the worker's output (logs, its children's stderr,
//	                     what its components print), written and rotated by
//	                     the worker itself (logfile.Capture): worker-<time>.log.gz
//	                     are its backups
//	worker.log.err       what the worker wrote before it took over its own
//	                     output, and the runtime's crash reports: the file the
//	                     supervisor opens for its standard output and error,
//	                     moved to worker.log.err.1 at a launch once it passes
//	                     maxEarlyLogBytes
//
// Both are "active" (Storm's word): the cleaner never removes them, only
// backups, as Storm's logviewer removes rotated files and not worker.log.

// earlyLogSuffix names a slot's early output file after its worker.log.
const earlyLogSuffix = ".err"

// maxEarlyLogBytes is the size past which a launch moves the early output
// file aside (keeping one older file).
const maxEarlyLogBytes = 1 << 20

// earlyLog returns the path of a slot's early output file.
func earlyLog(localDir, stormID string, port int) string {
	return layout.WorkerLog(localDir, stormID, port) + earlyLogSuffix
}

// openEarlyLog opens a slot's early output file for appending, for a
// worker's standard output and error, after moving it aside if it has
// grown past maxEarlyLogBytes: across restarts it holds at most about
// twice that.
func openEarlyLog(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), logfile.DirMode); err != nil {
		return nil, err
	}
	if fi, err := os.Lstat(path); err == nil && fi.Size() > maxEarlyLogBytes {
		if err := os.Rename(path, path+".1"); err != nil {
			return nil, err
		}
	}
	// Never through a link, symbolic or hard: the directory is the
	// worker's own when it runs as its topology's owner.
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, logfile.FileMode)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !fi.Mode().IsRegular() || ok && st.Nlink != 1 {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file of its own (a link to another file?): not writing to it", path)
	}
	return f, nil
}

// workerLogTail returns the end of a slot's log: its early output file's
// (where a crash is reported) when that changed after since, else
// worker.log's.
func workerLogTail(localDir, stormID string, port int, since time.Time) string {
	early := earlyLog(localDir, stormID, port)
	if fi, err := os.Stat(early); err == nil && fi.Size() > 0 && !fi.ModTime().Before(since) {
		return logTail(early)
	}
	return logTail(layout.WorkerLog(localDir, stormID, port))
}

// isActiveLog reports whether a file of a slot's log directory is written
// to: worker.log and the early output file, which the cleaner keeps.
func isActiveLog(name string) bool {
	const current = "worker.log"
	return name == current || name == current+earlyLogSuffix
}

// logLimits bound the worker logs of a node, as Storm's logviewer cleaner
// does with its keys.
type logLimits struct {
	// maxAge: the log directory of a slot no worker runs any more, not
	// written for this long, goes (logviewer.cleanup.age.mins).
	maxAge time.Duration
	// maxPerWorker bounds one slot's directory: past it, its oldest
	// rotated files go (logviewer.max.per.worker.logs.size.mb).
	maxPerWorker int64
	// maxTotal bounds all worker logs: past it, the directories of dead
	// slots go, least recently written first, then the oldest rotated
	// files of live ones (logviewer.max.sum.worker.logs.size.mb).
	maxTotal int64
}

// pruneLogs applies lim to the log directories under root
// (layout.LogsRoot), as Storm's logviewer cleaner does, in its order:
//  1. directories of slots for which live is false, not written for
//     maxAge, go whole;
//  2. in each slot's directory over maxPerWorker, the oldest files that
//     are not active go until it fits;
//  3. while all worker logs exceed maxTotal, dead slots' directories go,
//     least recently written first, then the oldest files of live slots
//     that are not active.
//
// A live slot's active files are never removed: a worker writes them.
// Entries that are not <storm-id>/<port> directories are left alone. It
// returns what it removed; an error stops nothing but is returned,
// joined.
func pruneLogs(root string, live func(stormID string, port int) bool, now time.Time, lim logLimits) ([]string, error) {
	slots, errs := listSlotLogs(root)
	var removed []string
	remove := func(path string) bool {
		if err := os.RemoveAll(path); err != nil {
			errs = append(errs, err)
			return false
		}
		removed = append(removed, path)
		return true
	}
	removeSlot := func(s *slotLogs) {
		if remove(s.dir) {
			s.files, s.bytes = nil, 0
			os.Remove(filepath.Dir(s.dir)) // the topology's directory, once empty
		}
	}

	for i := range slots {
		s := &slots[i]
		s.live = live(s.stormID, s.port)
		if !s.live && now.Sub(s.written()) >= lim.maxAge {
			removeSlot(s)
		}
	}
	for i := range slots {
		s := &slots[i]
		for _, f := range s.oldestInactive() {
			if s.bytes <= lim.maxPerWorker {
				break
			}
			if remove(f.path) {
				s.drop(f)
			}
		}
	}

	total := int64(0)
	var dead []*slotLogs
	for i := range slots {
		total += slots[i].bytes
		if !slots[i].live && len(slots[i].files) > 0 {
			dead = append(dead, &slots[i])
		}
	}
	slices.SortFunc(dead, func(a, b *slotLogs) int { return a.written().Compare(b.written()) })
	for _, s := range dead {
		if total <= lim.maxTotal {
			break
		}
		total -= s.bytes
		removeSlot(s)
	}
	if total > lim.maxTotal {
		var files []logFile
		for i := range slots {
			files = append(files, slots[i].oldestInactive()...)
		}
		slices.SortFunc(files, func(a, b logFile) int { return a.modified.Compare(b.modified) })
		for _, f := range files {
			if total <= lim.maxTotal {
				break
			}
			if remove(f.path) {
				total -= f.size
			}
		}
	}
	return removed, errors.Join(errs...)
}

// slotLogs is one slot's log directory, logs/<storm-id>/<port>.
type slotLogs struct {
	stormID string
	port    int
	dir     string
	live    bool
	files   []logFile
	bytes   int64
}

type logFile struct {
	path     string
	size     int64
	modified time.Time
	active   bool
}

// written returns when the slot's log was last written: its newest file's
// modification time.
func (s *slotLogs) written() time.Time {
	var t time.Time
	for _, f := range s.files {
		if f.modified.After(t) {
			t = f.modified
		}
	}
	return t
}

// oldestInactive returns the files that are not active, oldest first.
func (s *slotLogs) oldestInactive() []logFile {
	var out []logFile
	for _, f := range s.files {
		if !f.active {
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b logFile) int {
		return cmp.Or(a.modified.Compare(b.modified), strings.Compare(a.path, b.path))
	})
	return out
}

func (s *slotLogs) drop(f logFile) {
	s.files = slices.DeleteFunc(s.files, func(g logFile) bool { return g.path == f.path })
	s.bytes -= f.size
}

// listSlotLogs returns the slot log directories under root.
func listSlotLogs(root string) ([]slotLogs, []error) {
	topologies, err := os.ReadDir(root)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, []error{err}
	}
	var slots []slotLogs
	var errs []error
	for _, t := range topologies {
		if !t.IsDir() {
			continue
		}
		ports, err := os.ReadDir(filepath.Join(root, t.Name()))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, p := range ports {
			port, err := strconv.Atoi(p.Name())
			if !p.IsDir() || err != nil || port <= 0 {
				continue
			}
			s := slotLogs{stormID: t.Name(), port: port, dir: filepath.Join(root, t.Name(), p.Name())}
			err = filepath.WalkDir(s.dir, func(path string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				info, err := d.Info()
				if err != nil {
					return err
				}
				s.files = append(s.files, logFile{path: path, size: info.Size(), modified: info.ModTime(),
					active: filepath.Dir(path) == s.dir && isActiveLog(d.Name())})
				s.bytes += info.Size()
				return nil
			})
			if err != nil {
				errs = append(errs, err)
				continue
			}
			slots = append(slots, s)
		}
	}
	return slots, errs
}
