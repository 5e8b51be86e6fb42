package topology_test

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/squallstream/squall/topology"
)

// lintTopology is a valid topology; each case adds or replaces lines.
const lintTopology = `name: t
config:
  topology.workers: 1
spouts:
  - id: src
    shell: {command: [python3, src.py], fields: [word]}
bolts:
  - id: split
    shell: {command: [python3, split.py], fields: [word, count]}
  - id: top
    go: squall.TopN
streams:
  - {from: src, to: split, grouping: {type: SHUFFLE}}
  - {from: split, to: top, grouping: {type: GLOBAL}}
`

func lintResources() fstest.MapFS {
	return fstest.MapFS{
		"src.py":          {Data: []byte("import storm\n")},
		"split.py":        {Data: []byte("import storm\n")},
		"run.sh":          {Data: []byte("#!/bin/sh\n"), Mode: 0o644},
		"lines.txt":       {Data: []byte("a\nb\n")},
		"lib/helper.py":   {Data: []byte("")},
		"bin/spout":       {Data: []byte("#!/bin/sh\n"), Mode: 0o755},
		"data/words.json": {Data: []byte("[]")},
		// storm-starter's scripts load Storm's adapter from beside them.
		"split.js":     {Data: []byte("var storm = require('./storm');\n")},
		"split.rb":     {Data: []byte("require \"./storm\"\n")},
		"lib/split.js": {Data: []byte("var storm = require(\"./storm\");\n")},
		"lib/storm.js": {Data: []byte("")},
		"lib/split.rb": {Data: []byte("require_relative 'storm'\n")},
		"lib/storm.rb": {Data: []byte("")},
		"ok.rb":        {Data: []byte("require 'storm'\n")},
	}
}

