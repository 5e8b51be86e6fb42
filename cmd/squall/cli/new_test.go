package cli_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/squallstream/squall/cmd/squall/cli"
	"github.com/squallstream/squall/internal/scaffold"
	"github.com/squallstream/squall/internal/testenv"
	"github.com/squallstream/squall/internal/transcript"
)

// runTool runs argv in dir with env added and returns its combined output,
// failing the test if it fails. The process group dies with it.
func runTool(t *testing.T, dir string, env []string, argv ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testenv.Patience(5*time.Minute))
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if err != nil {
		t.Fatalf("%s (in %s): %v\n%s", strings.Join(argv, " "), dir, err, out)
	}
	return string(out)
}

// progressed matches squall local's progress line of the count bolt once
// it has counted a hundred words: the topology runs end to end, and "the"
// leads the top words. After a sentence or two every count is 1 and the
// top five are the first words in alphabetical order.
var progressed = regexp.MustCompile(`(?m)^\S+ count bolt emitted=\d+ executed=[1-9]\d{2,} acked=[1-9]`)

// wantTopWords is what the scaffolds' topology prints when it stops: the
// most frequent word of its sentences first.
var wantTopWords = regexp.MustCompile(`(?m)^top 5 of "top":\n\s+1\. the\s+\d+\n`)

// watchWriter collects output and cancels when it matches re.
type watchWriter struct {
	syncBuffer
	re     *regexp.Regexp
	cancel func()
	// once: a second Ctrl-C means "stop at once" to squall local.
	once sync.Once
}

func (w *watchWriter) Write(p []byte) (int, error) {
	n, err := w.syncBuffer.Write(p)
	if w.re.MatchString(w.String()) {
		w.once.Do(w.cancel)
	}
	return n, err
}

// TestNewScaffolds creates a project in every language, runs its unit
// tests with the language's own runner and interpreter, lints it, and runs
// it with squall local until it counts words, then stops it as Ctrl-C
// does and checks the words it printed.
func TestNewScaffolds(t *testing.T) {
	runners := map[string]struct {
		tools []string
		test  []string
		ok    *regexp.Regexp
	}{
		"python": {[]string{"python3"}, []string{"python3", "-m", "unittest", "-v"}, regexp.MustCompile(`(?m)^Ran 4 tests in .*\n\nOK`)},
		"ruby":   {[]string{"ruby", "rake"}, []string{"rake", "test"}, regexp.MustCompile(`(?m)^4 runs, \d+ assertions, 0 failures, 0 errors, 0 skips`)},
		"node":   {[]string{"node", "npm"}, []string{"npm", "test"}, regexp.MustCompile(`(?m)^# pass 4$`)},
	}
	for _, lang := range scaffold.Languages {
		if lang == "go" {
			continue // TestNewGoScaffold
		}
		t.Run(lang, func(t *testing.T) {
			r := runners[lang]
			for _, tool := range r.tools {
				transcript.Interpreter(t, tool)
			}
			dir := filepath.Join(t.TempDir(), "wc-"+lang)
			var stdout, stderr bytes.Buffer
			if code := cli.Main(t.Context(), []string{"new", dir, "--lang", lang}, &stdout, &stderr); code != 0 {
				t.Fatalf("squall new --lang %s = exit %d: %s", lang, code, &stderr)
			}
			if out := runTool(t, dir, []string{"npm_config_update_notifier=false"}, r.test...); !r.ok.MatchString(out) {
				t.Fatalf("%s in the new project:\n%s", strings.Join(r.test, " "), out)
			}
			stdout.Reset()
			if code := cli.Main(t.Context(), []string{"lint", "--strict", dir}, &stdout, &stderr); code != 0 {
				t.Errorf("squall lint --strict on the new project = exit %d:\n%s", code, &stdout)
			}
			for _, c := range []string{"split", "sentences"} {
				args := []string{"test", "-t", dir, c, "--fixtures", filepath.Join(dir, "tests", c+".jsonl")}
				stdout.Reset()
				stderr.Reset()
				if code := cli.Main(t.Context(), args, &stdout, &stderr); code != 0 {
					t.Errorf("squall %s = exit %d:\n%s%s", strings.Join(args, " "), code, &stdout, &stderr)
				}
			}
			runLocalUntilCounted(t, dir)
		})
	}
}

