package tarball

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type entry struct {
	name, body, link string
	typ              byte
	mode             int64
}

func archive(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		if err := tw.WriteHeader(&tar.Header{Name: e.name, Typeflag: typ, Size: int64(len(e.body)), Linkname: e.link, Mode: mode}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(e.body))
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func TestExtract(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	data := archive(t,
		entry{name: "./", typ: tar.TypeDir},
		entry{name: "split.py", body: "print(1)\n"},
		entry{name: "bin/", typ: tar.TypeDir},
		entry{name: "bin/run.sh", body: "#!/bin/sh\n", mode: 0o755},
		entry{name: "lib/model.txt", body: "weights"},
		entry{name: "current", typ: tar.TypeSymlink, link: "lib/model.txt"},
	)
	if err := Check(bytes.NewReader(data), Limits{}); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if err := Extract(bytes.NewReader(data), dir, Limits{}); err != nil {
		t.Fatalf("Extract: %v", err)
	}
	for name, want := range map[string]string{"split.py": "print(1)\n", "lib/model.txt": "weights", "current": "weights"} {
		if got, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", name, got, err, want)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "bin/run.sh")); err != nil || fi.Mode()&0o111 == 0 {
		t.Errorf("bin/run.sh lost its executable bit: %v %v", fi.Mode(), err)
	}
}

// TestRejects tries every way out of the destination an archive has, and
// every limit: each is refused with ErrUnsafe or ErrLimit, by Check (when
// it can tell from the entries) and by Extract, and nothing is written
// outside the destination.
func TestRejects(t *testing.T) {
	tests := []struct {
		name    string
		entries []entry
		lim     Limits
		// extractOnly: the entries look harmless one by one; only
		// creating them shows where they lead.
		extractOnly bool
		want        error
		mention     string
	}{
		{name: "parent path", entries: []entry{{name: "../X", body: "x"}}, want: ErrUnsafe, mention: "leaves the package"},
		{name: "nested parent path", entries: []entry{{name: "a/../../X", body: "x"}}, want: ErrUnsafe, mention: "leaves the package"},
		{name: "absolute path", entries: []entry{{name: "/tmp/X", body: "x"}}, want: ErrUnsafe, mention: "absolute path"},
		{name: "symlink out", entries: []entry{{name: "link", typ: tar.TypeSymlink, link: "../../etc/passwd"}}, want: ErrUnsafe, mention: "points out"},
		{name: "symlink to parent", entries: []entry{{name: "up", typ: tar.TypeSymlink, link: ".."}, {name: "up/X", body: "x"}}, want: ErrUnsafe, mention: "points out"},
		{name: "absolute symlink", entries: []entry{{name: "link", typ: tar.TypeSymlink, link: "/etc/passwd"}}, want: ErrUnsafe, mention: "absolute path"},
		{name: "absolute symlink dir", entries: []entry{{name: "tmp", typ: tar.TypeSymlink, link: "/tmp"}, {name: "tmp/X", body: "x"}}, want: ErrUnsafe, mention: "absolute path"},
		{name: "empty symlink", entries: []entry{{name: "link", typ: tar.TypeSymlink}}, want: ErrUnsafe, mention: "bad target"},
		{name: "hard link", entries: []entry{{name: "a", body: "x"}, {name: "b", typ: tar.TypeLink, link: "a"}}, want: ErrUnsafe, mention: "hard link"},
		{name: "hard link out", entries: []entry{{name: "b", typ: tar.TypeLink, link: "/etc/passwd"}}, want: ErrUnsafe, mention: "hard link"},
		{name: "char device", entries: []entry{{name: "dev", typ: tar.TypeChar}}, want: ErrUnsafe, mention: "device"},
		{name: "block device", entries: []entry{{name: "dev", typ: tar.TypeBlock}}, want: ErrUnsafe, mention: "device"},
		{name: "fifo", entries: []entry{{name: "pipe", typ: tar.TypeFifo}}, want: ErrUnsafe, mention: "fifo"},
		{name: "duplicate", entries: []entry{{name: "a", body: "x"}, {name: "./a", body: "y"}}, want: ErrUnsafe, mention: "twice"},
		{name: "duplicate dir and file", entries: []entry{{name: "a/", typ: tar.TypeDir}, {name: "a", body: "y"}}, want: ErrUnsafe, mention: "twice"},
		// Issue 11: each link stays inside by its name, the chain does not.
		{name: "symlink chain", extractOnly: true, want: ErrUnsafe, entries: []entry{
			{name: "l1", typ: tar.TypeSymlink, link: "."},
			{name: "l1/l2", typ: tar.TypeSymlink, link: ".."},
			{name: "l2/l3", typ: tar.TypeSymlink, link: ".."},
			{name: "l2/l3/X", body: "escaped"},
		}},
		{name: "symlink chain without a file", extractOnly: true, want: ErrUnsafe, mention: "resolves outside", entries: []entry{
			{name: "l1", typ: tar.TypeSymlink, link: "."},
			{name: "l1/l2", typ: tar.TypeSymlink, link: ".."},
		}},
		{name: "file through a link onto another", extractOnly: true, want: ErrUnsafe, entries: []entry{
			{name: "a", body: "first"},
			{name: "d/", typ: tar.TypeDir},
			{name: "l", typ: tar.TypeSymlink, link: "."},
			{name: "l/a", body: "second"},
		}},
		{name: "file under a file", extractOnly: true, want: ErrUnsafe, entries: []entry{
			{name: "a", body: "x"},
			{name: "a/b", body: "y"},
		}},
		{name: "symlink loop", extractOnly: true, want: ErrUnsafe, mention: "resolves outside", entries: []entry{
			{name: "a", typ: tar.TypeSymlink, link: "b"},
			{name: "b", typ: tar.TypeSymlink, link: "a"},
		}},
		{name: "too big", entries: []entry{{name: "a", body: strings.Repeat("x", 100)}}, lim: Limits{MaxBytes: 50}, want: ErrLimit, mention: "more than 50 bytes"},
		{name: "too many", entries: []entry{{name: "a"}, {name: "b"}, {name: "c"}}, lim: Limits{MaxFiles: 2}, want: ErrLimit, mention: "more than 2 entries"},
		{name: "bomb", entries: []entry{{name: "zeros", body: strings.Repeat("\x00", 8<<20)}}, want: ErrLimit, mention: "100 times"},
		{name: "bomb in small files", entries: manyZeroFiles(40, 256<<10), lim: Limits{MaxRatio: 10}, want: ErrLimit, mention: "10 times"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := archive(t, tt.entries...)
			err := Check(bytes.NewReader(data), tt.lim)
			switch {
			case tt.extractOnly && err != nil:
				t.Errorf("Check = %v, want nil: each entry alone is harmless", err)
			case !tt.extractOnly && (!errors.Is(err, tt.want) || !strings.Contains(fmt.Sprint(err), tt.mention)):
				t.Errorf("Check = %v, want %v mentioning %q", err, tt.want, tt.mention)
			}
			parent := t.TempDir()
			err = Extract(bytes.NewReader(data), filepath.Join(parent, "out"), tt.lim)
			if !errors.Is(err, tt.want) || !strings.Contains(fmt.Sprint(err), tt.mention) {
				t.Errorf("Extract = %v, want %v mentioning %q", err, tt.want, tt.mention)
			}
			if strings.Contains(fmt.Sprint(err), parent) {
				t.Errorf("Extract = %v: names the destination's directory", err)
			}
			wantOnlyOut(t, parent)
		})
	}
	if err := Check(strings.NewReader("not gzip"), Limits{}); !errors.Is(err, ErrUnsafe) {
		t.Errorf("Check(not gzip) = %v", err)
	}
}

