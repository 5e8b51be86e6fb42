package cli_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/squallstream/squall/cmd/squall/cli"
)

// writeTopology makes a topology directory: topology.yaml and the given
// resources.
func writeTopology(t *testing.T, yaml string, resources ...string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "topology.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	res := filepath.Join(dir, "resources")
	if err := os.MkdirAll(res, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range resources {
		if err := os.WriteFile(filepath.Join(res, name), []byte("import storm\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const lintYAML = `name: lintme
config:
  topology.workers: 1
spouts:
  - id: words
    go: squall.TestWordSpout
bolts:
  - id: split
    shell: {command: [sh, split.sh], fields: [word]}
streams:
  - {from: words, to: split, grouping: {type: SHUFFLE}}
`

func TestLintCommand(t *testing.T) {
	tests := []struct {
		name      string
		yaml      string
		args      []string
		wantCode  int
		wantLines []string // each a substring of one output line
	}{
		{"clean", lintYAML, nil, 0, []string{"no problems found"}},
		{"warning only", strings.Replace(lintYAML, "topology.workers", "topology.wrkers", 1), nil, 0,
			[]string{`topology.yaml:3: warning: unknown config key "topology.wrkers" (did you mean "topology.workers"?)`}},
		{"warning, strict", strings.Replace(lintYAML, "topology.workers", "topology.wrkers", 1), []string{"--strict"}, 1,
			[]string{"topology.yaml:3: warning:"}},
		{"missing script", strings.Replace(lintYAML, "split.sh", "splitt.sh", 1), nil, 1,
			[]string{`topology.yaml:8: error: component "split": missing resource: script "splitt.sh" is not in the resources directory (did you mean "split.sh"?)`}},
		{"bad -c value", lintYAML, []string{"-c", "topology.tuple.compression.enable=maybe"}, 1,
			[]string{`-c: error: bad config: topology.tuple.compression.enable = "maybe" is not a boolean`}},
		{"load error", strings.Replace(lintYAML, "from: words", "from: wrds", 1), nil, 1,
			[]string{`topology.yaml:11: error: component "split": subscribes to unknown component "wrds" (did you mean "words"?)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTopology(t, tt.yaml, "split.sh")
			var stdout, stderr bytes.Buffer
			code := cli.Main(context.Background(), append(append([]string{"lint"}, tt.args...), dir), &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("squall lint %v = exit %d, want %d\nstdout:\n%s\nstderr:\n%s", tt.args, code, tt.wantCode, &stdout, &stderr)
			}
			for _, w := range tt.wantLines {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("squall lint %v printed:\n%s\nwant a line with %q", tt.args, &stdout, w)
				}
			}
		})
	}
}

// TestSubmitWarnsLint: submit shows lint findings as warnings before it
// talks to nimbus (here, none answers).
func TestSubmitWarnsLint(t *testing.T) {
	dir := writeTopology(t, strings.Replace(lintYAML, "split.sh", "splitt.sh", 1), "split.sh")
	conf := filepath.Join(t.TempDir(), "squall.yaml")
	if err := os.WriteFile(conf, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := cli.Main(context.Background(), []string{"submit", "--dry-run", "--nimbus", "127.0.0.1:1", "--timeout", "10s",
		"--config", conf, dir}, &stdout, &stderr)
	if code == 0 {
		t.Fatalf("squall submit to no nimbus succeeded:\n%s", &stdout)
	}
	want := `squall: ` + filepath.Join(dir, "topology.yaml") + `:8: warning: component "split": missing resource: script "splitt.sh"`
	if !strings.Contains(stderr.String(), want) {
		t.Errorf("squall submit stderr:\n%s\nwant a line with %q", &stderr, want)
	}
}

// TestLocalWarnsLint: squall local shows the lint findings submit shows,
// as warnings, and still runs (here, a dry run) the topology.
func TestLocalWarnsLint(t *testing.T) {
	yaml := strings.Replace(lintYAML, "topology.workers: 1", "topology.workerz: 1", 1)
	dir := writeTopology(t, yaml, "split.sh")
	var stdout, stderr bytes.Buffer
	code := cli.Main(context.Background(), []string{"local", "--dry-run", dir}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("squall local --dry-run = %d\nstderr:\n%s", code, &stderr)
	}
	want := `squall: ` + filepath.Join(dir, "topology.yaml") + `:3: warning: unknown config key "topology.workerz" (did you mean "topology.workers"?)`
	if !strings.Contains(stderr.String(), want) {
		t.Errorf("squall local stderr:\n%s\nwant a line with %q", &stderr, want)
	}
	if !strings.Contains(stdout.String(), "split") {
		t.Errorf("squall local --dry-run printed no topology:\n%s", &stdout)
	}
}
