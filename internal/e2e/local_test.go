package e2e_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A shell component whose interpreter is missing stops squall local before
// anything runs, with the file, line and component, instead of a crash loop.
func TestLocalMissingInterpreter(t *testing.T) {
	dir := t.TempDir()
	topo := `name: broken
spouts:
  - id: words
    go: squall.TestWordSpout
bolts:
  - id: split
    shell:
      command: [nosuch-python-9, split.py]
      fields: [word]
    parallelism: 2
streams:
  - from: words
    to: split
    grouping: {type: SHUFFLE}
`
	if err := os.WriteFile(filepath.Join(dir, "topology.yaml"), []byte(topo), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"local", "--duration", "30s", dir}, {"local", "--dry-run", dir}} {
		cmd := exec.Command(squallBin, args...)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Fatalf("squall %s: %v, want exit status 1; output:\n%s", strings.Join(args, " "), err, out)
		}
		want := filepath.Join(dir, "topology.yaml") + `:6: component "split": launch failed: "nosuch-python-9": executable file not found`
		if !strings.Contains(string(out), want) {
			t.Errorf("squall %s printed:\n%s\nwant it to contain %s", strings.Join(args, " "), out, want)
		}
	}
}
