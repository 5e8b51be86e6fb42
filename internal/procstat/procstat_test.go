package procstat

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	// A command name with spaces and parentheses, as a child may be named.
	line := "4242 (my (odd) bolt) S 1 4243 4242 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 1 0 123456 1000000 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
	s, err := Parse([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	want := Stat{Pid: 4242, State: 'S', PPid: 1, Pgid: 4243, StartTicks: 123456, CPU: 3100 * time.Millisecond, RSS: 300 * int64(os.Getpagesize())}
	if s != want {
		t.Errorf("Parse = %+v, want %+v", s, want)
	}
	if s.Zombie() {
		t.Errorf("a sleeping process reads as a zombie")
	}
}

func TestParseRefuses(t *testing.T) {
	for _, line := range []string{
		"",
		"4242 bolt S 1",
		"x (bolt) S 1 2 3",
		"4242 (bolt) S 1 2 3",
		"4242 (bolt) S 1 4242 4242 0 -1 4194560 100 0 0 0 x 50 7 3 20 0 1 0 123456 1000000 300",
		"4242 (bolt) S x 4242 4242 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 1 0 123456 1000000 300",
		"4242 (bolt) S 1 -x 4242 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 1 0 123456 1000000 300",
	} {
		if _, err := Parse([]byte(line)); !errors.Is(err, ErrFormat) {
			t.Errorf("Parse(%q) = %v, want ErrFormat", line, err)
		}
	}
}

func TestReadSelf(t *testing.T) {
	deadline := time.Now().Add(10 * time.Second)
	for x := 0; ; x++ { // spend some CPU, which /proc counts in 10ms ticks
		s, err := Read(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		if s.CPU > 0 {
			if s.Pid != os.Getpid() || s.PPid != os.Getppid() || s.Pgid != syscall.Getpgrp() || s.RSS <= 0 || s.StartTicks == 0 || s.State == 0 {
				t.Errorf("Read(self) = %+v", s)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no CPU time after 10s of spinning: %+v", s)
		}
	}
}

func TestReadMissing(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(cmd.Process.Pid); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Read of a reaped process = %v, want fs.ErrNotExist", err)
	}
}

func TestCPUTotal(t *testing.T) {
	var c CPUTotal
	self := os.Getpid()
	// Spin until this process has some CPU time to count.
	deadline := time.Now().Add(10 * time.Second)
	var first time.Duration
	for first == 0 && time.Now().Before(deadline) {
		first = c.Read(self)
	}
	if first == 0 {
		t.Fatal("no CPU time")
	}
	// The child went away: its time stays counted.
	if got := c.Read(0); got != first {
		t.Errorf("after the child went: %v, want %v", got, first)
	}
	// A new child (here, the same process again seen as a new one after
	// none): its time adds to the first's.
	if got := c.Read(self); got < 2*first {
		t.Errorf("with a second child: %v, want at least %v", got, 2*first)
	}
	if got := c.Read(self); got < 2*first {
		t.Errorf("total shrank: %v", got)
	}
}
