package procgroup

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/procstat"
	"github.com/squallstream/squall/internal/testenv"
)

// The test binary doubles as the child: TestMain dispatches on this
// variable before running any test.
const helperEnv = "PROCGROUP_TEST_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "exit3":
		os.Exit(3)
	case "ignore-term":
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("ready")
		time.Sleep(time.Hour)
	case "setsid-forker":
		// Start a grandchild in a session of its own, which writes its pid
		// file into $PIDDIR and ignores SIGTERM; print its pid, wait.
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), helperEnv+"=pidfile-ignore-term")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			os.Exit(10)
		}
		bufio.NewReader(out).ReadString('\n')
		fmt.Println(cmd.Process.Pid)
		time.Sleep(time.Hour)
	case "pidfile-ignore-term":
		signal.Ignore(syscall.SIGTERM)
		os.WriteFile(filepath.Join(os.Getenv("PIDDIR"), strconv.Itoa(os.Getpid())), nil, 0o644)
		fmt.Println("ready")
		time.Sleep(time.Hour)
	case "forker":
		// Start a grandchild that ignores SIGTERM, print its pid, wait.
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), helperEnv+"=ignore-term")
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			os.Exit(10)
		}
		bufio.NewReader(out).ReadString('\n')
		fmt.Println(cmd.Process.Pid)
		time.Sleep(time.Hour)
	}
	os.Exit(0)
}

func helper(t *testing.T, mode string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	return cmd
}

func TestExitStatus(t *testing.T) {
	p, err := Start(helper(t, "exit3"))
	if err != nil {
		t.Fatal(err)
	}
	<-p.Done()
	if s := p.Status(); s.Code != 3 || s.Signal != 0 || s.Success() {
		t.Errorf("Status() = %v, want exit status 3", s)
	}
	if got := p.Status().String(); got != "exit status 3" {
		t.Errorf("Status().String() = %q", got)
	}
}

func TestStopKillsWhatIgnoresTerm(t *testing.T) {
	cmd := helper(t, "ignore-term")
	r, w, _ := os.Pipe()
	cmd.Stdout = w
	p, err := Start(cmd)
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	bufio.NewReader(r).ReadString('\n') // wait until SIGTERM is ignored
	start := time.Now()
	s := p.Stop(200 * time.Millisecond)
	if s.Signal != syscall.SIGKILL {
		t.Errorf("Stop() = %v, want killed by SIGKILL", s)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("Stop returned after %v, before the grace period", d)
	}
	if !strings.Contains(s.String(), "signal 9") {
		t.Errorf("Status().String() = %q, want it to name signal 9", s)
	}
	// Stop is idempotent.
	if again := p.Stop(time.Second); again != s {
		t.Errorf("second Stop() = %v, want %v", again, s)
	}
}

func TestStopKillsGrandchildren(t *testing.T) {
	cmd := helper(t, "forker")
	r, w, _ := os.Pipe()
	cmd.Stdout = w
	p, err := Start(cmd)
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	grandchild, _ := strconv.Atoi(strings.TrimSpace(line))
	if !Alive(grandchild) {
		t.Fatalf("grandchild %d is not running", grandchild)
	}
	killLater(t, grandchild)
	p.Stop(100 * time.Millisecond)
	// The grandchild is not ours to reap; it is gone once init reaps it.
	waitGone(t, grandchild)
}

// isZombie reports whether pid has exited and awaits reaping by its parent.
func isZombie(pid int) bool {
	s, err := procstat.Read(pid)
	return err == nil && s.Zombie()
}

func TestStartTime(t *testing.T) {
	a, err := StartTime(os.Getpid())
	if err != nil || a == 0 {
		t.Fatalf("StartTime(self) = %d, %v", a, err)
	}
	b, _ := StartTime(os.Getpid())
	if a != b {
		t.Errorf("StartTime changed: %d then %d", a, b)
	}
	if _, err := StartTime(1 << 30); err == nil {
		t.Errorf("StartTime of a missing process: no error")
	}
}

// startSetsidForker starts a process whose child left its process group
// and wrote its pid file into dir; it returns both.
func startSetsidForker(t *testing.T, dir string) (*Process, int) {
	t.Helper()
	cmd := helper(t, "setsid-forker")
	cmd.Env = append(cmd.Env, "PIDDIR="+dir)
	r, w, _ := os.Pipe()
	cmd.Stdout = w
	p, err := Start(cmd)
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(0) })
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	grandchild, _ := strconv.Atoi(strings.TrimSpace(line))
	killLater(t, grandchild)
	return p, grandchild
}

// killLater kills pid when the test ends, unless it is gone by then: the
// pid may belong to another process by then, which its start time tells.
func killLater(t *testing.T, pid int) {
	start, err := StartTime(pid)
	if err != nil {
		t.Fatalf("process %d: %v", pid, err)
	}
	t.Cleanup(func() { Ident{Pid: pid, Start: start}.Kill(syscall.SIGKILL) })
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(testenv.Patience(30 * time.Second))
	for Alive(pid) && !isZombie(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still runs", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestStopWithFindsSetsidGrandchild checks that a grandchild that left the
// group survives a stop of the group alone, and that its pid file finds it.
func TestStopWithFindsSetsidGrandchild(t *testing.T) {
	dir := t.TempDir()
	// A process of the pid dir that is no descendant: spared.
	if err := os.WriteFile(filepath.Join(dir, strconv.Itoa(os.Getpid())), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "not-a-pid"), nil, 0o644)

	p, grandchild := startSetsidForker(t, dir)
	found, err := DescendantsInPidDir(dir, p.Pid())
	if err != nil || len(found) != 1 || found[0].Pid != grandchild || !found[0].Running() {
		t.Fatalf("DescendantsInPidDir = %v, %v; want the grandchild %d alone", found, err, grandchild)
	}
	p.StopWith(100*time.Millisecond, found)
	waitGone(t, grandchild)
	if found[0].Running() {
		t.Errorf("Running() = true for a killed process")
	}

	// Without the pid directory, the grandchild survives.
	p2, grandchild2 := startSetsidForker(t, t.TempDir())
	p2.Stop(100 * time.Millisecond)
	if !Alive(grandchild2) || isZombie(grandchild2) {
		t.Errorf("grandchild %d died with a group it had left: the test proves nothing", grandchild2)
	}
}

func TestKillChildren(t *testing.T) {
	dir := t.TempDir()
	cmd := helper(t, "ignore-term")
	r, w, _ := os.Pipe()
	cmd.Stdout = w
	p, err := Start(cmd)
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	bufio.NewReader(r).ReadString('\n')
	forker, grandchild := startSetsidForker(t, dir)
	if n := KillChildren(dir); n != 2 {
		t.Errorf("KillChildren = %d, want 2", n)
	}
	for _, q := range []*Process{p, forker} {
		if s := q.Status(); s.Signal != syscall.SIGKILL {
			t.Errorf("child %d: %v, want killed by SIGKILL", q.Pid(), s)
		}
	}
	waitGone(t, grandchild)
}
