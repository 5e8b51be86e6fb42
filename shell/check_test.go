package shell

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/squallstream/squall/topology"
)

func TestCheckCommand(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "run.sh"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		command []string
		env     map[string]string
		wantErr string // empty: no error
	}{
		{"interpreter on PATH", []string{"sh", "-c", "true"}, nil, ""},
		{"script in the resources dir", []string{"./run.sh"}, nil, ""},
		{"resources dir on the component's PATH", []string{"run.sh"}, map[string]string{"PATH": "."}, ""},
		{"missing interpreter", []string{"nosuch-interpreter-3", "split.py"}, nil, `"nosuch-interpreter-3": executable file not found in $PATH`},
		{"missing script", []string{"./nosuch.sh"}, nil, `"./nosuch.sh": stat`},
		{"not executable", []string{"./data.txt"}, nil, `"./data.txt" is not an executable file`},
		{"a directory", []string{"/"}, nil, `"/" is not an executable file`},
		{"empty", nil, nil, "empty command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckCommand(&topology.ShellSpec{Command: tt.command, Env: tt.env}, dir, Options{}, nil)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("CheckCommand(%q) = %v, want nil", tt.command, err)
				}
				return
			}
			if !errors.Is(err, ErrLaunch) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("CheckCommand(%q) = %v, want ErrLaunch containing %q", tt.command, err, tt.wantErr)
			}
		})
	}
}
