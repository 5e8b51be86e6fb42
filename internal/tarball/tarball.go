// Package tarball unpacks topology packages (gzip-compressed tar archives
// of a resources/ directory) safely, on nimbus and on every supervisor.
//
// Nothing an archive holds can be written outside the destination, by
// construction: every file, directory and link is created through an
// os.Root opened on the destination, which refuses any path that resolves
// outside it, however many symlinks the path goes through. On top of that
// the entries are checked by name: absolute paths, "..", hard links,
// devices, fifos and duplicate entries are refused, and so is a symlink
// that is absolute or that, once the tree is unpacked, resolves outside it
// (so that a worker reading the tree later is not led out either).
//
// Limits bound the work an archive may cause: the unpacked size, the
// number of entries and the expansion ratio (unpacked bytes per archive
// byte), so a small hostile upload cannot fill a disk or keep a daemon
// busy creating empty files.
package tarball

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
)

// ErrUnsafe is returned, wrapped, for an archive that is malformed or
// tries to escape its destination.
var ErrUnsafe = errors.New("unsafe or invalid package")

// ErrLimit is returned, wrapped in a *LimitError, for an archive that
// passes one of its Limits.
var ErrLimit = errors.New("package over a limit")

// LimitError says which limit an archive passed.
type LimitError struct {
	// Limit names the limit: "MaxBytes", "MaxFiles" or "MaxRatio".
	Limit string
	// Value is the limit's value.
	Value int64
	msg   string
}

func (e *LimitError) Error() string { return e.msg }
func (e *LimitError) Unwrap() error { return ErrLimit }

// Limits bound what an archive may hold. A zero field takes its default
// (DefaultLimits).
type Limits struct {
	// MaxBytes bounds the total size of the unpacked files.
	MaxBytes int64
	// MaxFiles bounds the number of entries (files, directories, links).
	MaxFiles int
	// MaxRatio bounds the unpacked size per byte of the compressed
	// archive, once the unpacked size is past RatioGrace: a gzip bomb
	// expands a thousandfold, scripts and data rarely more than tenfold.
	MaxRatio int64
}

// RatioGrace is the unpacked size below which MaxRatio does not apply, so
// that a small archive of very compressible files passes.
const RatioGrace = 1 << 20

// DefaultLimits: 1 GiB unpacked, 20,000 entries, 100 times the archive.
var DefaultLimits = Limits{MaxBytes: 1 << 30, MaxFiles: 20_000, MaxRatio: 100}

// WithDefaults returns l with its zero fields set to DefaultLimits'.
func (l Limits) WithDefaults() Limits {
	if l.MaxBytes == 0 {
		l.MaxBytes = DefaultLimits.MaxBytes
	}
	if l.MaxFiles == 0 {
		l.MaxFiles = DefaultLimits.MaxFiles
	}
	if l.MaxRatio == 0 {
		l.MaxRatio = DefaultLimits.MaxRatio
	}
	return l
}

// Validate reports a negative limit.
func (l Limits) Validate() error {
	if l.MaxBytes < 0 || l.MaxFiles < 0 || l.MaxRatio < 0 {
		return fmt.Errorf("package limits %+v: must not be negative", l)
	}
	return nil
}

// Modes of what Extract creates: the tree belongs to the daemon's user
// alone (executables keep an executable bit for that user).
const (
	dirMode  = 0o700
	fileMode = 0o600
	execMode = 0o700
)

// Check reads the whole archive and reports whether Extract would accept
// it by its entries and limits, writing nothing. (Whether its symlinks
// resolve inside the tree is known only once they exist: Extract checks
// that too.)
func Check(r io.Reader, lim Limits) error { return walk(r, lim, nil) }

