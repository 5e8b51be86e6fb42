package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeTree writes files (path relative to dir: content) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const includedShellTopology = `name: shell-topology
spouts:
  - id: sentences
    className: org.apache.storm.flux.wrappers.spouts.FluxShellSpout
    constructorArgs: [[python3, sentences.py], [sentence]]
bolts:
  - id: split
    className: org.apache.storm.flux.wrappers.bolts.FluxShellBolt
    constructorArgs: [[python3, split.py], [word]]
streams:
  - {from: sentences, to: split, grouping: {type: SHUFFLE}}
`

// TestIncludesLoadAlikeEverywhere: a topology directory whose definition
// includes another file loads the same in squall local, in squall submit
// and on nimbus: a classpath include (Flux's resource: true, as in Storm's
// own include_test.yaml) from resources/, and files included by path
// from beside the definition, outside resources/, where squall local
// reads them.
func TestIncludesLoadAlikeEverywhere(t *testing.T) {
	c := startNimbus(t)
	_, wd := isolate(t)
	for _, tt := range []struct {
		name  string
		files map[string]string
	}{
		{"classpath", map[string]string{
			"topology.yaml":                "name: classpath\nincludes:\n  - {resource: true, file: /configs/shell.yaml, override: false}\n",
			"resources/configs/shell.yaml": includedShellTopology,
		}},
		{"beside", map[string]string{
			"topology.yaml":      "name: beside\nincludes:\n  - {file: shell.yaml}\n",
			"shell.yaml":         includedShellTopology,
			"resources/split.py": "",
		}},
		{"shared", map[string]string{
			"app/topology.yaml":          "name: shared\nincludes:\n  - {file: ../common/shell.yaml}\n",
			"app/resources/sentences.py": "",
			"common/shell.yaml":          includedShellTopology,
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(wd, tt.name)
			writeTree(t, dir, tt.files)
			if _, err := os.Stat(filepath.Join(dir, "app")); err == nil {
				dir = filepath.Join(dir, "app")
			}
			if code, out, errOut := squall(t, t.Context(), "local", "--dry-run", dir); code != 0 || !strings.Contains(out, "topology "+tt.name+": 2 components") {
				t.Errorf("squall local --dry-run: exit %d\n%s%s", code, out, errOut)
			}
			if code, out, errOut := squall(t, t.Context(), "submit", "--nimbus", c.grpc, dir); code != 0 {
				t.Errorf("squall submit: exit %d\n%s%s", code, out, errOut)
			}
			if _, out, _ := squall(t, t.Context(), "list", "--nimbus", c.grpc); !strings.Contains(out, "\n"+tt.name+" ") {
				t.Errorf("squall list after the submission:\n%s", out)
			}
		})
	}
}
