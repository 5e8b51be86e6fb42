package topology_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/squallstream/squall/topology"
)

var errorsAs = errors.As

func load(t *testing.T, file string, opts topology.LoadOptions) (*topology.Topology, error) {
	t.Helper()
	if opts.Registry == nil {
		opts.Registry = testRegistry(t)
	}
	return topology.LoadFile(filepath.Join("testdata", file), opts)
}

func mustLoad(t *testing.T, file string, opts topology.LoadOptions) *topology.Topology {
	t.Helper()
	top, err := load(t, file, opts)
	if err != nil {
		t.Fatalf("LoadFile(%q) = %v", file, err)
	}
	return top
}

func TestLoadSpecNativeExample(t *testing.T) {
	// The spec's example subscribes a bolt it never defines.
	_, err := load(t, "spec_native.yaml", topology.LoadOptions{})
	errs := problems(t, err)
	if len(errs) != 1 || !errors.Is(errs[0], topology.ErrUnknownComponent) || errs[0].Component != "rejects-log" || errs[0].Line != 30 {
		t.Fatalf("LoadFile(spec_native.yaml) = %v, want one ErrUnknownComponent for rejects-log at line 30", err)
	}

	top := mustLoad(t, "spec_native_complete.yaml", topology.LoadOptions{})
	want := `topology wordcount config=map[topology.max.spout.pending:1000 topology.message.timeout.secs:30 topology.workers:2]
bolt count p=2 n=2 config=map[]
  go squall.Count args=map[field:word]
  out default ["word" "count"] direct=false
  in split/default FIELDS ["word"]
bolt rejects-log p=1 n=1 config=map[]
  go squall.Log args=map[]
  in split/rejects SHUFFLE []
spout sentences p=1 n=1 config=map[]
  shell ["python3" "sentences.py"] env=map[]
  out default ["sentence"] direct=false
bolt split p=4 n=8 config=map[topology.tick.tuple.freq.secs:5]
  shell ["python3" "split.py"] env=map[PYTHONUNBUFFERED:1]
  out default ["word"] direct=false
  out rejects ["sentence" "reason"] direct=false
  in sentences/default SHUFFLE []
`
	if got := render(top); got != want {
		t.Errorf("LoadFile(spec_native_complete.yaml) =\n%s\nwant\n%s", got, want)
	}
	split := top.Component("split")
	if split.Line != 13 || split.Inputs[0].Line != 28 {
		t.Errorf("split at line %d, input at line %d, want 13 and 28", split.Line, split.Inputs[0].Line)
	}
	if got := top.ComponentConfig("split").Int(topology.KeyWorkers, 0); got != 2 {
		t.Errorf("ComponentConfig(split)[topology.workers] = %d, want 2", got)
	}
	if n := top.Component("count").Go.NewBolt; n == nil {
		t.Fatal("count has no bolt factory")
	} else if b, err := n(); err != nil || b == nil {
		t.Errorf("count factory() = %v, %v, want a bolt", b, err)
	}
}

func TestLoadSpecFluxExample(t *testing.T) {
	// The spec's Flux snippet has no name and no streams.
	_, err := load(t, "spec_flux.yaml", topology.LoadOptions{})
	errs := problems(t, err)
	if len(errs) != 2 || !errors.Is(errs[0], topology.ErrBadName) || !errors.Is(errs[1], topology.ErrNoInputs) ||
		errs[1].Component != "splitsentence" || errs[1].Line != 7 {
		t.Fatalf("LoadFile(spec_flux.yaml) = %v, want ErrBadName and ErrNoInputs for splitsentence at line 7", err)
	}

	flux := mustLoad(t, "spec_flux_complete.yaml", topology.LoadOptions{})
	native := mustLoad(t, "native_complete.yaml", topology.LoadOptions{})
	if got, want := render(flux), render(native); got != want {
		t.Errorf("Flux form =\n%s\nnative form =\n%s\nwant them equal", got, want)
	}
}

