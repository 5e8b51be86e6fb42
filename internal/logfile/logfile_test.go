package logfile

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/topology"
)

// The test binary is the process whose output is captured (helperMain).
const envHelper = "LOGFILE_TEST_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(envHelper); mode != "" {
		os.Exit(helperMain(mode))
	}
	os.Exit(m.Run())
}

// helperMain captures its output into $LOG with 1 MiB files and 2
// backups, then: "flood" writes 5 MiB of numbered lines to stdout and
// stderr and stops; "crash" panics.
func helperMain(mode string) int {
	log, stop, err := Capture(os.Getenv("LOG"), Rotation{MaxSizeMB: 1, MaxBackups: 2})
	if err != nil {
		fmt.Fprintln(os.Stderr, "capture:", err)
		return 2
	}
	fmt.Println("first line, on stdout")
	fmt.Fprintln(os.Stderr, "second line, on stderr")
	fmt.Fprintln(log, "a log line, written to the log")
	switch mode {
	case "crash":
		panic("the worker broke")
	case "flood":
		for i := range 50_000 {
			w := os.Stdout
			if i%2 == 1 {
				w = os.Stderr
			}
			fmt.Fprintf(w, "line %06d %s\n", i, strings.Repeat("x", 90))
		}
		fmt.Println("last line")
	}
	if err := stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stop:", err)
		return 2
	}
	fmt.Fprintln(os.Stderr, "after stop, on the original stderr")
	return 0
}

// runHelper runs helperMain in mode and returns its original stderr.
func runHelper(t *testing.T, mode, log string) (string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envHelper+"="+mode, "LOG="+log)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	err := cmd.Run()
	return stderr.String(), err
}

// readLogs returns the text of the log at path and its backups, oldest
// first, and their number.
func readLogs(t *testing.T, path string) (string, []string) {
	t.Helper()
	backups, _ := filepath.Glob(strings.TrimSuffix(path, ".log") + "-*")
	var all bytes.Buffer
	for _, b := range backups {
		f, err := os.Open(b)
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = f
		if strings.HasSuffix(b, ".gz") {
			if r, err = gzip.NewReader(f); err != nil {
				t.Fatal(err)
			}
		}
		io.Copy(&all, r)
		f.Close()
	}
	cur, _ := os.ReadFile(path)
	all.Write(cur)
	return all.String(), backups
}

// TestCaptureFlood: a process writing 5 MiB keeps at most its file and
// two backups of about 1 MiB each; the newest lines are there, whole, and
// what it writes after stop goes where it went before.
func TestCaptureFlood(t *testing.T) {
	log := filepath.Join(t.TempDir(), "logs", "worker.log")
	out, err := runHelper(t, "flood", log)
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	if !strings.Contains(out, "after stop, on the original stderr") || strings.Contains(out, "line 0") {
		t.Errorf("original stderr:\n%.500s", out)
	}
	// Backups are compressed in the background: wait for the last.
	var text string
	var backups []string
	deadline := time.Now().Add(30 * time.Second)
	for {
		text, backups = readLogs(t, log)
		done := len(backups) <= 2
		for _, b := range backups {
			done = done && strings.HasSuffix(b, ".gz")
		}
		if done || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(backups) > 2 {
		t.Errorf("%d backups, want at most 2: %v", len(backups), backups)
	}
	var total int64
	for _, f := range append(backups, log) {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		total += fi.Size()
		if fi.Mode().Perm()&0o007 != 0 {
			t.Errorf("%s: mode %v, readable by others", f, fi.Mode())
		}
	}
	if total > 3<<20 {
		t.Errorf("logs take %d bytes on disk, want at most 3 MiB", total)
	}
	if fi, err := os.Stat(filepath.Dir(log)); err != nil || fi.Mode().Perm() != DirMode {
		t.Errorf("log directory: %v, %v; want mode %v", fi.Mode(), err, os.FileMode(DirMode))
	}
	if !strings.HasSuffix(text, "last line\n") || !strings.Contains(text, "line 049999 ") {
		t.Errorf("the newest lines are missing: ...%s", text[max(0, len(text)-200):])
	}
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		if strings.HasPrefix(line, "line ") && len(line) != len("line 000000 ")+90 {
			t.Fatalf("a broken line: %q", line)
		}
	}
}

// TestCaptureCrash: the runtime's report of a crash reaches the original
// stderr (a supervisor's file), and what the process logged before is in
// its log.
func TestCaptureCrash(t *testing.T) {
	log := filepath.Join(t.TempDir(), "worker.log")
	out, err := runHelper(t, "crash", log)
	if err == nil {
		t.Fatalf("the helper did not crash:\n%s", out)
	}
	if !strings.Contains(out, "panic: the worker broke") || !strings.Contains(out, "goroutine ") {
		t.Errorf("original stderr lacks the crash report:\n%s", out)
	}
	if text, _ := readLogs(t, log); !strings.Contains(text, "a log line, written to the log") {
		t.Errorf("log:\n%s", text)
	}
}

func TestRotationOf(t *testing.T) {
	tests := []struct {
		conf topology.Config
		want Rotation
		ok   bool
	}{
		{topology.Config{}, DefaultRotation, true},
		{topology.Config{KeyMaxSizeMB: 10, KeyMaxBackups: 0}, Rotation{MaxSizeMB: 10, MaxBackups: 0}, true},
		{topology.Config{KeyMaxSizeMB: 0}, Rotation{}, false},
		{topology.Config{KeyMaxBackups: -1}, Rotation{}, false},
		{topology.Config{KeyMaxSizeMB: "big"}, Rotation{}, false},
	}
	for _, tt := range tests {
		got, err := RotationOf(tt.conf)
		if (err == nil) != tt.ok || tt.ok && got != tt.want {
			t.Errorf("RotationOf(%v) = %+v, %v; want %+v, ok %v", tt.conf, got, err, tt.want, tt.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "squall.log.max") {
			t.Errorf("RotationOf(%v) = %v: does not name the key", tt.conf, err)
		}
	}
}
