package adapters

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
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

// checkInstalled verifies that dir holds exactly the embedded files.
func checkInstalled(t *testing.T, dir string) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("python", "storm.py"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "python", "storm.py"))
	if err != nil {
		t.Fatalf("installed storm.py: %v", err)
	}
	if !bytes.Equal(got, src) {
		t.Errorf("installed storm.py differs from python/storm.py")
	}
	var all []string
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
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
	want := Env{"PYTHONPATH=" + filepath.Join(dir, "python")}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("Install(%s) = %v, want %v", dir, env, want)
	}
	if got := Files(); !reflect.DeepEqual(got, []string{"python/storm.py"}) {
		t.Errorf("Files() = %v", got)
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
	if err := os.WriteFile(name, []byte("# old version\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Install(dir); err != nil {
		t.Fatalf("Install over a stale file: %v", err)
	}
	checkInstalled(t, dir)

	// A relative directory gives an absolute search path.
	t.Chdir(dir)
	env, err = Install("rel")
	if err != nil {
		t.Fatalf("Install(rel): %v", err)
	}
	if want := "PYTHONPATH=" + filepath.Join(dir, "rel", "python"); env[0] != want {
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
	tests := []struct {
		name      string
		env, want []string
	}{
		{"unset", []string{"HOME=/h"}, []string{"HOME=/h", "PYTHONPATH=/squall/python"}},
		{"empty", []string{"PYTHONPATH="}, []string{"PYTHONPATH=/squall/python"}},
		{"user's first", []string{"PYTHONPATH=/mine" + sep + "/other", "A=b"},
			[]string{"PYTHONPATH=/mine" + sep + "/other" + sep + "/squall/python", "A=b"}},
		{"already there", []string{"PYTHONPATH=/squall/python" + sep + "/mine"},
			[]string{"PYTHONPATH=/squall/python" + sep + "/mine"}},
		{"similar name", []string{"PYTHONPATHX=1"}, []string{"PYTHONPATHX=1", "PYTHONPATH=/squall/python"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := append([]string(nil), tt.env...)
			got := e.Apply(tt.env)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Apply(%q) = %q, want %q", tt.env, got, tt.want)
			}
			if !reflect.DeepEqual(tt.env, before) {
				t.Errorf("Apply modified its argument: %q", tt.env)
			}
		})
	}
}

// TestUserStormWins checks which storm.py a component script imports: a
// storm.py next to the script, then one on the topology's PYTHONPATH, then
// squall's.
func TestUserStormWins(t *testing.T) {
	py := python3(t)
	installed := t.TempDir()
	env, err := Install(installed)
	if err != nil {
		t.Fatal(err)
	}
	base := []string{"PATH=" + os.Getenv("PATH"), "PYTHONDONTWRITEBYTECODE=1"}
	tests := []struct {
		name         string
		besideScript bool   // a storm.py in the working directory, next to the script
		userPath     bool   // a storm.py in a directory on the topology's PYTHONPATH
		want         string // whose storm.py is imported
	}{
		{"squall's by default", false, false, "squall"},
		{"beside the script", true, false, "beside"},
		{"on the topology's PYTHONPATH", false, true, "userpath"},
		{"beside the script before PYTHONPATH", true, true, "beside"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			work := t.TempDir()
			script := "import storm\nprint(getattr(storm, 'OWNER', 'squall'), storm.__file__)\n"
			if err := os.WriteFile(filepath.Join(work, "component.py"), []byte(script), 0o644); err != nil {
				t.Fatal(err)
			}
			childEnv := base
			if tt.besideScript {
				if err := os.WriteFile(filepath.Join(work, "storm.py"), []byte("OWNER = 'beside'\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tt.userPath {
				lib := t.TempDir()
				if err := os.WriteFile(filepath.Join(lib, "storm.py"), []byte("OWNER = 'userpath'\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				childEnv = append(childEnv, "PYTHONPATH="+lib)
			}
			cmd := exec.CommandContext(t.Context(), py, "component.py")
			cmd.Dir = work
			cmd.Env = env.Apply(childEnv)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("python3 component.py: %v: %s", err, out)
			}
			fields := strings.Fields(string(out))
			if len(fields) != 2 || fields[0] != tt.want {
				t.Fatalf("component imported %q, want the %s storm.py", out, tt.want)
			}
			if tt.want == "squall" && fields[1] != filepath.Join(installed, "python", "storm.py") {
				t.Errorf("storm.__file__ = %s, want the installed one under %s", fields[1], installed)
			}
		})
	}
}

// TestPythonUnittest runs the adapter's own Python test suite.
func TestPythonUnittest(t *testing.T) {
	py := python3(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-m", "unittest", "discover", "-v", "-s", filepath.Join("python", "tests"))
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python3 -m unittest: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`(?m)^Ran (\d+) tests? in`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("python3 -m unittest: no test count in output:\n%s", out)
	}
	if n, _ := strconv.Atoi(string(m[1])); n == 0 {
		t.Fatalf("python3 -m unittest ran no tests:\n%s", out)
	}
	t.Logf("python3 -m unittest: %s", m[0])
}