func TestLoadFluxStockClasses(t *testing.T) {
	top := mustLoad(t, "flux_wordcount.yaml", topology.LoadOptions{})
	want := `topology stock-wordcount config=map[topology.workers:1]
bolt counter p=3 n=3 config=map[]
  go squall.Count args=map[]
  out default ["word" "count"] direct=false
  in words/default FIELDS ["word"]
bolt printer p=1 n=1 config=map[]
  go squall.Log args=map[]
  in counter/default CUSTOM [] custom=squall.NGrouping map[n:1]
spout words p=2 n=4 config=map[]
  go squall.TestWordSpout args=map[]
  out default ["word"] direct=false
`
	if got := render(top); got != want {
		t.Errorf("LoadFile(flux_wordcount.yaml) =\n%s\nwant\n%s", got, want)
	}
	g, err := top.Component("printer").Inputs[0].Grouping.NewCustom()
	if err != nil {
		t.Fatalf("NewCustom() = %v", err)
	}
	g.Prepare(nil, "default", []int{4, 5, 6})
	if got := g.ChooseTasks([]any{"x", 1}); !reflect.DeepEqual(got, []int{4}) {
		t.Errorf("NGrouping(1).ChooseTasks = %v, want [4]", got)
	}
}

func TestLoadFluxShellMethods(t *testing.T) {
	top := mustLoad(t, "flux_shell_methods.yaml", topology.LoadOptions{})
	want := `topology shell-methods config=map[]
spout feed p=1 n=1 config=map[]
  shell ["ruby" "feed.rb"] env=map[COLOR:no RUBYOPT:-W0]
  out default ["line"] direct=false
bolt parse p=1 n=1 config=map[parse.paths:[a b] topology.tick.tuple.freq.secs:10]
  shell ["python3" "parse.py"] env=map[]
  out default ["key" "value"] direct=false
  out errors ["line" "error"] direct=false
  in feed/default LOCAL_OR_SHUFFLE []
`
	if got := render(top); got != want {
		t.Errorf("LoadFile(flux_shell_methods.yaml) =\n%s\nwant\n%s", got, want)
	}
}

func TestLoadWithoutRegistry(t *testing.T) {
	if _, err := topology.LoadFile("testdata/native_complete.yaml", topology.LoadOptions{}); err != nil {
		t.Errorf("LoadFile(shell-only file, no registry) = %v, want nil", err)
	}
	_, err := topology.LoadFile("testdata/spec_native_complete.yaml", topology.LoadOptions{})
	if !errors.Is(err, topology.ErrNotRegistered) {
		t.Errorf("LoadFile(go components, no registry) = %v, want ErrNotRegistered", err)
	}
	_, err = topology.LoadFile("testdata/flux_wordcount.yaml", topology.LoadOptions{})
	if !errors.Is(err, topology.ErrUnknownClass) {
		t.Errorf("LoadFile(stock classes, no registry) = %v, want ErrUnknownClass", err)
	}
}

func TestLoadFileMissing(t *testing.T) {
	_, err := topology.LoadFile("testdata/no-such-file.yaml", topology.LoadOptions{})
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadFile(missing) = %v, want os.ErrNotExist", err)
	}
}

func testProperties(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open("testdata/substitution.properties")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	props, err := topology.ParseProperties(f)
	if err != nil {
		t.Fatalf("ParseProperties = %v", err)
	}
	return props
}

func testEnv(name string) (string, bool) {
	v, ok := map[string]string{"SQUALL_TEST_HOME": "/home/squall", "SQUALL_TEST_HOST": "example.org"}[name]
	return v, ok
}

func TestLoadSubstitution(t *testing.T) {
	top := mustLoad(t, "substitution.yaml", topology.LoadOptions{Properties: testProperties(t), Env: testEnv})
	if top.Name != "substituted" {
		t.Errorf("Name = %q, want substituted", top.Name)
	}
	wantConfig := topology.Config{
		"topology.workers":    3,
		"squall.test.home":    "/home/squall",
		"squall.test.list":    []any{"x", "y", "z"},
		"squall.test.element": "y",
		"squall.test.missing": "${no.such.property}",
		"squall.test.quoted":  "3",
	}
	if !reflect.DeepEqual(top.Config, wantConfig) {
		t.Errorf("Config = %#v, want %#v", top.Config, wantConfig)
	}
	src := top.Component("source")
	wantCmd := []string{"python3", "/opt/scripts/source.py", "--host", "example.org:9092"}
	if !reflect.DeepEqual(src.Shell.Command, wantCmd) {
		t.Errorf("command = %q, want %q", src.Shell.Command, wantCmd)
	}
	for _, c := range top.Components {
		if c.Parallelism != 2 {
			t.Errorf("%s parallelism = %d, want 2", c.ID, c.Parallelism)
		}
	}
}

