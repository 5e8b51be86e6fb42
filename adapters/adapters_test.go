package adapters

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/transcript"
)

// installHelperEnv makes the test binary, run as a child, call Install on
// the directory it names and exit.
const installHelperEnv = "SQUALL_ADAPTERS_TEST_INSTALL_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(installHelperEnv); dir != "" {
		if _, err := Install(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// checkInstalled verifies that dir holds exactly the embedded files, each
// equal to its source.
func checkInstalled(t *testing.T, dir string) {
	t.Helper()
	for _, name := range Files() {
		src, err := os.ReadFile(filepath.FromSlash(name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			t.Fatalf("installed %s: %v", name, err)
		}
		if !bytes.Equal(got, src) {
			t.Errorf("installed %s differs from its source", name)
		}
	}
	var all []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			all = append(all, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(all, Files()) {
		t.Errorf("files under %s = %v, want %v (no temporary files left)", dir, all, Files())
	}
}

func TestInstall(t *testing.T) {
	dir := t.TempDir()
	env, err := Install(dir)
	if err != nil {
		t.Fatalf("Install(%s): %v", dir, err)
	}
	want := Env{
		"PYTHONPATH=" + filepath.Join(dir, "python"),
		"RUBYLIB=" + filepath.Join(dir, "ruby"),
		"NODE_PATH=" + filepath.Join(dir, "node"),
		`NODE_OPTIONS=--require "` + filepath.Join(dir, "beside", "node.js") + `"`,
		"RUBYOPT=-r" + filepath.Join(dir, "beside", "ruby.rb"),
	}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("Install(%s) = %v, want %v", dir, env, want)
	}
	if got, want := Files(), []string{"beside/node.js", "beside/ruby.rb", "node/storm.js", "python/storm.py", "ruby/storm.rb"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Files() = %v, want %v", got, want)
	}
	checkInstalled(t, dir)
	name := filepath.Join(dir, "python", "storm.py")
	fi, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("storm.py mode = %v, want 0644", fi.Mode().Perm())
	}

	// Installing again leaves the right file alone (same inode).
	if _, err := Install(dir); err != nil {
		t.Fatalf("second Install: %v", err)
	}
	fi2, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(fi, fi2) {
		t.Errorf("second Install replaced an up-to-date storm.py")
	}

	// A stale or damaged file is replaced.
	if err := os.WriteFile(filepath.Join(dir, "node", "storm.js"), []byte("// old version\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Install(dir); err != nil {
		t.Fatalf("Install over a stale file: %v", err)
	}
	checkInstalled(t, dir)

	// A relative directory gives absolute search paths.
	t.Chdir(dir)
	env, err = Install("rel")
	if err != nil {
		t.Fatalf("Install(rel): %v", err)
	}
	if want := "RUBYLIB=" + filepath.Join(dir, "rel", "ruby"); env[1] != want {
		t.Errorf("Install(rel) = %v, want %v", env, want)
	}
}

func TestInstallError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Install(file)
	if err == nil || !strings.Contains(err.Error(), "install adapters in "+file) {
		t.Errorf("Install(a file) = %v, want an error naming it", err)
	}
}

// TestInstallConcurrent installs into one directory from several processes
// (this test binary re-executed) and goroutines at once.
func TestInstallConcurrent(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	helper := func(dir string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), installHelperEnv+"="+dir)
		cmd.Stdout, cmd.Stderr = new(bytes.Buffer), new(bytes.Buffer)
		return cmd
	}

	// The helper process alone installs.
	alone := t.TempDir()
	first := helper(alone)
	if err := first.Run(); err != nil {
		t.Fatalf("install helper: %v: %s", err, first.Stderr)
	}
	checkInstalled(t, alone)

	dir := t.TempDir()
	const procs, goroutines = 4, 4
	var cmds []*exec.Cmd
	for range procs {
		cmd := helper(dir)
		if err := cmd.Start(); err != nil {
			t.Fatalf("start install helper: %v", err)
		}
		cmds = append(cmds, cmd)
		t.Cleanup(func() {
			if cmd.ProcessState == nil {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
			}
		})
	}
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for range goroutines {
		wg.Go(func() {
			_, err := Install(dir)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Install from a goroutine: %v", err)
		}
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("Install from a process: %v: %s", err, cmd.Stderr)
		}
	}
	checkInstalled(t, dir)
}

