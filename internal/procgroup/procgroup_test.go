package procgroup

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
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
	p.Stop(100 * time.Millisecond)
	// The grandchild is not ours to reap; it is gone once init reaps it.
	deadline := time.Now().Add(5 * time.Second)
	for Alive(grandchild) && !isZombie(grandchild) {
		if time.Now().After(deadline) {
			syscall.Kill(grandchild, syscall.SIGKILL)
			t.Fatalf("grandchild %d survived Stop", grandchild)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// isZombie reports whether pid has exited and awaits reaping by its parent.
func isZombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] == 'Z'
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