func runLocalUntilCounted(t *testing.T, dir string) {
	t.Helper()
	limit := testenv.Patience(2 * time.Minute)
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	defer cancel()
	var stdout syncBuffer
	stderr := &watchWriter{re: progressed, cancel: cancel}
	start := time.Now()
	code := cli.Main(ctx, []string{"local", "--interval", "500ms", dir}, &stdout, stderr)
	if !progressed.MatchString(stderr.String()) {
		t.Fatalf("squall local never counted words within %v (exit %d)\nstdout:\n%s\nstderr:\n%s", limit, code, &stdout, stderr)
	}
	if code != 0 {
		t.Fatalf("squall local = exit %d after a stop\nstdout:\n%s\nstderr:\n%s", code, &stdout, stderr)
	}
	if !wantTopWords.MatchString(stdout.String()) {
		t.Errorf("squall local printed no top words starting with \"the\":\n%s", &stdout)
	}
	t.Logf("squall local counted words after %v", time.Since(start).Round(time.Millisecond))
}

// TestNewGoScaffold creates a Go project, points its go.mod at this
// checkout of squall, runs go test, and runs the project's own program
// (squall's command line with its components) until it counts words.
func TestNewGoScaffold(t *testing.T) {
	goTool := transcript.Interpreter(t, "go")
	dir := filepath.Join(t.TempDir(), "wcgo")
	var stdout, stderr bytes.Buffer
	if code := cli.Main(t.Context(), []string{"new", dir, "--lang", "go"}, &stdout, &stderr); code != 0 {
		t.Fatalf("squall new --lang go = exit %d: %s", code, &stderr)
	}
	repo, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	// Offline: squall from this checkout, the other modules from the
	// module cache (this repository's own dependencies), their sums
	// from this repository's go.sum.
	env := []string{"GOFLAGS=-mod=mod", "GOSUMDB=off", "GOWORK=off"}
	runTool(t, dir, env, goTool, "mod", "edit", "-replace", "github.com/squallstream/squall="+repo)
	sums, err := os.ReadFile(filepath.Join(repo, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sums, 0o644); err != nil {
		t.Fatal(err)
	}
	runTool(t, dir, env, goTool, "mod", "tidy")
	if out := runTool(t, dir, nil, "gofmt", "-l", "."); out != "" {
		t.Errorf("gofmt -l on the new project: %s", out)
	}
	if out := runTool(t, dir, env, goTool, "test", "./..."); !strings.Contains(out, "ok  \twcgo") {
		t.Fatalf("go test in the new project:\n%s", out)
	}
	bin := filepath.Join(t.TempDir(), "wcgo")
	runTool(t, dir, env, goTool, "build", "-o", bin, ".")
	runTool(t, dir, nil, bin, "lint", "--strict", ".")
	for _, c := range []string{"split", "sentences"} {
		runTool(t, dir, nil, bin, "test", c, "--fixtures", filepath.Join("tests", c+".jsonl"))
	}

	// Run the program as a user does, and stop it as Ctrl-C does once it
	// counts words.
	limit := testenv.Patience(2 * time.Minute)
	cmd := exec.Command(bin, "local", "--interval", "500ms", ".")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out syncBuffer
	errw := &watchWriter{re: progressed, cancel: func() { _ = cmd.Process.Signal(os.Interrupt) }}
	cmd.Stdout, cmd.Stderr = &out, errw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		if err != nil || !progressed.MatchString(errw.String()) {
			t.Fatalf("%s local: %v\nstdout:\n%s\nstderr:\n%s", bin, err, &out, errw)
		}
	case <-time.After(limit):
		t.Fatalf("%s local never counted words within %v\nstdout:\n%s\nstderr:\n%s", bin, limit, &out, errw)
	}
	if !wantTopWords.MatchString(out.String()) {
		t.Errorf("the Go project printed no top words starting with \"the\":\n%s", &out)
	}
}

// TestNewRefusesAndRefreshes: squall new keeps away from a directory with
// files in it, refuses names that cannot name a topology, and refreshes
// the adapters of an existing project with --adapters-only.
func TestNewRefusesAndRefreshes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "existing")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "keep.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"new", dir, "--lang", "python"}, "already exists"},
		{[]string{"new", filepath.Join(t.TempDir(), "x"), "--lang", "cobol"}, `unknown language "cobol"`},
		{[]string{"new", filepath.Join(t.TempDir(), "my.topology"), "--lang", "python"}, `bad project name "my.topology"`},
		{[]string{"new", filepath.Join(t.TempDir(), "x")}, "--lang is required"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		if code := cli.Main(t.Context(), tt.args, &stdout, &stderr); code == 0 || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("squall %v = exit %d, %q; want a failure saying %q", tt.args, code, &stderr, tt.want)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := cli.Main(t.Context(), []string{"new", "--adapters-only", dir}, &stdout, &stderr); code != 0 {
		t.Fatalf("squall new --adapters-only = exit %d: %s", code, &stderr)
	}
	for _, f := range []string{"keep.txt", ".squall/python/storm_testing.py", ".squall/ruby/storm/testing.rb", ".squall/node/storm/testing.js"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("after --adapters-only: %v", err)
		}
	}
}
