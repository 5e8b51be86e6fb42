package testenv

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func TestPatienceDoublesUnderCI(t *testing.T) {
	t.Setenv("CI", "")
	if got := Patience(time.Second); got != time.Second {
		t.Errorf("Patience(1s) without CI = %v, want 1s", got)
	}
	t.Setenv("CI", "true")
	if !CI() {
		t.Error("CI() = false with CI=true")
	}
	if got := Patience(time.Second); got != 2*time.Second {
		t.Errorf("Patience(1s) under CI = %v, want 2s", got)
	}
}

func TestWaitUntil(t *testing.T) {
	t.Setenv("CI", "")
	n := 0
	WaitUntil(t, time.Minute, "the third poll", func() bool { n++; return n == 3 })
	if n != 3 {
		t.Errorf("cond called %d times, want 3", n)
	}
}

// fatalRecorder records a Fatalf instead of ending the test.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Helper() {}
func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic(f)
}

func TestWaitUntilTimesOut(t *testing.T) {
	t.Setenv("CI", "")
	rec := &fatalRecorder{TB: t}
	start := time.Now()
	func() {
		defer func() {
			if r := recover(); r != rec {
				t.Fatalf("WaitUntil did not fail the test: %v", r)
			}
		}()
		WaitUntil(rec, 50*time.Millisecond, "never", func() bool { return false })
	}()
	if rec.msg == "" || time.Since(start) < 50*time.Millisecond {
		t.Errorf("WaitUntil failed after %v with %q", time.Since(start), rec.msg)
	}
}

func TestWaitErr(t *testing.T) {
	t.Setenv("CI", "")
	n := 0
	WaitErr(t, time.Minute, "the third poll", func() error {
		if n++; n < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if n != 3 {
		t.Errorf("cond called %d times, want 3", n)
	}
}

func TestWaitErrTimesOutWithTheLastError(t *testing.T) {
	t.Setenv("CI", "")
	rec := &fatalRecorder{TB: t}
	n := 0
	func() {
		defer func() {
			if r := recover(); r != rec {
				t.Fatalf("WaitErr did not fail the test: %v", r)
			}
		}()
		WaitErr(rec, 50*time.Millisecond, "never", func() error { n++; return errors.New("still failing") })
	}()
	if !strings.Contains(rec.msg, "still failing") || !strings.Contains(rec.msg, "never") {
		t.Errorf("WaitErr failed with %q, want the last error and what it waited for", rec.msg)
	}
}

func TestLoggerStopsWithTheTest(t *testing.T) {
	var log func()
	t.Run("inner", func(t *testing.T) {
		l := Logger(t)
		l.Warn("while the test runs")
		log = func() { l.Warn("after the test") }
	})
	log() // would panic if it reached the ended test's log
}

func TestFreePortsAreFreeAndOutsideTheEphemeralRange(t *testing.T) {
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if _, err := fmt.Sscan(string(b), &low); err != nil {
			t.Fatalf("ip_local_port_range %q: %v", b, err)
		}
	}
	if got := ephemeralLow(); got != low {
		t.Errorf("ephemeralLow() = %d, the machine's range starts at %d", got, low)
	}
	first, second := FreePorts(t, 3), FreePorts(t, 3)
	seen := map[int]bool{}
	for _, p := range append(first, second...) {
		if p >= low || seen[p] {
			t.Errorf("FreePorts(3) twice = %v, %v: want distinct ports below %d", first, second, low)
		}
		seen[p] = true
	}
	if len(seen) != 6 {
		t.Fatalf("FreePorts(3) twice = %v, %v", first, second)
	}
}