func TestLint(t *testing.T) {
	type want struct {
		sev       topology.Severity
		err       error
		component string
		line      int
		says      string // a substring of the message
	}
	tests := []struct {
		name      string
		edit      func(string) string
		overrides topology.Config
		lookPath  func(string) (string, error)
		want      []want
	}{
		{name: "clean", edit: func(s string) string { return s }},
		{
			name: "unknown topology key, with a suggestion",
			edit: func(s string) string { return strings.Replace(s, "topology.workers: 1", "topology.workerz: 1", 1) },
			want: []want{{topology.SeverityWarning, topology.ErrUnknownConfigKey, "", 3, `did you mean "topology.workers"?`}},
		},
		{
			name: "unknown key in Storm's namespace",
			edit: func(s string) string {
				return strings.Replace(s, "topology.workers: 1", "topology.workers: 1\n  topology.my.own.setting: 3", 1)
			},
			want: []want{{topology.SeverityWarning, topology.ErrUnknownConfigKey, "", 4, "neither Storm nor squall reads it"}},
		},
		{
			name: "a component's own setting outside Storm's namespaces is fine",
			edit: func(s string) string {
				return strings.Replace(s, "fields: [word, count]}", "fields: [word, count]}\n    config: {wordcount.min.length: 3}", 1)
			},
		},
		{
			name: "Storm type of a key squall does not read, in a component's config",
			edit: func(s string) string {
				return strings.Replace(s, "fields: [word, count]}", "fields: [word, count]}\n    config: {topology.tuple.compression.enable: \"not-a-boolean\"}", 1)
			},
			want: []want{{topology.SeverityError, topology.ErrBadConfig, "split", 10, `topology.tuple.compression.enable = "not-a-boolean" is not a boolean`}},
		},
		{
			name: "Storm bound of an integer",
			edit: func(s string) string {
				return strings.Replace(s, "topology.workers: 1", "topology.workers: 1\n  topology.state.checkpoint.interval.ms: 0", 1)
			},
			want: []want{{topology.SeverityError, topology.ErrBadConfig, "", 4, "is not an integer > 0"}},
		},
		{
			name: "a value squall takes and Storm refuses",
			edit: func(s string) string {
				return strings.Replace(s, "topology.workers: 1", "topology.workers: 1\n  topology.message.timeout.secs: \"30\"", 1)
			},
			want: []want{{topology.SeverityWarning, topology.ErrStormRefuses, "", 4, "Storm wants an integer"}},
		},
		{
			name: "ignored Storm key",
			edit: func(s string) string {
				return strings.Replace(s, "topology.workers: 1", "topology.workers: 1\n  topology.worker.childopts: -Xmx2g", 1)
			},
			want: []want{{topology.SeverityWarning, topology.ErrIgnoredConfigKey, "", 4, "not JVMs"}},
		},
		{
			name: "ignored Flux scheduling hint",
			edit: func(s string) string {
				return strings.Replace(s, "    go: squall.TopN\n", "    go: squall.TopN\n    onHeapMemoryLoad: 128\n", 1)
			},
			want: []want{{topology.SeverityWarning, topology.ErrIgnoredConfigKey, "top", 12, "onHeapMemoryLoad"}},
		},
		{
			name:      "-c overrides are checked too",
			edit:      func(s string) string { return s },
			overrides: topology.Config{"topology.max.spout.pendng": 10, "topology.debug": "yes"},
			want: []want{
				{topology.SeverityWarning, topology.ErrUnknownConfigKey, "", 0, `did you mean "topology.max.spout.pending"?`},
			},
		},
		{
			name: "Storm's Node and Ruby examples without the adapter beside them: squall serves it",
			edit: func(s string) string {
				s = strings.Replace(s, "[python3, src.py]", "[node, split.js]", 1)
				return strings.Replace(s, "[python3, split.py]", "[ruby, split.rb]", 1)
			},
		},
		{
			name: "Storm's Node example without storm.js, its NODE_OPTIONS replacing squall's",
			edit: func(s string) string {
				return strings.Replace(s, "[python3, split.py], fields: [word, count]}",
					"[node, split.js], fields: [word, count], env: {NODE_OPTIONS: --trace-warnings}}", 1)
			},
			want: []want{{topology.SeverityError, topology.ErrMissingResource, "split", 8, `script "split.js" loads Storm's adapter from beside it (require('./storm')), and the resources directory has no storm.js; squall serves such a load through NODE_OPTIONS, which the component's environment sets`}},
		},
		{
			name: "Storm's Ruby example without storm.rb, topology.environment's RUBYOPT replacing squall's",
			edit: func(s string) string {
				s = strings.Replace(s, "topology.workers: 1", "topology.workers: 1\n  topology.environment: {RUBYOPT: -w}", 1)
				return strings.Replace(s, "[python3, split.py]", "[ruby, split.rb]", 1)
			},
			want: []want{{topology.SeverityError, topology.ErrMissingResource, "split", 9, `script "split.rb" loads Storm's adapter from beside it (require "./storm"), and the resources directory has no storm.rb; squall serves such a load through RUBYOPT`}},
		},
		{
			name: "Storm's adapters shipped beside the scripts, or squall's required by name",
			edit: func(s string) string {
				s = strings.Replace(s, "topology.workers: 1", "topology.workers: 1\n  topology.environment: {RUBYOPT: -w, NODE_OPTIONS: --trace-warnings}", 1)
				s = strings.Replace(s, "[python3, src.py]", "[node, lib/split.js]", 1)
				s = strings.Replace(s, "[python3, split.py]", "[ruby, lib/split.rb]", 1)
				return strings.Replace(s, "go: squall.TopN", "shell: {command: [ruby, ok.rb]}", 1)
			},
		},
		{
			name: "missing script, with a suggestion",
			edit: func(s string) string { return strings.Replace(s, "split.py", "splt.py", 1) },
			want: []want{{topology.SeverityError, topology.ErrMissingResource, "split", 8, `script "splt.py" is not in the resources directory (did you mean "split.py"?)`}},
		},
		{
			name: "script in a subdirectory",
			edit: func(s string) string {
				return strings.Replace(s, "[python3, split.py]", "[python3, -u, lib/helper.py]", 1)
			},
		},
		{
			name: "script outside the resources",
			edit: func(s string) string { return strings.Replace(s, "split.py", "../split.py", 1) },
			want: []want{{topology.SeverityError, topology.ErrMissingResource, "split", 8, "outside the resources directory"}},
		},
		{
			name: "a module is not a file",
			edit: func(s string) string {
				return strings.Replace(s, "[python3, split.py]", "[python3, -m, mypkg.split]", 1)
			},
		},
		{
			name: "program in the resources, executable",
			edit: func(s string) string { return strings.Replace(s, "[python3, src.py]", "[bin/spout]", 1) },
		},
		{
			name: "program in the resources, not executable",
			edit: func(s string) string { return strings.Replace(s, "[python3, src.py]", "[./run.sh]", 1) },
			want: []want{{topology.SeverityError, topology.ErrMissingResource, "src", 5, "not executable"}},
		},
		{
			name:     "interpreter missing on this machine",
			edit:     func(s string) string { return strings.Replace(s, "[python3, src.py]", "[pyhton3, src.py]", 1) },
			lookPath: func(f string) (string, error) { return "", exec.ErrNotFound },
			want: []want{
				{topology.SeverityWarning, topology.ErrMissingResource, "src", 5, `"pyhton3" is not on this machine's PATH`},
				{topology.SeverityWarning, topology.ErrMissingResource, "split", 8, `"python3" is not on this machine's PATH`},
			},
		},
		{
			name: "Go component: missing input file",
			edit: func(s string) string {
				return strings.Replace(s, "    shell: {command: [python3, src.py], fields: [word]}\n", "    go: squall.Lines\n    args: {path: line.txt, field: word}\n", 1)
			},
			want: []want{{topology.SeverityError, topology.ErrMissingResource, "src", 5, `"line.txt" is not in the resources directory (did you mean "lines.txt"?)`}},
		},
		{
			name: "Go component: input fields it cannot use",
			edit: func(s string) string { return strings.Replace(s, "fields: [word, count]", "fields: [word]", 1) },
			want: []want{{topology.SeverityError, topology.ErrBadComponent, "top", 10, `stream "default" of "split" has fields ["word"]`}},
		},
		{
			name: "Go component: a field its inputs lack",
			edit: func(s string) string {
				return strings.Replace(s, "    go: squall.TopN\n", "    go: squall.Count\n    args: {field: wrd}\n", 1)
			},
			want: []want{{topology.SeverityError, topology.ErrUnknownField, "top", 10, `unknown field "wrd"`}},
		},
		{
			name: "Go component: bad argument is a load error",
			edit: func(s string) string {
				return strings.Replace(s, "    go: squall.TopN\n", "    go: squall.TopN\n    args: {n: -1}\n", 1)
			},
			want: []want{{topology.SeverityError, topology.ErrBadArgs, "top", 10, "n is -1"}},
		},
		{
			name: "a load error does not hide config findings",
			edit: func(s string) string {
				s = strings.Replace(s, "topology.workers: 1", "topology.workerz: 1", 1)
				return strings.Replace(s, "{from: split, to: top", "{from: splitt, to: top", 1)
			},
			want: []want{
				{topology.SeverityWarning, topology.ErrUnknownConfigKey, "", 3, "topology.workerz"},
				{topology.SeverityError, topology.ErrUnknownComponent, "top", 14, `did you mean "split"?`},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.edit(lintTopology)
			opts := topology.LintOptions{
				LoadOptions: topology.LoadOptions{Registry: testRegistry(t)},
				Resources:   lintResources(),
				LookPath:    tt.lookPath,
				Overrides:   tt.overrides,
			}
			_, findings := topology.Lint([]byte(data), "topology.yaml", opts)
			if len(findings) != len(tt.want) {
				t.Fatalf("Lint() = %d findings, want %d:\n%s\nfor:\n%s", len(findings), len(tt.want), list(findings), data)
			}
			for i, w := range tt.want {
				f := findings[i]
				file := "topology.yaml"
				if tt.overrides != nil {
					file = "-c"
				}
				if f.Severity != w.sev || !errors.Is(f, w.err) || f.Component != w.component || f.Line != w.line || f.File != file || !strings.Contains(f.Error(), w.says) {
					t.Errorf("Lint() finding %d = %s %v (component %q, %s:%d), want %s %v (component %q, line %d) saying %q",
						i, f.Severity, f, f.Component, f.File, f.Line, w.sev, w.err, w.component, w.line, w.says)
				}
			}
		})
	}
}