func TestLoadSubstitutionDisabled(t *testing.T) {
	// Without --filter, placeholders stay as they are, so the parallelism
	// is not a number.
	_, err := load(t, "substitution.yaml", topology.LoadOptions{Env: testEnv})
	errs := problems(t, err)
	if len(errs) != 2 || !errors.Is(errs[0], topology.ErrBadValue) || errs[0].Component != "source" || errs[0].Line != 14 ||
		!errors.Is(errs[1], topology.ErrBadValue) || errs[1].Component != "sink" || errs[1].Line != 18 {
		t.Fatalf("LoadFile(substitution.yaml, no properties) = %v, want ErrBadValue for source at line 14 and sink at line 18", err)
	}
}

func TestLoadIncludes(t *testing.T) {
	tests := []struct {
		file string
		want string
	}{
		{"includes/main_override_true.yaml", `topology base-name config=map[topology.debug:true topology.message.timeout.secs:60 topology.workers:4]
bolt extra p=1 n=1 config=map[]
  go squall.Null args=map[]
  in source/default SHUFFLE []
bolt sink p=1 n=1 config=map[]
  go squall.Null args=map[]
  in source/default SHUFFLE []
spout source p=3 n=3 config=map[]
  shell ["python3" "base_source.py"] env=map[]
  out default ["word"] direct=false
`},
		{"includes/main_override_false.yaml", `topology main-name config=map[topology.debug:true topology.message.timeout.secs:60 topology.workers:1]
bolt extra p=1 n=1 config=map[]
  go squall.Null args=map[]
  in source/default SHUFFLE []
bolt sink p=1 n=1 config=map[]
  go squall.Null args=map[]
  in source/default SHUFFLE []
spout source p=1 n=1 config=map[]
  shell ["python3" "main_source.py"] env=map[]
  out default ["word"] direct=false
`},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			top := mustLoad(t, tt.file, topology.LoadOptions{RelativeIncludes: true})
			if got := render(top); got != tt.want {
				t.Errorf("LoadFile(%q) =\n%s\nwant\n%s", tt.file, got, tt.want)
			}
		})
	}
}

func TestLoadIncludeErrors(t *testing.T) {
	tests := []struct {
		file     string
		relative bool
		want     error
		wantFile string
		wantLine int
	}{
		// Flux resolves include paths against the working directory.
		{"includes/main_override_true.yaml", false, topology.ErrInclude, "testdata/includes/main_override_true.yaml", 6},
		{"includes/main_missing.yaml", true, topology.ErrInclude, "testdata/includes/main_missing.yaml", 3},
		{"includes/main_broken.yaml", true, topology.ErrUnknownKey, "testdata/includes/broken.yaml", 4},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := load(t, tt.file, topology.LoadOptions{RelativeIncludes: tt.relative})
			errs := problems(t, err)
			if len(errs) != 1 || !errors.Is(errs[0], tt.want) || errs[0].File != tt.wantFile || errs[0].Line != tt.wantLine {
				t.Errorf("LoadFile(%q) = %v, want %v at %s:%d", tt.file, err, tt.want, tt.wantFile, tt.wantLine)
			}
		})
	}
}

// wantLine returns the line of a file marked with "# want", or 0.
func wantLine(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, "# want") {
			return i + 1
		}
	}
	return 0
}