// Extract unpacks the archive into dir, which must not exist yet or be
// empty. On error dir may hold part of the archive; the caller removes
// it (Extract into a temporary directory, then rename).
func Extract(r io.Reader, dir string, lim Limits) error {
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	var links []string
	err = walk(r, lim, func(h *tar.Header, name string, body io.Reader) error {
		if parent := path.Dir(name); parent != "." {
			if err := root.MkdirAll(parent, dirMode); err != nil {
				return escaped(name, err)
			}
		}
		switch h.Typeflag {
		case tar.TypeDir:
			return escaped(name, root.MkdirAll(name, dirMode))
		case tar.TypeSymlink:
			links = append(links, name)
			return escaped(name, root.Symlink(h.Linkname, name))
		}
		mode := os.FileMode(fileMode)
		if h.Mode&0o111 != 0 {
			mode = execMode
		}
		f, err := root.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
		if err != nil {
			return escaped(name, err)
		}
		if _, err := io.Copy(f, body); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	})
	if err != nil {
		return err
	}
	// A link may be harmless alone and lead out through others (l1 -> .,
	// l1/l2 -> ..): resolve each through the root, which refuses that.
	for _, name := range links {
		if _, err := root.Stat(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: symlink %q resolves outside the package: %v", ErrUnsafe, name, err)
		}
	}
	return nil
}

// escaped turns an os.Root error for an entry into ErrUnsafe: names are
// checked already, and the entries are new (O_EXCL), so such an error
// means the archive led the path out of the root or onto something it
// made before (through a symlink, or under a file). Errors of the system
// (a full disk, no permission) stay as they are.
func escaped(name string, err error) error {
	if err == nil {
		return nil
	}
	for _, sys := range []error{syscall.ENOSPC, syscall.EDQUOT, syscall.EIO, syscall.EROFS,
		syscall.EACCES, syscall.EPERM, syscall.EMFILE, syscall.ENFILE, syscall.ENOMEM} {
		if errors.Is(err, sys) {
			return err
		}
	}
	return fmt.Errorf("%w: cannot create %q inside the package: %v", ErrUnsafe, name, err)
}

// walk validates every entry and hands the good ones to create (nil: only
// check).
func walk(r io.Reader, lim Limits, create func(h *tar.Header, name string, body io.Reader) error) error {
	lim = lim.WithDefaults()
	packed := &countingReader{r: r}
	zr, err := gzip.NewReader(packed)
	if err != nil {
		return fmt.Errorf("%w: not a gzip archive: %v", ErrUnsafe, err)
	}
	tr := tar.NewReader(zr)
	unpacked := &unpackBudget{lim: lim, packed: packed}
	seen := map[string]bool{}
	for n := 0; ; n++ {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %v", ErrUnsafe, err)
		}
		if n >= lim.MaxFiles {
			return &LimitError{Limit: "MaxFiles", Value: int64(lim.MaxFiles),
				msg: fmt.Sprintf("package has more than %d entries", lim.MaxFiles)}
		}
		name, err := cleanName(h.Name)
		if err != nil {
			return err
		}
		if name == "" {
			continue // the archive's root, "./"
		}
		if seen[name] {
			return fmt.Errorf("%w: %q appears twice", ErrUnsafe, h.Name)
		}
		seen[name] = true
		switch h.Typeflag {
		case tar.TypeReg, tar.TypeDir:
		case tar.TypeSymlink:
			if err := checkLink(name, h.Linkname); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%w: %q is a %s, only files, directories and symlinks are allowed",
				ErrUnsafe, h.Name, typeName(h.Typeflag))
		}
		if err := unpacked.declare(h.Size); err != nil {
			return err
		}
		// Read exactly the declared size, counting it against the limits
		// as it comes: the ratio is known only while reading.
		body := &budgetReader{r: io.LimitReader(tr, h.Size), b: unpacked}
		if create != nil {
			if err := create(h, name, body); err != nil {
				if errors.Is(err, ErrLimit) || errors.Is(err, ErrUnsafe) {
					return err
				}
				return fmt.Errorf("unpack %s: %w", name, err)
			}
		} else if _, err := io.Copy(io.Discard, body); err != nil {
			if errors.Is(err, ErrLimit) {
				return err
			}
			return fmt.Errorf("%w: %v", ErrUnsafe, err)
		}
	}
}

