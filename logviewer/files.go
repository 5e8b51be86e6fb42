package logviewer

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"unicode/utf8"
)

// MaxPathBytes bounds a file name in a request.
const MaxPathBytes = 1024

// Every file is opened through an os.Root on its log directory, so no
// name (.., an absolute path, a symbolic link pointing out) reaches
// anything outside it, whatever the checks below miss. The checks are
// there to refuse early and plainly what is not a log's name at all.

// checkElement checks one element of a path: a file or directory name.
func checkElement(s string) error {
	switch {
	case s == "" || s == "." || s == "..":
		return fmt.Errorf("%w: %q is not a name", ErrBadPath, s)
	case len(s) > 255 || !utf8.ValidString(s):
		return fmt.Errorf("%w: a name must be at most 255 bytes of UTF-8", ErrBadPath)
	case strings.ContainsAny(s, "/\\\x00"):
		return fmt.Errorf("%w: %q holds a separator or NUL", ErrBadPath, s)
	}
	return nil
}

// workerPath checks a worker log's name, "<topology-id>/<port>/<file>",
// and returns its topology.
func workerPath(name string) (topology string, err error) {
	if len(name) > MaxPathBytes {
		return "", fmt.Errorf("%w: longer than %d bytes", ErrBadPath, MaxPathBytes)
	}
	parts := strings.Split(name, "/")
	if len(parts) != 3 {
		return "", fmt.Errorf("%w: %q: want <topology-id>/<port>/<file>", ErrBadPath, name)
	}
	for _, p := range parts {
		if err := checkElement(p); err != nil {
			return "", err
		}
	}
	if _, err := parsePort(parts[1]); err != nil {
		return "", err
	}
	return parts[0], nil
}

// daemonPath checks a daemon log's name: a file directly in its directory.
func daemonPath(name string) error {
	if len(name) > MaxPathBytes {
		return fmt.Errorf("%w: longer than %d bytes", ErrBadPath, MaxPathBytes)
	}
	return checkElement(name)
}

func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(s)
	if err != nil || p <= 0 || p > 65535 || strconv.Itoa(p) != s {
		return 0, fmt.Errorf("%w: port %q: want a number from 1 to 65535", ErrBadPath, s)
	}
	return p, nil
}

// openLog opens the regular file name under dir. Anything that is not one
// (missing, a directory, a device, out of dir) is fs.ErrNotExist, so that
// an answer tells nothing about what lies outside the logs.
func openLog(dir, name string) (*os.File, fs.FileInfo, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("open log directory: %w", err)
	}
	defer root.Close()
	// O_NONBLOCK: a FIFO planted in the directory must not hang the
	// request; it is refused below like any file that is not regular.
	f, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w (%v)", name, fs.ErrNotExist, err)
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("open %s: %w (not a regular file)", name, fs.ErrNotExist)
	}
	// The root keeps links inside the directory, but a link from one
	// topology's logs into another's would read what Authorize allowed
	// for the first only: refuse any link on the way. Checked after the
	// open, against the file opened, so swapping one in meanwhile fails.
	for i := range len(name) {
		if name[i] != '/' && i != len(name)-1 {
			continue
		}
		prefix := name
		if name[i] == '/' {
			prefix = name[:i]
		}
		li, err := root.Lstat(prefix)
		if err != nil || li.Mode()&fs.ModeSymlink != 0 || prefix == name && !os.SameFile(li, fi) {
			f.Close()
			return nil, nil, fmt.Errorf("open %s: %w (a symbolic link on the way)", name, fs.ErrNotExist)
		}
	}
	return f, fi, nil
}

// logFile is a file of a slot's logs.
type logFile struct {
	name string // <topology>/<port>/<file>
	info fs.FileInfo
}

// errTooMany: a listing reached its bound.
var errTooMany = errors.New("too many log files")

// listLogs returns the regular files of the slot directories under dir,
// "<topology>/<port>/<file>", of one topology ("" for every one allowed)
// and one port (0 for every one), at most limit of them. Symbolic links
// are not followed.
func listLogs(dir, topology string, port int, allowed func(topology string) bool, limit int) ([]logFile, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("open log directory: %w", err)
	}
	defer root.Close()
	var topologies []string
	if topology != "" {
		// A directory, not a link to one (to another topology's logs).
		if fi, err := root.Lstat(topology); err != nil || !fi.IsDir() {
			return nil, nil
		}
		topologies = []string{topology}
	} else if topologies, err = subdirs(root, "."); err != nil {
		return nil, err
	}
	var out []logFile
	for _, t := range topologies {
		if checkElement(t) != nil || !allowed(t) {
			continue
		}
		ports, err := subdirs(root, t)
		if err != nil {
			continue // gone meanwhile, or not a directory
		}
		for _, p := range ports {
			if n, err := parsePort(p); err != nil || port != 0 && n != port {
				continue
			}
			files, err := readDir(root, path.Join(t, p))
			if err != nil {
				continue
			}
			for _, e := range files {
				if !e.Type().IsRegular() {
					continue
				}
				info, err := e.Info()
				if err != nil {
					continue
				}
				if len(out) == limit {
					return out, fmt.Errorf("%w: more than %d", errTooMany, limit)
				}
				out = append(out, logFile{name: path.Join(t, p, e.Name()), info: info})
			}
		}
	}
	slices.SortFunc(out, func(a, b logFile) int { return cmp.Compare(a.name, b.name) })
	return out, nil
}

// subdirs returns the names of the directories in dir (not links to any).
func subdirs(root *os.Root, dir string) ([]string, error) {
	entries, err := readDir(root, dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

func readDir(root *os.Root, dir string) ([]fs.DirEntry, error) {
	f, err := root.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadDir(-1)
}

// workerLogs returns a slot's worker logs (worker.log and its rotations,
// but compressed ones), newest first, as Storm's deep search takes them.
func workerLogs(files []logFile) []logFile {
	var out []logFile
	for _, f := range files {
		if base := path.Base(f.name); strings.HasPrefix(base, "worker.log") && !strings.HasSuffix(base, ".gz") {
			out = append(out, f)
		}
	}
	slices.SortStableFunc(out, func(a, b logFile) int { return b.info.ModTime().Compare(a.info.ModTime()) })
	return out
}
