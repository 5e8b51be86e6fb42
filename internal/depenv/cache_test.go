package depenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/backoff"
	"github.com/squallstream/squall/internal/testenv"
	"github.com/squallstream/squall/internal/transcript"
	"github.com/squallstream/squall/topology"
)

// pythonResources writes a resources directory whose requirements.txt
// holds requirements, with the wheel of tinydep 1.0 beside it.
func pythonResources(t *testing.T, requirements string) string {
	t.Helper()
	res := t.TempDir()
	writeWheel(t, filepath.Join(res, "wheels"), "tinydep", "1.0", "from a wheel")
	write(t, filepath.Join(res, "requirements.txt"), requirements)
	return res
}

// imports fails the test unless env's python imports tinydep.
func imports(t *testing.T, env Env) {
	t.Helper()
	out, err := exec.Command(filepath.Join(env.Dir, "bin", "python"), "-c", "import tinydep; print(tinydep.VALUE)").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "from a wheel" {
		t.Errorf("%s: import tinydep = %q, %v", env.Dir, out, err)
	}
}

// TestFailedBuildIsRememberedUntilItsBackoff: a failed build is not tried
// again before its delay, which doubles with each failure in a row, even
// when what made it fail (here a requirements file the key does not
// cover) is fixed; it is tried again after it.
func TestFailedBuildIsRememberedUntilItsBackoff(t *testing.T) {
	transcript.Interpreter(t, "python3")
	res := pythonResources(t, "-r extra.txt\n")
	write(t, filepath.Join(res, "extra.txt"), "nosuchdep==1.0\n")
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	o := Options{Resources: res, Cache: t.TempDir(), Conf: topology.Config{},
		Retry: backoff.Policy{Min: time.Minute, Max: time.Hour, Jitter: -1}, now: func() time.Time { return now }}

	steps := []struct {
		name    string
		advance time.Duration
		fix     bool
		want    error // nil: built
		backoff bool
		says    string
	}{
		{name: "first build fails", want: ErrBuild, says: "No matching distribution found for nosuchdep==1.0"},
		{name: "remembered", advance: 59 * time.Second, fix: false, want: ErrBuildBackoff, backoff: true, says: "failed 1 time(s)"},
		{name: "tried again after a minute", advance: 2 * time.Second, want: ErrBuild, says: "No matching distribution found"},
		{name: "fixed, but remembered for two minutes", advance: 119 * time.Second, fix: true, want: ErrBuildBackoff, backoff: true, says: "failed 2 time(s)"},
		{name: "built after two minutes", advance: 2 * time.Second},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		if s.fix {
			write(t, filepath.Join(res, "extra.txt"), "tinydep==1.0\n")
		}
		before := buildLogs(t, o.Cache)
		envs, err := Prepare(t.Context(), o)
		if s.want == nil {
			if err != nil {
				t.Fatalf("%s: Prepare() = %v", s.name, err)
			}
			imports(t, envs[0])
			if _, err := os.Stat(envs[0].Dir + failedSuffix); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s: the failure is still remembered after a build: %v", s.name, err)
			}
			Release(envs)
			continue
		}
		if !errors.Is(err, s.want) || errors.Is(err, ErrBuildBackoff) != s.backoff {
			t.Fatalf("%s: Prepare() = %v, want %v", s.name, err, s.want)
		}
		if !strings.Contains(err.Error(), s.says) || !strings.Contains(err.Error(), "nosuchdep") {
			t.Errorf("%s: Prepare() = %v\nwant it to say %q and the build's tail", s.name, err, s.says)
		}
		if after := buildLogs(t, o.Cache); s.backoff && after != before {
			t.Errorf("%s: a remembered failure changed the build log (%s, was %s): built again?", s.name, after, before)
		}
		logs, _ := filepath.Glob(filepath.Join(o.Cache, "*"+logSuffix))
		if len(logs) != 1 {
			t.Fatalf("%s: build logs %v, want one", s.name, logs)
		}
		if b, _ := os.ReadFile(logs[0]); !strings.Contains(string(b), "nosuchdep") {
			t.Errorf("%s: the build log %s = %q", s.name, logs[0], b)
		}
	}
}

// buildLogs describes the build logs in cache (names, sizes and times): a
// build writes its log, a remembered failure does not.
func buildLogs(t *testing.T, cache string) string {
	t.Helper()
	logs, _ := filepath.Glob(filepath.Join(cache, "*"+logSuffix))
	var b strings.Builder
	for _, l := range logs {
		info, err := os.Stat(l)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %d %s; ", filepath.Base(l), info.Size(), info.ModTime().Format(time.RFC3339Nano))
	}
	return b.String()
}