// countingReader counts the bytes read through it: the archive's bytes.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// unpackBudget counts unpacked bytes against MaxBytes and MaxRatio.
type unpackBudget struct {
	lim      Limits
	packed   *countingReader
	declared int64 // sizes of the headers seen
	read     int64 // bytes unpacked so far
}

func (b *unpackBudget) declare(size int64) error {
	if size < 0 || size > b.lim.MaxBytes-b.declared {
		return &LimitError{Limit: "MaxBytes", Value: b.lim.MaxBytes,
			msg: fmt.Sprintf("package unpacks to more than %d bytes", b.lim.MaxBytes)}
	}
	b.declared += size
	return nil
}

func (b *unpackBudget) add(n int) error {
	b.read += int64(n)
	if b.read > RatioGrace && b.read/b.lim.MaxRatio > b.packed.n {
		return &LimitError{Limit: "MaxRatio", Value: b.lim.MaxRatio,
			msg: fmt.Sprintf("package unpacks to more than %d times its size (%d bytes from %d so far)",
				b.lim.MaxRatio, b.read, b.packed.n)}
	}
	return nil
}

// budgetReader is an entry's body, counted against the budget.
type budgetReader struct {
	r io.Reader
	b *unpackBudget
}

func (br *budgetReader) Read(p []byte) (int, error) {
	n, err := br.r.Read(p)
	if lerr := br.b.add(n); lerr != nil {
		return n, lerr
	}
	return n, err
}

// cleanName returns an entry's path relative to the archive root, or an
// error if it would leave it.
func cleanName(name string) (string, error) {
	if strings.ContainsRune(name, 0) || strings.Contains(name, `\`) {
		return "", fmt.Errorf("%w: bad entry name %q", ErrUnsafe, name)
	}
	if path.IsAbs(name) {
		return "", fmt.Errorf("%w: absolute path %q", ErrUnsafe, name)
	}
	clean := path.Clean(name)
	if clean == "." {
		return "", nil
	}
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("%w: %q leaves the package", ErrUnsafe, name)
	}
	return clean, nil
}

// checkLink refuses a symlink that is absolute or points out of the tree
// by its name alone; Extract resolves the others once they exist.
func checkLink(name, target string) error {
	if target == "" || strings.ContainsRune(target, 0) {
		return fmt.Errorf("%w: symlink %q has a bad target %q", ErrUnsafe, name, target)
	}
	if path.IsAbs(target) {
		return fmt.Errorf("%w: symlink %q points to the absolute path %q", ErrUnsafe, name, target)
	}
	resolved := path.Join(path.Dir(name), target)
	if resolved == ".." || strings.HasPrefix(resolved, "../") {
		return fmt.Errorf("%w: symlink %q points out of the package (%q)", ErrUnsafe, name, target)
	}
	return nil
}

func typeName(t byte) string {
	switch t {
	case tar.TypeLink:
		return "hard link"
	case tar.TypeChar, tar.TypeBlock:
		return "device"
	case tar.TypeFifo:
		return "fifo"
	}
	return fmt.Sprintf("entry of type %q", t)
}

// Create writes a gzip-compressed tar archive of dir's contents to w, as
// squall submit packages a resources/ directory. Entries are sorted so
// the same tree gives the same archive.
func Create(w io.Writer, dir string) error {
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&os.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		} else if !info.Mode().IsRegular() && !info.IsDir() {
			return nil // sockets, devices: not part of a package
		}
		h, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if info.IsDir() {
			h.Name += "/"
		}
		h.Uname, h.Gname, h.Uid, h.Gid = "", "", 0, 0
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(tw, f)
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("package %s: %w", dir, err)
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}
