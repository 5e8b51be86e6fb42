package tarball

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
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

func TestRejects(t *testing.T) {
	tests := []struct {
		name    string
		entries []entry
		lim     Limits
		mention string
	}{
		{"parent path", []entry{{name: "../evil.sh", body: "x"}}, Limits{}, "leaves the package"},
		{"nested parent path", []entry{{name: "a/../../evil.sh", body: "x"}}, Limits{}, "leaves the package"},
		{"absolute path", []entry{{name: "/etc/passwd", body: "x"}}, Limits{}, "absolute path"},
		{"symlink out", []entry{{name: "link", typ: tar.TypeSymlink, link: "../../etc/passwd"}}, Limits{}, "points out"},
		{"absolute symlink", []entry{{name: "link", typ: tar.TypeSymlink, link: "/etc/passwd"}}, Limits{}, "absolute path"},
		{"hard link", []entry{{name: "a", body: "x"}, {name: "b", typ: tar.TypeLink, link: "a"}}, Limits{}, "hard link"},
		{"device", []entry{{name: "dev", typ: tar.TypeChar}}, Limits{}, "device"},
		{"duplicate", []entry{{name: "a", body: "x"}, {name: "./a", body: "y"}}, Limits{}, "twice"},
		{"too big", []entry{{name: "a", body: strings.Repeat("x", 100)}}, Limits{MaxBytes: 50, MaxFiles: 10}, "unpacked size"},
		{"too many", []entry{{name: "a"}, {name: "b"}, {name: "c"}}, Limits{MaxBytes: 1 << 20, MaxFiles: 2}, "more than 2 entries"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := archive(t, tt.entries...)
			err := Check(bytes.NewReader(data), tt.lim)
			if !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("Check = %v, want ErrUnsafe mentioning %q", err, tt.mention)
			}
			parent := t.TempDir()
			if err := Extract(bytes.NewReader(data), filepath.Join(parent, "out"), tt.lim); !errors.Is(err, ErrUnsafe) {
				t.Errorf("Extract = %v, want ErrUnsafe", err)
			}
			if _, err := os.Stat(filepath.Join(parent, "evil.sh")); err == nil {
				t.Errorf("a file was written outside the destination")
			}
		})
	}
	if err := Check(strings.NewReader("not gzip"), Limits{}); !errors.Is(err, ErrUnsafe) {
		t.Errorf("Check(not gzip) = %v", err)
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