// wantOnlyOut fails if parent holds anything but out, or a file named X
// (what the escapes try to write) exists anywhere around it.
func wantOnlyOut(t *testing.T, parent string) {
	t.Helper()
	entries, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "out" {
			t.Errorf("%s was written outside the destination", e.Name())
		}
	}
	if _, err := os.Lstat(filepath.Join(filepath.Dir(parent), "X")); err == nil {
		t.Errorf("X was written next to the destination's parent")
	}
}

func manyZeroFiles(n, size int) []entry {
	var out []entry
	for i := range n {
		out = append(out, entry{name: fmt.Sprintf("z%03d", i), body: strings.Repeat("\x00", size)})
	}
	return out
}

func TestLimitErrorNamesTheLimit(t *testing.T) {
	for _, tt := range []struct {
		entries []entry
		lim     Limits
		want    string
	}{
		{[]entry{{name: "a", body: "xx"}}, Limits{MaxBytes: 1}, "MaxBytes"},
		{[]entry{{name: "a"}, {name: "b"}}, Limits{MaxFiles: 1}, "MaxFiles"},
		{[]entry{{name: "a", body: strings.Repeat("\x00", 4<<20)}}, Limits{MaxRatio: 2}, "MaxRatio"},
	} {
		err := Check(bytes.NewReader(archive(t, tt.entries...)), tt.lim)
		le, ok := errors.AsType[*LimitError](err)
		if !ok || le.Limit != tt.want {
			t.Errorf("Check(%+v) = %v, want a LimitError of %s", tt.lim, err, tt.want)
		}
	}
}

