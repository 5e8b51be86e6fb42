package browsertest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/layout"
	"github.com/squallstream/squall/internal/procgroup"
	"github.com/squallstream/squall/internal/testenv"
)

// TestUICheckpoint shows a stateful topology's checkpoint on its page:
// the last committed txid and its age, and, once a counting child is
// stopped (SIGSTOP) so that no checkpoint commits (exactly-once state
// waits for the tuples it holds), a note that the checkpoint stalled,
// gone once the child runs again.
func TestUICheckpoint(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		need(t, "python3", err)
	}
	c := startDevCluster(t)
	base := "http://" + c.rest
	b := startBrowser(t, base)
	// The e2e suite's stateful word count, with more sentences than it
	// will send here: tuples keep flowing.
	out, err := exec.Command(squallBin, "submit", "--config", c.conf,
		"-c", "e2e.state.dir="+t.TempDir(), "-c", "e2e.messages=1000000",
		"-c", "topology.state.exactly.once=true", "-c", "topology.workers=1",
		"../../internal/e2e/testdata/stateful").CombinedOutput()
	if err != nil {
		t.Fatalf("submit: %v\n%s", err, out)
	}
	var id string
	testenv.WaitUntil(t, 60*time.Second, "the topology to be listed", func() bool {
		var list struct {
			Topologies []struct{ ID, Name string } `json:"topologies"`
		}
		c.get("/api/v1/topology/summary", &list)
		for _, tp := range list.Topologies {
			if tp.Name == "e2e-stateful" {
				id = tp.ID
			}
		}
		return id != ""
	})
	b.load(base)
	b.open("#/topology/" + id)
	field := `(document.querySelector('[data-field=checkpointTxid]') || {}).textContent || ''`
	committed := regexp.MustCompile(`^txid (\d+), committed \S+ ago$`)
	testenv.WaitUntil(t, 120*time.Second, "a committed checkpoint on the page", func() bool {
		m := committed.FindStringSubmatch(eval[string](b, field))
		if m == nil {
			b.refresh()
			return false
		}
		n, _ := strconv.Atoi(m[1])
		return n >= 1
	})
	t.Logf("checkpoint shown: %q", eval[string](b, field))
	b.check("topology-checkpoint")

	child := countChild(t, c)
	if err := syscall.Kill(child, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(child, syscall.SIGCONT)
	note := `(document.querySelector('[data-testid=checkpoint-stalled]') || {}).textContent || ''`
	testenv.WaitUntil(t, 60*time.Second, "the stalled checkpoint's note", func() bool {
		b.refresh()
		return eval[string](b, note) != ""
	})
	t.Logf("stalled: %q", eval[string](b, note))
	b.check("topology-checkpoint-stalled")
	syscall.Kill(child, syscall.SIGCONT)
	testenv.WaitUntil(t, 60*time.Second, "the note to go once checkpoints commit again", func() bool {
		b.refresh()
		return eval[string](b, note) == "" && committed.MatchString(eval[string](b, field))
	})
}

// countChild returns the pid of a count.py child, found through its
// worker's pid directory.
func countChild(t *testing.T, c *devCluster) int {
	t.Helper()
	var pid int
	testenv.WaitUntil(t, 60*time.Second, "a count.py child", func() bool {
		dirs, _ := filepath.Glob(filepath.Join(layout.WorkersRoot(c.localDir()), "*"))
		for _, d := range dirs {
			entries, _ := os.ReadDir(layout.PidDir(d))
			for _, e := range entries {
				p, err := strconv.Atoi(e.Name())
				if err != nil || !procgroup.Alive(p) {
					continue
				}
				if cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p)); bytes.Contains(cmd, []byte("count.py")) {
					pid = p
					return true
				}
			}
		}
		return false
	})
	return pid
}
