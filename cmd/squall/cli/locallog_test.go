package cli

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/logline"
)

// TestLocalLogFile: squall local --log-file writes the workers' line
// format, every line parsable and a child's stderr under its component
// and task, which squall logs --file then filters by component.
func TestLocalLogFile(t *testing.T) {
	dir := writeTopology(t, `while read line; do [ "$line" = end ] && break; done
echo "{\"pid\": $$}"; echo end
echo "hello from the child" >&2
exec cat > /dev/null
`)
	logFile := filepath.Join(t.TempDir(), "logs", "run.log")
	sigs := make(chan os.Signal, 1)
	var stdout bytes.Buffer
	stderr := &syncBuffer{}
	o := localOptions{interval: time.Hour, logLevel: "info", logFile: logFile, signals: sigs}
	done := make(chan error, 1)
	go func() { done <- runLocal(context.Background(), o, stockRegistry(&stdout), dir, &stdout, stderr) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, _ := os.ReadFile(logFile)
		if bytes.Contains(b, []byte("hello from the child")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the child's line never reached %s; stderr:\n%s", logFile, stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	sigs <- os.Interrupt
	if err := <-done; err != nil {
		t.Fatalf("runLocal = %v\nstderr:\n%s", err, stderr)
	}
	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	found := false
	for sc.Scan() {
		r, ok := logline.Parse(sc.Bytes())
		if !ok || r.Topology == "" || strings.Count(sc.Text(), " topology=") != 1 {
			t.Errorf("not a worker log line: %s", sc.Bytes())
			continue
		}
		if strings.Contains(sc.Text(), `msg="child stderr"`) && strings.Contains(sc.Text(), "hello from the child") {
			found = true
			if r.Component != "child" || !r.HasTask || r.Pid == 0 {
				t.Errorf("the child's line lacks its component, task or pid: %s", sc.Bytes())
			}
		}
	}
	if !found {
		t.Errorf("no line of the child in:\n%s", b)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(logFile), "events.log")); err != nil {
		t.Errorf("no event log beside the log file: %v", err)
	}
	if strings.Contains(stderr.String(), "hello from the child") {
		t.Errorf("the child's line went to the terminal too:\n%s", stderr)
	}

	// squall logs --file reads it, filtered by component.
	cmd := newLogsCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"--file", logFile, "child"})
	if err := cmd.ExecuteContext(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "hello from the child") || !strings.HasPrefix(out.String(), "child:") {
		t.Errorf("squall logs --file %s child printed:\n%s", logFile, &out)
	}
}
