package supervisor

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// slotLogs is one slot's log directory, logs/<storm-id>/<port>.
type slotLogs struct {
	stormID string
	port    int
	dir     string
	written time.Time // the newest file's modification time
	bytes   int64
}

// pruneLogs removes log directories under root (layout.LogsRoot) of slots
// for which live is false, as Storm's logviewer cleaner does: those not
// written to for maxAge, then, while all worker logs together exceed
// maxBytes, the least recently written. A live slot's log is never
// removed: a worker may be writing it, or be about to again. Entries that
// are not <storm-id>/<port> directories are left alone. It returns the
// directories removed; an error stops nothing but is returned, joined.
func pruneLogs(root string, live func(stormID string, port int) bool, now time.Time, maxAge time.Duration, maxBytes int64) ([]string, error) {
	slots, errs := listSlotLogs(root)
	var total int64
	var dead []slotLogs
	for _, s := range slots {
		total += s.bytes
		if !live(s.stormID, s.port) {
			dead = append(dead, s)
		}
	}
	slices.SortFunc(dead, func(a, b slotLogs) int { return a.written.Compare(b.written) })
	var removed []string
	for _, s := range dead {
		if now.Sub(s.written) < maxAge && total <= maxBytes {
			break // the rest are newer, and there is room
		}
		if err := os.RemoveAll(s.dir); err != nil {
			errs = append(errs, err)
			continue
		}
		total -= s.bytes
		removed = append(removed, s.dir)
		os.Remove(filepath.Dir(s.dir)) // the topology's directory, once empty
	}
	return removed, errors.Join(errs...)
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
			err = filepath.WalkDir(s.dir, func(_ string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				info, err := d.Info()
				if err != nil {
					return err
				}
				s.bytes += info.Size()
				if info.ModTime().After(s.written) {
					s.written = info.ModTime()
				}
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
