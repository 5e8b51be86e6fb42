package topology_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/squallstream/squall/topology"
)

// A topology like Storm's flux-core include_test.yaml: nothing but a name
// and a classpath include of the topology that does the work.
const classpathMain = `name: include-topology
includes:
  - resource: true
    file: %q
    override: false
`

const classpathIncluded = `name: shell-topology
spouts:
  - id: src
    shell: {command: [python3, src.py], fields: [word]}
bolts:
  - id: sink
    go: squall.Null
streams:
  - {from: src, to: sink, grouping: {type: SHUFFLE}}
`

// TestLoadClasspathInclude: Flux's classpath includes (resource: true)
// are read from the topology's resources directory, which holds what a
// Storm jar's classpath root held; the including file's name wins, as in
// Flux without override.
func TestLoadClasspathInclude(t *testing.T) {
	dir := t.TempDir()
	resources := filepath.Join(dir, "resources")
	if err := os.MkdirAll(filepath.Join(resources, "configs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(resources, "configs", "shell.yaml"), []byte(classpathIncluded), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "secret.yaml"), []byte(classpathIncluded), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		file      string
		resources string
		want      error
	}{
		{"/configs/shell.yaml", resources, nil},
		{"configs/shell.yaml", resources, nil},
		{"/configs/missing.yaml", resources, topology.ErrInclude},
		{"/../secret.yaml", resources, topology.ErrInclude},
		{"/configs/../../secret.yaml", resources, topology.ErrInclude},
		{"/configs/shell.yaml", "", topology.ErrUnsupported},
	} {
		t.Run(tt.file+" in "+tt.resources, func(t *testing.T) {
			main := filepath.Join(dir, "topology.yaml")
			data := []byte(fmt.Sprintf(classpathMain, tt.file))
			top, err := topology.LoadNamed(main, data, topology.LoadOptions{
				Registry: testRegistry(t), RelativeIncludes: true, ResourcesDir: tt.resources})
			if tt.want == nil {
				if err != nil {
					t.Fatalf("LoadNamed(include %q) = %v", tt.file, err)
				}
				if top.Name != "include-topology" || len(top.Components) != 2 {
					t.Errorf("LoadNamed(include %q) = %q with %d components, want include-topology with 2", tt.file, top.Name, len(top.Components))
				}
				return
			}
			errs := problems(t, err)
			if len(errs) != 1 || !errors.Is(errs[0], tt.want) || errs[0].File != main || errs[0].Line != 3 {
				t.Errorf("LoadNamed(include %q) = %v, want %v at %s:3", tt.file, err, tt.want, main)
			}
		})
	}
}

// TestIncludedFilesTravel: IncludedFiles reads what a definition includes
// by path, keyed as the definition writes it, and a load given them in
// LoadOptions.Included needs no file on disk: what nimbus does with the
// files squall submit sent.
func TestIncludedFilesTravel(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "shell.yaml"), []byte(classpathIncluded), 0o644); err != nil {
		t.Fatal(err)
	}
	main := filepath.Join(dir, "topology.yaml")
	data := []byte("name: travel\nincludes:\n  - {file: '${file}'}\n  - {resource: true, file: /configs/x.yaml}\n")
	opts := topology.LoadOptions{Registry: testRegistry(t), RelativeIncludes: true, Properties: map[string]string{"file": "shell.yaml"}}
	files, err := topology.IncludedFiles(main, data, opts)
	if err != nil {
		t.Fatalf("IncludedFiles() = %v", err)
	}
	if len(files) != 1 || string(files["shell.yaml"]) != classpathIncluded {
		t.Fatalf("IncludedFiles() = %q, want shell.yaml alone (classpath includes travel in the package)", files)
	}

	elsewhere := filepath.Join(t.TempDir(), "topology.yaml")
	opts.ResourcesDir = t.TempDir()
	if err := os.MkdirAll(filepath.Join(opts.ResourcesDir, "configs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(opts.ResourcesDir, "configs", "x.yaml"), []byte("config: {x: 1}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := topology.LoadNamed(elsewhere, data, opts); err == nil {
		t.Fatalf("LoadNamed() without the included file = nil error, want %v", topology.ErrInclude)
	}
	opts.Included = files
	top, err := topology.LoadNamed(elsewhere, data, opts)
	if err != nil {
		t.Fatalf("LoadNamed() with Included = %v", err)
	}
	if top.Name != "travel" || len(top.Components) != 2 || top.Config["x"] != 1 {
		t.Errorf("LoadNamed() with Included = %q, %d components, config %v; want travel, 2, x: 1", top.Name, len(top.Components), top.Config)
	}

	if _, err := topology.IncludedFiles(main, []byte("name: t\nincludes: [{file: missing.yaml}]\n"), opts); !errors.Is(err, topology.ErrInclude) {
		t.Errorf("IncludedFiles(missing include) = %v, want %v", err, topology.ErrInclude)
	}
}
