package adapters

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

func TestInstallDev(t *testing.T) {
	dir := t.TempDir()
	// An older copy is replaced.
	old := filepath.Join(dir, "python", "storm_testing.py")
	if err := os.MkdirAll(filepath.Dir(old), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(old, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := InstallDev(dir); err != nil {
		t.Fatalf("InstallDev(%s): %v", dir, err)
	}
	var got []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			got = append(got, filepath.ToSlash(rel))
		}
		return err
	})
	slices.Sort(got)
	if want := DevFiles(); !reflect.DeepEqual(got, want) {
		t.Errorf("InstallDev wrote %v, want %v", got, want)
	}
	for from, to := range devLayout {
		src, err := os.ReadFile(filepath.FromSlash(from))
		if err != nil {
			t.Fatal(err)
		}
		if installed, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(to))); err != nil || !bytes.Equal(installed, src) {
			t.Errorf("%s is not a copy of %s (err %v)", to, from, err)
		}
	}
}
