package depenv

import (
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/depenv/depenvtest"
	"github.com/squallstream/squall/internal/transcript"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/topology/builtin"
)

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeWheel(t *testing.T, dir, name, version, value string) {
	t.Helper()
	if err := depenvtest.WriteWheel(dir, name, version, value); err != nil {
		t.Fatal(err)
	}
}

func runIn(t *testing.T, dir string, argv ...string) {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
}

// writeNodeDeps packs a tiny npm package, adds it to res/npm-cache and
// writes a package.json and package-lock.json that depend on it.
func writeNodeDeps(t *testing.T, res string) {
	t.Helper()
	transcript.Interpreter(t, "npm")
	pkg := t.TempDir()
	write(t, filepath.Join(pkg, "package.json"), `{"name": "leftpadx", "version": "1.0.0", "main": "index.js"}`)
	write(t, filepath.Join(pkg, "index.js"), `module.exports = (s, n) => String(s).padStart(n, "*");`)
	runIn(t, pkg, "npm", "pack", "--silent")
	tgz := filepath.Join(pkg, "leftpadx-1.0.0.tgz")
	runIn(t, res, "npm", "cache", "add", tgz, "--cache", filepath.Join(res, "npm-cache"))
	data, err := os.ReadFile(tgz)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha512.Sum512(data)
	write(t, filepath.Join(res, "package.json"), `{"name": "topo", "version": "1.0.0", "dependencies": {"leftpadx": "1.0.0"}}`)
	write(t, filepath.Join(res, "package-lock.json"), fmt.Sprintf(`{"name": "topo", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
 "packages": {"": {"name": "topo", "version": "1.0.0", "dependencies": {"leftpadx": "1.0.0"}},
  "node_modules/leftpadx": {"version": "1.0.0", "resolved": "https://registry.npmjs.org/leftpadx/-/leftpadx-1.0.0.tgz", "integrity": "sha512-%s"}}}`,
		base64.StdEncoding.EncodeToString(sum[:])))
}