func TestLoadInvalid(t *testing.T) {
	tests := []struct {
		file      string
		want      error
		component string
	}{
		{"syntax.yaml", topology.ErrSyntax, ""},
		{"empty.yaml", topology.ErrSyntax, ""},
		{"two_documents.yaml", topology.ErrSyntax, ""},
		{"duplicate_key.yaml", topology.ErrSyntax, "src"},
		{"unknown_top_key.yaml", topology.ErrUnknownKey, ""},
		{"components.yaml", topology.ErrUnsupported, ""},
		{"topology_source.yaml", topology.ErrUnsupported, ""},
		{"worker_hooks.yaml", topology.ErrUnsupported, ""},
		{"unknown_component_key.yaml", topology.ErrUnknownKey, "sink"},
		{"no_implementation.yaml", topology.ErrBadComponent, "sink"},
		{"two_implementations.yaml", topology.ErrBadComponent, "sink"},
		{"unknown_class.yaml", topology.ErrUnknownClass, "sink"},
		{"unknown_custom_class.yaml", topology.ErrUnknownClass, "sink"},
		{"resource_include.yaml", topology.ErrUnsupported, ""},
		{"properties.yaml", topology.ErrUnsupported, "src"},
		{"ref_argument.yaml", topology.ErrUnsupported, "src"},
		{"spout_class_as_bolt.yaml", topology.ErrBadComponent, "sink"},
		{"unknown_config_method.yaml", topology.ErrUnsupported, "sink"},
		{"change_cwd.yaml", topology.ErrUnsupported, "sink"},
		{"duplicate_id.yaml", topology.ErrDuplicateID, "src"},
		{"reserved_id.yaml", topology.ErrBadID, "__sink"},
		{"bad_name.yaml", topology.ErrBadName, ""},
		{"no_name.yaml", topology.ErrBadName, ""},
		{"parallelism_zero.yaml", topology.ErrBadParallelism, "sink"},
		{"numtasks_below_parallelism.yaml", topology.ErrBadParallelism, "sink"},
		{"numtasks_zero.yaml", topology.ErrBadParallelism, "sink"},
		{"parallelism_word.yaml", topology.ErrBadValue, "sink"},
		{"command_string.yaml", topology.ErrBadValue, "src"},
		{"command_empty.yaml", topology.ErrBadComponent, "src"},
		{"args_on_shell.yaml", topology.ErrBadComponent, "src"},
		{"go_bolt_as_spout.yaml", topology.ErrBadComponent, "src"},
		{"unregistered_go.yaml", topology.ErrNotRegistered, "sink"},
		{"bad_go_args.yaml", topology.ErrBadArgs, "sink"},
		{"bad_go_arg_type.yaml", topology.ErrBadArgs, "src"},
		{"unknown_from.yaml", topology.ErrUnknownComponent, "sink"},
		{"unknown_to.yaml", topology.ErrUnknownComponent, "snk"},
		{"undeclared_stream.yaml", topology.ErrUndeclaredStream, "sink"},
		{"unknown_field.yaml", topology.ErrUnknownField, "sink"},
		{"fields_without_args.yaml", topology.ErrBadGrouping, "sink"},
		{"shuffle_with_args.yaml", topology.ErrBadGrouping, "sink"},
		{"unknown_grouping_type.yaml", topology.ErrBadGrouping, "sink"},
		{"missing_grouping.yaml", topology.ErrMissingKey, "sink"},
		{"unknown_grouping_key.yaml", topology.ErrUnknownKey, "sink"},
		{"custom_unregistered.yaml", topology.ErrNotRegistered, "sink"},
		{"direct_mixed.yaml", topology.ErrDirectMismatch, "other"},
		{"direct_declared.yaml", topology.ErrDirectMismatch, "sink"},
		{"duplicate_subscription.yaml", topology.ErrDuplicateInput, "sink"},
		{"no_inputs.yaml", topology.ErrNoInputs, "lonely"},
		{"spout_input.yaml", topology.ErrSpoutInput, "src2"},
		{"unreachable.yaml", topology.ErrUnreachable, "ping"},
		{"no_spouts.yaml", topology.ErrNoSpouts, ""},
		{"reserved_stream.yaml", topology.ErrBadID, "src"},
		{"duplicate_field.yaml", topology.ErrBadStream, "src"},
		{"fields_and_default.yaml", topology.ErrBadStream, "src"},
		{"bad_config.yaml", topology.ErrBadConfig, ""},
		{"bad_component_config.yaml", topology.ErrBadConfig, "sink"},
		{"bad_flux_component_config.yaml", topology.ErrBadConfig, "sink"},
		{"too_many_ctor_args.yaml", topology.ErrBadArgs, "src"},
		{"shell_ctor_shape.yaml", topology.ErrBadValue, "src"},
	}
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(tests) {
		t.Errorf("testdata/invalid has %d files, the table %d", len(files), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", "invalid", tt.file)
			line := wantLine(t, path)
			top, err := topology.LoadFile(path, topology.LoadOptions{Registry: testRegistry(t)})
			if err == nil {
				t.Fatalf("LoadFile(%q) = %v, nil, want %v", tt.file, top, tt.want)
			}
			for _, e := range problems(t, err) {
				if errors.Is(e, tt.want) && e.Component == tt.component && e.Line == line && e.File == path {
					return
				}
			}
			t.Errorf("LoadFile(%q) = %v, want %v for component %q at line %d", tt.file, err, tt.want, tt.component, line)
		})
	}
}

