// Package tarball unpacks topology packages (gzip-compressed tar archives
// of a resources/ directory) safely: no entry may leave the destination
// (absolute paths, "..", links pointing out), only regular files,
// directories and relative symlinks inside the tree are created, and the
// sizes are bounded so a hostile archive cannot fill a disk.
package tarball

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// ErrUnsafe is returned, wrapped, for an archive that is malformed,
// tries to escape its destination or passes a limit.
var ErrUnsafe = errors.New("unsafe or invalid package")

// Limits bound what an archive may hold.
type Limits struct {
	// MaxBytes bounds the total size of the unpacked files.
	MaxBytes int64
	// MaxFiles bounds the number of entries.
	MaxFiles int
}

// DefaultLimits are generous for scripts and models, small for a disk.
var DefaultLimits = Limits{MaxBytes: 1 << 30, MaxFiles: 100_000}

// Check reads the whole archive and reports whether Extract would accept
// it, writing nothing.
func Check(r io.Reader, lim Limits) error { return walk(r, lim, nil) }

// Extract unpacks the archive into dir, which must not exist yet or be
// empty. On error dir may hold part of the archive; the caller removes
// it (Extract into a temporary directory, then rename).
func Extract(r io.Reader, dir string, lim Limits) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return walk(r, lim, func(h *tar.Header, name string, body io.Reader) error {
		target := filepath.Join(dir, filepath.FromSlash(name))
		switch h.Typeflag {
		case tar.TypeDir:
			return os.MkdirAll(target, 0o755)
		case tar.TypeSymlink:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			return os.Symlink(h.Linkname, target)
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if h.Mode&0o111 != 0 {
			mode = 0o755
		}
		f, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, body); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	})
}

// walk validates every entry and hands the good ones to create (nil: only
// check).
func walk(r io.Reader, lim Limits, create func(h *tar.Header, name string, body io.Reader) error) error {
	if lim == (Limits{}) {
		lim = DefaultLimits
	}
	zr, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("%w: not a gzip archive: %v", ErrUnsafe, err)
	}
	tr := tar.NewReader(zr)
	var total int64
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
			return fmt.Errorf("%w: more than %d entries", ErrUnsafe, lim.MaxFiles)
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
		if h.Size < 0 || h.Size > lim.MaxBytes-total {
			return fmt.Errorf("%w: unpacked size above %d bytes", ErrUnsafe, lim.MaxBytes)
		}
		total += h.Size
		// Read exactly the declared size: a body longer than its header
		// is not possible in tar, a shorter one is an error of the reader.
		body := io.LimitReader(tr, h.Size)
		if create != nil {
			if err := create(h, name, body); err != nil {
				return fmt.Errorf("unpack %s: %w", h.Name, err)
			}
		} else if _, err := io.Copy(io.Discard, body); err != nil {
			return fmt.Errorf("%w: %v", ErrUnsafe, err)
		}
	}
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

// checkLink accepts a symlink only if it stays inside the tree.
func checkLink(name, target string) error {
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