// writeRubyDeps builds a tiny gem into res/vendor/cache and writes a
// Gemfile and Gemfile.lock that depend on it.
func writeRubyDeps(t *testing.T, res string) {
	t.Helper()
	transcript.Interpreter(t, "gem")
	g := t.TempDir()
	write(t, filepath.Join(g, "lib", "tinygem.rb"), "module TinyGem; VALUE = 'from a gem'; end\n")
	write(t, filepath.Join(g, "tinygem.gemspec"), `Gem::Specification.new do |s|
  s.name = "tinygem"; s.version = "1.0.0"; s.summary = "test"; s.authors = ["squall"]; s.files = ["lib/tinygem.rb"]
end
`)
	runIn(t, g, "gem", "build", "tinygem.gemspec")
	data, err := os.ReadFile(filepath.Join(g, "tinygem-1.0.0.gem"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(res, "vendor", "cache", "tinygem-1.0.0.gem"), string(data))
	write(t, filepath.Join(res, "Gemfile"), "source 'https://rubygems.org'\ngem 'tinygem', '1.0.0'\n")
	write(t, filepath.Join(res, "Gemfile.lock"), "GEM\n  remote: https://rubygems.org/\n  specs:\n    tinygem (1.0.0)\n\n"+
		"PLATFORMS\n  ruby\n\nDEPENDENCIES\n  tinygem (= 1.0.0)\n\nBUNDLED WITH\n   2.3.7\n")
}

const depsTopology = `name: deps
spouts:
  - id: words
    go: squall.TestWordSpout
bolts:
  - id: py
    shell: {command: [python3, x.py], fields: [w]}
  - id: js
    shell: {command: [node, x.js], fields: [w]}
  - id: rb
    shell: {command: [ruby, x.rb], fields: [w]}
  - id: sh
    shell: {command: [sh, x.sh], fields: [w]}
streams:
  - {from: words, to: py, grouping: {type: SHUFFLE}}
  - {from: words, to: js, grouping: {type: SHUFFLE}}
  - {from: words, to: rb, grouping: {type: SHUFFLE}}
  - {from: words, to: sh, grouping: {type: SHUFFLE}}
`

// TestPrepareBuildsOfflineAndReuses builds a venv from a wheel, a
// node_modules from an npm cache and a bundle from vendor/cache, offline;
// the components, pointed at them, import their dependency; a second
// Prepare reuses them; a changed requirements.txt builds anew.
func TestPrepareBuildsOfflineAndReuses(t *testing.T) {
	for _, name := range []string{"python3", "node", "ruby"} {
		transcript.Interpreter(t, name)
	}
	res := t.TempDir()
	writeWheel(t, filepath.Join(res, "wheels"), "tinydep", "1.0", "from a wheel")
	write(t, filepath.Join(res, "requirements.txt"), "tinydep==1.0\n")
	writeNodeDeps(t, res)
	writeRubyDeps(t, res)
	o := Options{Resources: res, Cache: t.TempDir(), Conf: topology.Config{}}

	start := time.Now()
	envs, err := Prepare(t.Context(), o)
	if err != nil {
		t.Fatalf("Prepare() = %v", err)
	}
	built := time.Since(start)
	if len(envs) != 3 {
		t.Fatalf("Prepare() = %d environments, want 3: %+v", len(envs), envs)
	}
	for _, e := range envs {
		if e.Reused {
			t.Errorf("%s: reused on the first build", e.Lang)
		}
	}

	topo, err := topology.Load([]byte(depsTopology), topology.LoadOptions{Registry: registry()})
	if err != nil {
		t.Fatal(err)
	}
	Apply(topo, envs, nil)
	probes := map[string]struct{ script, code string }{
		"py": {"x.py", "import tinydep; print(tinydep.VALUE)"},
		"js": {"x.js", "console.log(require('leftpadx')('from npm', 10))"},
		"rb": {"x.rb", "require 'tinygem'; puts TinyGem::VALUE"},
	}
	want := map[string]string{"py": "from a wheel", "js": "**from npm", "rb": "from a gem"}
	for id, p := range probes {
		write(t, filepath.Join(res, p.script), p.code)
		c := topo.Component(id)
		cmd := exec.Command(c.Shell.Command[0], c.Shell.Command[1:]...)
		cmd.Dir = res
		cmd.Env = os.Environ()
		for k, v := range c.Shell.Env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out, err := cmd.CombinedOutput()
		if got := strings.TrimSpace(string(out)); err != nil || got != want[id] {
			t.Errorf("%s (%q, env %v) = %q, %v; want %q", id, c.Shell.Command, c.Shell.Env, got, err, want[id])
		}
	}
	if c := topo.Component("sh"); c.Shell.Command[0] != "sh" || len(c.Shell.Env) != 0 {
		t.Errorf("sh component changed: %+v", c.Shell)
	}

	start = time.Now()
	again, err := Prepare(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	reused := time.Since(start)
	for i, e := range again {
		if !e.Reused || e.Dir != envs[i].Dir {
			t.Errorf("%s: second Prepare = %+v, want the first's %s reused", e.Lang, e, envs[i].Dir)
		}
	}
	t.Logf("built in %v, reused in %v", built.Round(time.Millisecond), reused.Round(time.Millisecond))

	write(t, filepath.Join(res, "requirements.txt"), "tinydep>=1.0\n")
	changed, err := Prepare(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if changed[0].Lang != Python || changed[0].Reused || changed[0].Dir == envs[0].Dir {
		t.Errorf("after a change of requirements.txt: %+v, want a new environment", changed[0])
	}
}

func TestPrepareFailsWithTheToolsOutput(t *testing.T) {
	transcript.Interpreter(t, "python3")
	tests := []struct {
		name  string
		files map[string]string
		o     func(*Options)
		says  []string
	}{
		{"missing wheel", map[string]string{"requirements.txt": "nosuchdep==1.0\n"}, nil,
			[]string{"for python (resources/requirements.txt)", "No matching distribution found for nosuchdep==1.0"}},
		{"package.json without a lock", map[string]string{"package.json": "{}"}, nil,
			[]string{"resources/package.json needs resources/package-lock.json"}},
		{"unknown interpreter", map[string]string{"requirements.txt": ""}, func(o *Options) { o.Conf[KeyPython] = "no-such-python" },
			[]string{`python interpreter "no-such-python" (topology.multilang.python)`}},
		{"too large", map[string]string{"requirements.txt": ""}, func(o *Options) { o.MaxFiles = 3 },
			[]string{"more than nimbus.package.max.files (3)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := t.TempDir()
			for name, text := range tt.files {
				write(t, filepath.Join(res, name), text)
			}
			o := Options{Resources: res, Cache: t.TempDir(), Conf: topology.Config{}}
			if tt.o != nil {
				tt.o(&o)
			}
			_, err := Prepare(t.Context(), o)
			if !errors.Is(err, ErrBuild) {
				t.Fatalf("Prepare() = %v, want ErrBuild", err)
			}
			for _, s := range tt.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Prepare() = %v\nwant it to say %q", err, s)
				}
			}
			entries, _ := os.ReadDir(o.Cache)
			for _, e := range entries {
				if e.IsDir() {
					t.Errorf("a failed build left %s in the cache", e.Name())
				}
			}
		})
	}
}

func TestApplyChoosesInterpreters(t *testing.T) {
	topo, err := topology.Load([]byte(depsTopology), topology.LoadOptions{Registry: registry()})
	if err != nil {
		t.Fatal(err)
	}
	topo.Config[KeyPython] = "/usr/bin/python3"
	topo.Config[KeyRuby] = "ruby3.1"
	Apply(topo, nil, nil)
	for id, want := range map[string]string{"py": "/usr/bin/python3", "js": "node", "rb": "ruby3.1", "sh": "sh"} {
		if got := topo.Component(id).Shell.Command[0]; got != want {
			t.Errorf("%s runs %q, want %q", id, got, want)
		}
	}
}

func registry() *topology.Registry {
	r := topology.NewRegistry()
	builtin.Register(r)
	return r
}
