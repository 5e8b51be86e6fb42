package examples_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/squallstream/squall/cmd/squall/cli"
)

// TestExamplesLintClean: the examples are what users copy, so squall lint
// --strict finds nothing in them.
func TestExamplesLintClean(t *testing.T) {
	dirs, err := filepath.Glob("*/topology.yaml")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, f := range dirs {
		dir := filepath.Dir(f)
		t.Run(dir, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := cli.Main(context.Background(), []string{"lint", "--strict", dir}, &stdout, &stderr); code != 0 {
				t.Errorf("squall lint --strict %s = exit %d:\n%s%s", dir, code, &stdout, &stderr)
			}
		})
	}
}