// TestRatioGrace: a small archive of very compressible files passes the
// ratio, which is for bombs, not for a megabyte of zeros.
func TestRatioGrace(t *testing.T) {
	data := archive(t, entry{name: "zeros", body: strings.Repeat("\x00", RatioGrace)})
	if err := Extract(bytes.NewReader(data), filepath.Join(t.TempDir(), "out"), Limits{MaxRatio: 2}); err != nil {
		t.Errorf("Extract = %v, want nil below RatioGrace", err)
	}
}

// TestModes: what Extract makes belongs to the daemon's user alone.
func TestModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	data := archive(t,
		entry{name: "lib/", typ: tar.TypeDir, mode: 0o777},
		entry{name: "lib/data.txt", body: "d", mode: 0o666},
		entry{name: "run.sh", body: "#!/bin/sh\n", mode: 0o777},
	)
	if err := Extract(bytes.NewReader(data), dir, Limits{}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]os.FileMode{".": 0o700, "lib": 0o700, "lib/data.txt": 0o600, "run.sh": 0o700} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v (%v), want %v", name, fi.Mode().Perm(), err, want)
		}
	}
}

// TestLinksInside: links that stay inside, through other links too, are
// kept; a dangling one inside is kept as it is.
func TestLinksInside(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	data := archive(t,
		entry{name: "lib/v1/model.txt", body: "weights"},
		entry{name: "lib/current", typ: tar.TypeSymlink, link: "v1"},
		entry{name: "model", typ: tar.TypeSymlink, link: "lib/current/model.txt"},
		entry{name: "here", typ: tar.TypeSymlink, link: "."},
		entry{name: "here/extra.txt", body: "extra"},
		entry{name: "later", typ: tar.TypeSymlink, link: "lib/not-yet"},
	)
	if err := Extract(bytes.NewReader(data), dir, Limits{}); err != nil {
		t.Fatalf("Extract: %v", err)
	}
	for name, want := range map[string]string{"model": "weights", "extra.txt": "extra"} {
		if got, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", name, got, err, want)
		}
	}
}

func TestCreateRoundTrip(t *testing.T) {
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "sub"), 0o755)
	os.WriteFile(filepath.Join(src, "a.py"), []byte("a"), 0o644)
	os.WriteFile(filepath.Join(src, "sub", "b.sh"), []byte("b"), 0o755)
	os.Symlink("a.py", filepath.Join(src, "link"))
	var buf bytes.Buffer
	if err := Create(&buf, src); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "out")
	if err := Extract(bytes.NewReader(buf.Bytes()), dst, Limits{}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"a.py": "a", "sub/b.sh": "b", "link": "a"} {
		if got, err := os.ReadFile(filepath.Join(dst, name)); err != nil || string(got) != want {
			t.Errorf("%s = %q, %v", name, got, err)
		}
	}
}