func TestLoadConfigErrorNamesKey(t *testing.T) {
	_, err := load(t, "invalid/bad_config.yaml", topology.LoadOptions{})
	var ce *topology.ConfigError
	if !errors.As(err, &ce) || ce.Key != topology.KeyWorkers || ce.Want != topology.KindInt {
		t.Errorf("LoadFile(bad_config.yaml) = %v, want a *ConfigError for %s", err, topology.KeyWorkers)
	}
}

func TestLoadErrorsSortedByLine(t *testing.T) {
	data := `name: t
spouts:
  - id: src
    shell: {command: [python3, src.py], fields: [word]}
    parallelism: 0
bolts:
  - id: a
    go: squall.Null
    config: {topology.debug: perhaps}
  - id: b
    go: squall.Null
streams:
  - from: src
    to: b
    grouping: {type: FIELDS, args: [nope]}
  - from: nowhere
    to: a
    grouping: {type: SHUFFLE}
`
	_, err := topology.Load([]byte(data), topology.LoadOptions{Registry: testRegistry(t)})
	type entry struct {
		err       error
		component string
		line      int
	}
	want := []entry{
		{topology.ErrBadParallelism, "src", 3},
		{topology.ErrBadConfig, "a", 9},
		{topology.ErrUnknownField, "b", 13},
		{topology.ErrUnknownComponent, "a", 16},
	}
	errs := problems(t, err)
	if len(errs) != len(want) {
		t.Fatalf("Load = %v, want %d problems", err, len(want))
	}
	for i, w := range want {
		if e := errs[i]; !errors.Is(e, w.err) || e.Component != w.component || e.Line != w.line || e.File != "" {
			t.Errorf("problem %d = %v, want %v for %q at line %d", i, e, w.err, w.component, w.line)
		}
	}
}

func TestLoadCustomGroupingForms(t *testing.T) {
	base := `name: t
spouts:
  - id: src
    shell: {command: [python3, src.py], fields: [word]}
bolts:
  - id: sink
    go: squall.Null
streams:
  - from: src
    to: sink
`
	tests := []struct {
		grouping string
		want     string
	}{
		{"grouping: {type: CUSTOM, go: squall.NGrouping, args: {n: 2}}", "squall.NGrouping map[n:2]"},
		{"grouping: {type: custom, go: squall.NGrouping}", "squall.NGrouping map[]"},
		{"grouping: {type: CUSTOM, args: [squall.NGrouping]}", "squall.NGrouping map[]"},
	}
	for _, tt := range tests {
		t.Run(tt.grouping, func(t *testing.T) {
			top, err := topology.Load([]byte(base+"    "+tt.grouping+"\n"), topology.LoadOptions{Registry: testRegistry(t)})
			if err != nil {
				t.Fatalf("Load(%s) = %v", tt.grouping, err)
			}
			g := top.Component("sink").Inputs[0].Grouping
			if got := g.Custom + " " + fmtMap(g.CustomArgs); got != tt.want {
				t.Errorf("Load(%s) grouping = %s, want %s", tt.grouping, got, tt.want)
			}
			if g.NewCustom == nil {
				t.Errorf("Load(%s): NewCustom is nil", tt.grouping)
			}
		})
	}
}

func TestLoadDirectStream(t *testing.T) {
	data := `name: t
spouts:
  - id: src
    shell: {command: [python3, src.py], streams: {default: [word], picked: [word]}}
bolts:
  - id: a
    go: squall.Null
  - id: b
    go: squall.Null
streams:
  - {from: src, to: a, grouping: {type: DIRECT, streamId: picked}}
  - {from: src, to: b, grouping: {type: DIRECT, streamId: picked}}
  - {from: src, to: b, grouping: {type: SHUFFLE}}
`
	top, err := topology.Load([]byte(data), topology.LoadOptions{Registry: testRegistry(t)})
	if err != nil {
		t.Fatalf("Load = %v", err)
	}
	src := top.Component("src")
	if s, _ := src.Output("picked"); !s.Direct {
		t.Errorf("stream picked Direct = false, want true")
	}
	if s, _ := src.Output("default"); s.Direct {
		t.Errorf("stream default Direct = true, want false")
	}
}