func list(findings []*topology.Finding) string {
	var b strings.Builder
	for _, f := range findings {
		b.WriteString("  " + f.Severity.String() + ": " + f.Error() + "\n")
	}
	return b.String()
}

// TestLintIssueExample is the example of issue 16: a bad boolean in a
// component's config, which loading accepts, is an error for Lint.
func TestLintIssueExample(t *testing.T) {
	data := strings.Replace(lintTopology, "fields: [word, count]}", "fields: [word, count]}\n    config: {topology.tuple.compression.enable: \"not-a-boolean\"}", 1)
	if _, err := topology.Load([]byte(data), topology.LoadOptions{Registry: testRegistry(t)}); err != nil {
		t.Fatalf("Load() = %v; the point is that loading accepts it", err)
	}
	_, findings := topology.Lint([]byte(data), "", topology.LintOptions{LoadOptions: topology.LoadOptions{Registry: testRegistry(t)}})
	var se *topology.StormConfigError
	if len(findings) != 1 || !errors.As(findings[0], &se) || se.Key != "topology.tuple.compression.enable" || findings[0].Severity != topology.SeverityError {
		t.Fatalf("Lint() = %s, want one error for topology.tuple.compression.enable", list(findings))
	}
}

// TestStormKeyRules checks the value rules against Storm's validators'
// behaviour, key by key.
func TestStormKeyRules(t *testing.T) {
	tests := []struct {
		key  string
		v    any
		want bool
	}{
		{"topology.workers", 2, true},
		{"topology.workers", 2.0, true}, // Storm: a Number whose long value equals its double value
		{"topology.workers", 2.5, false},
		{"topology.workers", 0, false},
		{"topology.workers", "2", false},
		{"topology.workers", int64(1) << 40, false}, // beyond 32 bits
		{"topology.workers", nil, true},
		{"topology.debug", true, true},
		{"topology.debug", "true", false},
		{"topology.tuple.compression.threshold", 0, true}, // includeZero
		{"topology.tuple.compression.threshold", -1, false},
		{"topology.users", "alice", true},
		{"topology.users", []any{"alice", "bob"}, true},
		{"topology.users", []any{"alice", 3}, false},
		{"topology.environment", map[string]any{"A": "1"}, true},
		{"topology.environment", map[string]any{"A": 1}, false},
		{"topology.environment", "A=1", false},
		{"topology.logging.sensitivity", "S2", true},
		{"topology.logging.sensitivity", "S9", false},
		{"topology.stats.ewma.smoothing.factor", 0.5, true},
		{"topology.stats.ewma.smoothing.factor", 1, false},
		{"supervisor.slots.ports", []any{6700, 6701}, true},
		{"supervisor.slots.ports", []any{6700, -1}, false},
		{"supervisor.slots.ports", nil, false}, // @NotNull
		{"topology.scheduler.strategy", nil, false},
		{"storm.messaging.netty.flush_timeout_ms", int64(1) << 40, true}, // @IsLong
		{"topology.kryo.decorators", []any{"a.B"}, true},
	}
	for _, tt := range tests {
		if got := topology.StormAccepts(tt.key, tt.v); got != tt.want {
			t.Errorf("StormAccepts(%q, %#v) = %v, want %v", tt.key, tt.v, got, tt.want)
		}
	}
}

// TestLintKnowsEveryKeySquallReads reads every Go file of the repository
// (tests aside) for configuration key literals, and checks that Lint knows
// each: a package that starts reading a new key of its own must add it to
// squallKeys (topology/lintkeys.go) or users get "unknown key" warnings.
func TestLintKnowsEveryKeySquallReads(t *testing.T) {
	keys, err := topology.KeyLiterals(fsRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) < 20 {
		t.Fatalf("found only %d key literals in the repository: %v", len(keys), keys)
	}
	for _, k := range keys {
		if !topology.LintKnows(k.Key) {
			t.Errorf("%s: %q is read by squall but unknown to Lint: add it to squallKeys in topology/lintkeys.go", k.Where, k.Key)
		}
	}
}

func fsRoot(t *testing.T) fs.FS {
	t.Helper()
	return os.DirFS("..")
}