func TestEnvApply(t *testing.T) {
	sep := string(os.PathListSeparator)
	e := Env{"PYTHONPATH=/squall/python"}
	node := Env{"NODE_OPTIONS=--require /h.js"}
	tests := []struct {
		name      string
		env, want []string
		add       Env
	}{
		{"unset", []string{"HOME=/h"}, []string{"HOME=/h", "PYTHONPATH=/squall/python"}, e},
		{"empty", []string{"PYTHONPATH="}, []string{"PYTHONPATH=/squall/python"}, e},
		{"user's first", []string{"PYTHONPATH=/mine" + sep + "/other", "A=b"},
			[]string{"PYTHONPATH=/mine" + sep + "/other" + sep + "/squall/python", "A=b"}, e},
		{"already there", []string{"PYTHONPATH=/squall/python" + sep + "/mine"},
			[]string{"PYTHONPATH=/squall/python" + sep + "/mine"}, e},
		{"similar name", []string{"PYTHONPATHX=1"}, []string{"PYTHONPATHX=1", "PYTHONPATH=/squall/python"}, e},
		{"options unset", []string{"A=b"}, []string{"A=b", "NODE_OPTIONS=--require /h.js"}, node},
		{"user's options first", []string{"NODE_OPTIONS=--max-old-space-size=64"},
			[]string{"NODE_OPTIONS=--max-old-space-size=64 --require /h.js"}, node},
		{"options already there", []string{"NODE_OPTIONS=--require /h.js --trace-warnings"},
			[]string{"NODE_OPTIONS=--require /h.js --trace-warnings"}, node},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := append([]string(nil), tt.env...)
			got := tt.add.Apply(tt.env)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Apply(%q) = %q, want %q", tt.env, got, tt.want)
			}
			if !reflect.DeepEqual(tt.env, before) {
				t.Errorf("Apply modified its argument: %q", tt.env)
			}
			// Over's entries, added after env as a child's extra
			// environment is, give every key Apply's value.
			over := append(append([]string(nil), tt.env...), tt.add.Over(tt.env)...)
			if got, want := lastValues(over), lastValues(tt.want); !maps.Equal(got, want) {
				t.Errorf("%q then Over's %q = %v, want %v", tt.env, tt.add.Over(tt.env), got, want)
			}
		})
	}
}

// lastValues maps each key of environ to its last value, the one a child
// process gets.
func lastValues(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// TestUserStormWins checks which storm library a component script loads
// in each language: the one shipped with it, then one on the topology's own
// search path, then squall's.
func TestUserStormWins(t *testing.T) {
	installed := t.TempDir()
	env, err := Install(installed)
	if err != nil {
		t.Fatal(err)
	}
	// Each language: a script printing whose storm it loaded; a storm
	// library saying it is the one named by $OWNER; how the script finds
	// a library shipped with it; the search path variable.
	type lang struct {
		name, interpreter, script, file, library, searchVar string
		// beside is the path, relative to the script's directory, of a
		// library shipped with the script that it loads in preference.
		beside string
	}
	langs := []lang{
		{name: "python", interpreter: "python3", file: "storm.py", searchVar: "PYTHONPATH",
			script:  "import storm\nprint(getattr(storm, 'OWNER', 'squall'), storm.__file__)\n",
			library: "OWNER = '$OWNER'\n", beside: "storm.py"},
		{name: "ruby", interpreter: "ruby", file: "storm.rb", searchVar: "RUBYLIB",
			script: "begin\n  require_relative 'lib/storm'\nrescue LoadError\n  require 'storm'\nend\n" +
				"puts \"#{defined?(STORM_OWNER) ? STORM_OWNER : 'squall'} #{$LOADED_FEATURES.grep(/storm\\.rb$/).first}\"\n",
			library: "STORM_OWNER = '$OWNER'\n", beside: filepath.Join("lib", "storm.rb")},
		{name: "node", interpreter: "node", file: "storm.js", searchVar: "NODE_PATH",
			script:  "const storm = require('storm');\nconsole.log(storm.OWNER || 'squall', require.resolve('storm'));\n",
			library: "module.exports = { OWNER: '$OWNER' };\n", beside: filepath.Join("node_modules", "storm.js")},
	}
	tests := []struct {
		name         string
		besideScript bool   // a library shipped with the script
		userPath     bool   // a library in a directory on the topology's search path
		want         string // whose library is loaded
	}{
		{"squall's by default", false, false, "squall"},
		{"shipped with the script", true, false, "beside"},
		{"on the topology's search path", false, true, "userpath"},
		{"shipped with the script before the search path", true, true, "beside"},
	}
	for _, l := range langs {
		t.Run(l.name, func(t *testing.T) {
			interpreter := transcript.Interpreter(t, l.interpreter)
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					work := t.TempDir()
					write := func(name, text string) {
						t.Helper()
						if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
							t.Fatal(err)
						}
						if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
							t.Fatal(err)
						}
					}
					write(filepath.Join(work, "component"+filepath.Ext(l.file)), l.script)
					childEnv := childEnv()
					if tt.besideScript {
						write(filepath.Join(work, l.beside), strings.ReplaceAll(l.library, "$OWNER", "beside"))
					}
					if tt.userPath {
						lib := t.TempDir()
						write(filepath.Join(lib, l.file), strings.ReplaceAll(l.library, "$OWNER", "userpath"))
						childEnv = append(childEnv, l.searchVar+"="+lib)
					}
					cmd := exec.CommandContext(t.Context(), interpreter, "component"+filepath.Ext(l.file))
					cmd.Dir = work
					cmd.Env = env.Apply(childEnv)
					out, err := cmd.CombinedOutput()
					if err != nil {
						t.Fatalf("%s component: %v: %s", l.interpreter, err, out)
					}
					fields := strings.Fields(string(out))
					if len(fields) != 2 || fields[0] != tt.want {
						t.Fatalf("component loaded %q, want the %s storm library", out, tt.want)
					}
					if want := filepath.Join(installed, l.name, l.file); tt.want == "squall" && fields[1] != want {
						t.Errorf("loaded %s, want the installed %s", fields[1], want)
					}
				})
			}
		})
	}
}

