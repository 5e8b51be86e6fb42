package layout

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestReadFileRefusesWhatIsNotARegularFile: what a worker's user may put
// in its directory in place of a file the supervisor reads, a fifo, a
// link or a large file, is refused at once, never read or waited on.
func TestReadFileRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "worker.yaml")
	if err := os.WriteFile(regular, []byte("a: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(regular, link); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		limit      int64
		want       string // in the error; "" for the file's bytes
	}{
		{"a regular file", regular, 5, ""},
		{"a fifo", fifo, 5, "not a regular file"},
		{"a symbolic link", link, 5, "symbolic link"},
		{"over the limit", regular, 4, "at most 4 bytes"},
		{"missing", filepath.Join(dir, "none"), 5, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, fi, err := ReadFile(tt.path, tt.limit)
			if tt.want == "" {
				if err != nil || string(data) != "a: 1\n" {
					t.Fatalf("ReadFile = %q, %v; want the file's bytes", data, err)
				}
				if want, _ := os.Lstat(regular); !fi.ModTime().Equal(want.ModTime()) || fi.Size() != want.Size() {
					t.Fatalf("ReadFile's FileInfo = %v, %d bytes; want the file's, %v, %d bytes",
						fi.ModTime(), fi.Size(), want.ModTime(), want.Size())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ReadFile = %q, %v; want an error saying %q", data, err, tt.want)
			}
		})
	}
}