// TestCleanupRemovesWhatNobodyUses builds real environments: one a
// process still holds, one released, one in the middle of its build, and
// ages them all; the cleaner removes only the released one and marks the
// held one used; the build finishes and works; once released and old,
// the others go too, and a new Prepare builds again.
func TestCleanupRemovesWhatNobodyUses(t *testing.T) {
	transcript.Interpreter(t, "python3")
	cache := t.TempDir()
	opts := func(res string) Options {
		return Options{Resources: res, Cache: cache, Conf: topology.Config{}}
	}
	prepare := func(res string) Env {
		t.Helper()
		envs, err := Prepare(t.Context(), opts(res))
		if err != nil {
			t.Fatalf("Prepare(%s) = %v", res, err)
		}
		return envs[0]
	}
	held := prepare(pythonResources(t, "tinydep==1.0\n"))
	t.Cleanup(held.Release)
	released := prepare(pythonResources(t, "tinydep>=1.0\n"))
	released.Release()

	// A build that waits, mid-way, for the test: pip reads a nested
	// requirements file that is a FIFO.
	gated := pythonResources(t, "-r gate.txt\n")
	gate := filepath.Join(gated, "gate.txt")
	if err := syscall.Mkfifo(gate, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // unblocks the writer below if pip never read
		if f, err := os.OpenFile(gate, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
	type result struct {
		envs []Env
		err  error
	}
	building := make(chan result, 1)
	go func() {
		envs, err := Prepare(t.Context(), opts(gated))
		building <- result{envs, err}
	}()
	specs, err := Plan(t.Context(), opts(gated))
	if err != nil {
		t.Fatal(err)
	}
	midway := filepath.Join(cache, specs[0].Key)
	deadline := time.Now().Add(testenv.Patience(time.Minute))
	for !exists(midway) {
		if time.Now().After(deadline) {
			t.Fatalf("the gated build never started (%s)", midway)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Everything was last used two hours ago.
	old := time.Now().Add(-2 * time.Hour)
	for _, dir := range []string{held.Dir, released.Dir, midway} {
		os.Chtimes(dir, old, old)
		os.Chtimes(filepath.Join(dir, readyFile), old, old)
	}
	removed, err := Cleanup(cache, time.Hour, time.Now())
	if err != nil {
		t.Fatalf("Cleanup() = %v", err)
	}
	if len(removed) != 1 || removed[0] != released.Dir {
		t.Errorf("Cleanup() removed %v, want only %s", removed, released.Dir)
	}
	for _, dir := range []string{held.Dir, midway} {
		if !exists(dir) {
			t.Errorf("Cleanup() removed %s, which is in use", dir)
		}
	}
	if exists(released.Dir) {
		t.Errorf("Cleanup() left %s, unused for two hours", released.Dir)
	}
	imports(t, held)
	if info, err := os.Stat(filepath.Join(held.Dir, readyFile)); err != nil || time.Since(info.ModTime()) > time.Hour {
		t.Errorf("the environment in use is not marked used now: %v, %v", info, err)
	}

	go func() { // blocks until pip reads, or the cleanup above unblocks it
		if w, err := os.OpenFile(gate, os.O_WRONLY, 0); err == nil {
			w.WriteString("tinydep==1.0\n")
			w.Close()
		}
	}()
	r := <-building
	if r.err != nil {
		t.Fatalf("the gated build: %v", r.err)
	}
	imports(t, r.envs[0])

	// Released and old, both go; nothing of them is left.
	held.Release()
	Release(r.envs)
	removed, err = Cleanup(cache, time.Hour, time.Now().Add(2*time.Hour))
	if err != nil || len(removed) != 2 {
		t.Errorf("Cleanup() = %v, %v; want the two environments released", removed, err)
	}
	if left, _ := os.ReadDir(cache); len(left) != 0 {
		var names []string
		for _, e := range left {
			names = append(names, e.Name())
		}
		t.Errorf("the cache holds %v after the cleanup", names)
	}
	again := prepare(pythonResources(t, "tinydep==1.0\n"))
	defer again.Release()
	if again.Reused {
		t.Errorf("Prepare() after the cleanup reused %s", again.Dir)
	}
	imports(t, again)
}

// TestCleanupLeavesOtherFiles: names that are not environments' are not
// the cleaner's.
func TestCleanupLeavesOtherFiles(t *testing.T) {
	cache := t.TempDir()
	for _, name := range []string{"notes.txt", "python-short", "perl-0123456789abcdef0123456789abcdef"} {
		write(t, filepath.Join(cache, name), "x")
	}
	orphan := filepath.Join(cache, "node-0123456789abcdef0123456789abcdef.failed")
	write(t, orphan, `{"attempts":1}`)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(orphan, old, old)
	removed, err := Cleanup(cache, time.Minute, time.Now())
	if err != nil || len(removed) != 1 {
		t.Errorf("Cleanup() = %v, %v; want the old failure removed", removed, err)
	}
	left, _ := os.ReadDir(cache)
	if len(left) != 3 {
		t.Errorf("the cache holds %d entries, want the 3 that are not environments", len(left))
	}
	if removed, err := Cleanup(filepath.Join(cache, "missing"), time.Minute, time.Now()); err != nil || removed != nil {
		t.Errorf("Cleanup(missing) = %v, %v", removed, err)
	}
}