// TestPythonUnittest runs the Python adapter's own test suite, with the
// msgpack module when it can be found (required in CI).
func TestPythonUnittest(t *testing.T) {
	py := transcript.Interpreter(t, "python3")
	env := childEnv()
	if dir, ok := transcript.PythonMsgpack(t, py); !ok {
		t.Logf("no msgpack module for %s: its MessagePack tests are skipped", py)
	} else if dir != "" {
		env = append(env, "PYTHONPATH="+dir)
	}
	if os.Getenv("CI") != "" {
		env = append(env, "SQUALL_REQUIRE_MSGPACK=1")
	}
	out := runSuite(t, ".", env, py, "-m", "unittest", "discover", "-v", "-s", filepath.Join("python", "tests"))
	m := regexp.MustCompile(`(?m)^Ran (\d+) tests? in`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("python3 -m unittest: no test count in output:\n%s", out)
	}
	if n, _ := strconv.Atoi(string(m[1])); n == 0 {
		t.Fatalf("python3 -m unittest ran no tests:\n%s", out)
	}
	if skipped := regexp.MustCompile(`skipped=(\d+)`).FindSubmatch(out); skipped != nil {
		t.Logf("python3 -m unittest: %s, %s skipped", m[0], skipped[1])
	} else {
		t.Logf("python3 -m unittest: %s", m[0])
	}
}

// TestRubyTests runs the Ruby adapter's own test suite (minitest).
func TestRubyTests(t *testing.T) {
	ruby := transcript.Interpreter(t, "ruby")
	files, err := filepath.Glob(filepath.Join("ruby", "tests", "test_*.rb"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Ruby tests in ruby/tests: %v", err)
	}
	script := "ARGV.each { |f| require File.expand_path(f) }"
	out := runSuite(t, ".", childEnv(), append([]string{ruby, "-W1", "-e", script}, files...)...)
	m := regexp.MustCompile(`(?m)^(\d+) runs, (\d+) assertions, 0 failures, 0 errors, (\d+) skips`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("ruby tests: no summary in output:\n%s", out)
	}
	if n, _ := strconv.Atoi(string(m[1])); n == 0 {
		t.Fatalf("ruby tests ran nothing:\n%s", out)
	}
	t.Logf("ruby tests: %s", m[0])
}

// TestNodeTests runs the Node adapter's own test suite (node --test).
func TestNodeTests(t *testing.T) {
	node := transcript.Interpreter(t, "node")
	files, err := filepath.Glob(filepath.Join("node", "tests", "*.test.js"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Node tests in node/tests: %v", err)
	}
	out := runSuite(t, ".", childEnv(), append([]string{node, "--test", "--test-reporter=tap"}, files...)...)
	pass := regexp.MustCompile(`(?m)^# pass (\d+)$`).FindSubmatch(out)
	if pass == nil || regexp.MustCompile(`(?m)^# fail [1-9]`).Match(out) {
		t.Fatalf("node --test: no passing summary in output:\n%s", out)
	}
	if n, _ := strconv.Atoi(string(pass[1])); n == 0 {
		t.Fatalf("node --test ran nothing:\n%s", out)
	}
	t.Logf("node --test: %s tests passed", pass[1])
}
