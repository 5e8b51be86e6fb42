// Package depenvtest builds dependency artefacts for tests, offline.
package depenvtest

import (
	"archive/zip"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// WriteWheel writes a pure-Python wheel of package name into dir, whose
// module holds VALUE = value: a zip file with the metadata pip reads.
func WriteWheel(dir, name, version, value string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s-%s-py3-none-any.whl", name, version)))
	if err != nil {
		return err
	}
	defer f.Close()
	z := zip.NewWriter(f)
	info := fmt.Sprintf("%s-%s.dist-info", name, version)
	files := []struct{ name, text string }{
		{name + "/__init__.py", fmt.Sprintf("VALUE = %q\n", value)},
		{info + "/METADATA", fmt.Sprintf("Metadata-Version: 2.1\nName: %s\nVersion: %s\n", name, version)},
		{info + "/WHEEL", "Wheel-Version: 1.0\nGenerator: squall-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
	}
	var record strings.Builder
	for _, file := range files {
		w, err := z.Create(file.name)
		if err != nil {
			return err
		}
		if _, err := w.Write([]byte(file.text)); err != nil {
			return err
		}
		fmt.Fprintf(&record, "%s,,\n", file.name)
	}
	fmt.Fprintf(&record, "%s/RECORD,,\n", info)
	w, err := z.Create(info + "/RECORD")
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(record.String())); err != nil {
		return err
	}
	if err := z.Close(); err != nil {
		return err
	}
	return f.Close()
}
