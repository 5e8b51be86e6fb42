package e2e_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/procgroup"
	"github.com/squallstream/squall/internal/procstat"
	"github.com/squallstream/squall/internal/testenv"
	"github.com/squallstream/squall/state/provider"
)

// The state fault tests (docs/windowing-and-state.md, "Fault tests"): a
// stateful Python word count over a reliable spout of statefulMessages
// known sentences (testdata/stateful), with exactly-once state on and off,
// while its counting child and its whole process are killed with SIGKILL.
// The final counts are read from the committed state: with exactly-once
// they equal the expected counts; in Storm's mode none is below, and the
// duplicates are reported.

// statefulMessages is the number of sentences: the 50k. Acks wait
// for the checkpoint holding them, so with max.spout.pending 2000 and a
// 500 ms interval the spout sends at most 4000 a second.
const statefulMessages = 50000

// statefulTopology is the topology's name (testdata/stateful).
const statefulTopology = "e2e-stateful"

// sentenceWords is sentence n's words, as testdata/stateful's spout makes
// them.
func sentenceWords(n int) []string {
	words := make([]string, 1+n%5)
	for k := range words {
		words[k] = "w" + strconv.Itoa((n*7919+k*104729)%211)
	}
	return words
}

// sentenceCounts counts the words of sentences 0 to n-1.
func sentenceCounts(n int) map[string]int64 {
	want := map[string]int64{}
	for i := range n {
		for _, w := range sentenceWords(i) {
			want[w]++
		}
	}
	return want
}

// readCommittedCounts reads the committed word counts of every task of
// the count component from a state provider, summed (each word lives in
// one task); a task id nobody wrote reads empty.
func readCommittedCounts(t *testing.T, p *provider.Provider) map[string]int64 {
	t.Helper()
	counts := map[string]int64{}
	clear(taskOf)
	for task := 1; task <= 32; task++ {
		st, err := p.State(provider.Namespace(statefulTopology, "count", task))
		if err != nil {
			t.Fatal(err)
		}
		err = st.Range(func(k string, v []byte) bool {
			if strings.HasPrefix(k, "\x00") {
				return true // squall's own records (exactly-once ids)
			}
			var word string
			var n int64
			if err := json.Unmarshal([]byte(k), &word); err != nil {
				t.Errorf("task %d: key %q: %v", task, k, err)
			}
			if err := json.Unmarshal(v, &n); err != nil {
				t.Errorf("task %d: count of %q is %q: %v", task, k, v, err)
			}
			counts[word] += n
			taskOf[word] = task
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return counts
}

// taskOf is the task whose state holds each word, as last read.
var taskOf = map[string]int{}

// checkCounts compares the committed counts with the expected ones:
// equal with exactly-once; otherwise none below, and the duplicates
// (committed minus expected, summed) reported. It returns the duplicates.
func checkCounts(t *testing.T, got map[string]int64, exactlyOnce bool) int64 {
	t.Helper()
	want := sentenceCounts(statefulMessages)
	var dups, missing int64
	dupsByTask := map[int]int64{}
	var low []string
	for w, n := range want {
		switch g := got[w]; {
		case g < n:
			missing += n - g
			low = append(low, fmt.Sprintf("%s=%d (want %d)", w, g, n))
		case g > n:
			dups += g - n
			dupsByTask[taskOf[w]] += g - n
		}
	}
	for w, g := range got {
		if _, ok := want[w]; !ok {
			t.Errorf("committed count of a word no sentence has: %q=%d", w, g)
		}
	}
	if len(low) > 0 {
		t.Errorf("%d word counts below their expected value (%d counts lost), first %v", len(low), missing, low[:min(len(low), 10)])
	}
	if exactlyOnce && dups > 0 {
		t.Errorf("exactly-once: %d counts above their expected value (by task %v)", dups, dupsByTask)
	}
	var total int64
	for _, n := range want {
		total += n
	}
	t.Logf("committed counts: %d words, %d counts expected, %d duplicates (%.2f%%)", len(want), total, dups, 100*float64(dups)/float64(total))
	return dups
}

// childrenIn returns the live processes named in a pid directory whose
// command line contains script.
func childrenIn(pidDir, script string) []int {
	entries, _ := os.ReadDir(pidDir)
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !procgroup.Alive(pid) {
			continue
		}
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if bytes.Contains(cmd, []byte(script)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// killChildOf kills with SIGKILL one child running script, found through
// a worker's pid directory (findDir returns one naming such a child, or
// ""), and waits until that worker started another.
func killChildOf(t *testing.T, findDir func() string, script string, timeout time.Duration) {
	t.Helper()
	var dir string
	var victim int
	waitUntil(t, timeout, "a "+script+" child to run", func() bool {
		if dir = findDir(); dir != "" {
			if pids := childrenIn(dir, script); len(pids) > 0 {
				victim = pids[0]
				return true
			}
		}
		return false
	})
	before := len(childrenIn(dir, script))
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatalf("kill %s child %d: %v", script, victim, err)
	}
	waitUntil(t, timeout, "the "+script+" child to be replaced", func() bool {
		return !procgroup.Alive(victim) && len(childrenIn(dir, script)) >= before
	})
	t.Logf("killed %s child %d with SIGKILL; its worker started another", script, victim)
}

// countAckedIn returns how many distinct sentences the spout recorded as
// acked in dir.
func countAckedIn(dir string) int {
	ids, _ := readAcked(filepath.Join(dir, "acked.txt"))
	return len(ids)
}

// waitAcked waits until at least n sentences are acked.
func waitAcked(t *testing.T, dir string, n int, timeout time.Duration, alive func() error) {
	t.Helper()
	testenv.WaitErr(t, timeout, fmt.Sprintf("%d sentences acked", n), func() error {
		if err := alive(); err != nil {
			t.Fatal(err)
		}
		if got := countAckedIn(dir); got < n {
			return fmt.Errorf("%d acked", got)
		}
		return nil
	})
}

// statefulPatience is how long one phase of a fault test may take; the
// waits double it in CI (testenv.Patience).
const statefulPatience = 90 * time.Second

// localStateful runs testdata/stateful in squall local, again and again on
// one state directory.
type localStateful struct {
	t           *testing.T
	dir         string // storm.local.dir and the spout's e2e.state.dir
	tmp         string // TMPDIR of squall local: its work directories
	log         string
	exactlyOnce bool
	proc        *procgroup.Process
}

// start starts squall local on the state directory.
func (l *localStateful) start() {
	l.t.Helper()
	f, err := os.OpenFile(l.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		l.t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(squallBin, "local", "--interval", "1s", "--log-level", "info",
		"-c", "storm.local.dir="+l.dir, "-c", "e2e.state.dir="+l.dir,
		"-c", "e2e.messages="+strconv.Itoa(statefulMessages),
		"-c", "topology.state.exactly.once="+strconv.FormatBool(l.exactlyOnce),
		"testdata/stateful")
	cmd.Env = append(os.Environ(), "TMPDIR="+l.tmp)
	cmd.Stdout, cmd.Stderr = f, f
	if l.proc, err = procgroup.Start(cmd); err != nil {
		l.t.Fatal(err)
	}
}

// pidDir returns the pid directory of the running squall local's worker:
// the one in its work directory (squall-local-* under TMPDIR) that names a
// live child. A killed run leaves its directory behind.
func (l *localStateful) pidDir() string {
	dirs, _ := filepath.Glob(filepath.Join(l.tmp, "squall-local-*", "pids"))
	for _, d := range dirs {
		if len(childrenIn(d, ".py")) > 0 && dirOwnedBy(d, l.proc.Pid()) {
			return d
		}
	}
	return ""
}

// dirOwnedBy reports whether a live child named in pidDir is a child of
// pid.
func dirOwnedBy(pidDir string, pid int) bool {
	for _, c := range childrenIn(pidDir, ".py") {
		if s, err := procstat.Read(c); err == nil && s.PPid == pid {
			return true
		}
	}
	return false
}

// alive reports squall local's death as an error.
func (l *localStateful) alive() error {
	if l.proc.Exited() {
		return fmt.Errorf("squall local exited (%v):\n%s", l.proc.Status(), tail(l.log, 60))
	}
	return nil
}

// killOrphans kills with SIGKILL the children a killed squall local left:
// an operator cleaning up after a crash.
func (l *localStateful) killOrphans() {
	dirs, _ := filepath.Glob(filepath.Join(l.tmp, "squall-local-*", "pids"))
	for _, d := range dirs {
		for _, pid := range childrenIn(d, ".py") {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func TestStateFaultsLocal(t *testing.T) {
	if testing.Short() {
		t.Skip("state fault tests take minutes")
	}
	needPython(t)
	// In parallel with each other and with TestStateFaultsCluster (after
	// the package's other tests): the package must end within go test's
	// default 10 minutes on a loaded machine.
	t.Parallel()
	for _, exactlyOnce := range []bool{true, false} {
		name := map[bool]string{true: "exactly-once", false: "storm"}[exactlyOnce]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testStateFaultsLocal(t, exactlyOnce)
		})
	}
}

// testStateFaultsLocal kills the counting child at 20% and 50% of the
// sentences acked and squall local itself at 70%, starts it again on the
// same state directory, and checks the counts once every sentence is
// acked.
func testStateFaultsLocal(t *testing.T, exactlyOnce bool) {
	start := time.Now()
	dir := t.TempDir()
	l := &localStateful{t: t, dir: dir, tmp: filepath.Join(dir, "tmp"), log: filepath.Join(dir, "squall-local.log"), exactlyOnce: exactlyOnce}
	if err := os.Mkdir(l.tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if l.proc != nil && !l.proc.Exited() {
			l.proc.Stop(20 * time.Second)
		}
		l.killOrphans()
		if t.Failed() {
			t.Logf("squall local's output:\n%s", tail(l.log, 80))
		}
	})
	l.start()
	patience := statefulPatience
	for _, at := range []int{20, 50} {
		waitAcked(t, dir, statefulMessages*at/100, patience, l.alive)
		t.Logf("%d%% acked after %v", at, time.Since(start).Round(time.Second))
		killChildOf(t, l.pidDir, "count.py", patience)
	}
	waitAcked(t, dir, statefulMessages*70/100, patience, l.alive)
	acked := countAckedIn(dir)
	if err := syscall.Kill(l.proc.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-l.proc.Done()
	l.killOrphans()
	t.Logf("killed squall local with SIGKILL at %d acked, %v; starting it again on its state directory", acked, time.Since(start).Round(time.Second))
	l.start()
	waitAcked(t, dir, statefulMessages, 2*patience, l.alive)
	t.Logf("all %d sentences acked after %v", statefulMessages, time.Since(start).Round(time.Second))
	l.waitCommit(patience)

	// Stop it as a user would, and read the state it committed.
	if err := l.proc.SignalGroup(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-l.proc.Done():
	case <-time.After(testenv.Patience(60 * time.Second)):
		t.Fatalf("squall local did not stop within a minute of SIGINT:\n%s", tail(l.log, 40))
	}
	p, err := provider.New(provider.Config{Kind: provider.Embedded},
		provider.Options{EmbeddedPath: filepath.Join(dir, "state", statefulTopology, "local.db")})
	if err != nil {
		t.Fatalf("open the state file: %v", err)
	}
	defer p.Close()
	checkCounts(t, readCommittedCounts(t, p), exactlyOnce)
	logged, _ := os.ReadFile(l.log)
	t.Logf("last run's checkpoint-duplicates (replays dropped): %v", metricValues(string(logged), "count", "checkpoint-duplicates"))
	t.Logf("done in %v", time.Since(start).Round(time.Second))
}

// checkpointAcks matches the checkpoint spout's row in squall local's
// progress lines (--interval, written to its log): its acked barriers.
var checkpointAcks = regexp.MustCompile(`(?m)^\S+ \$checkpointspout spout emitted=\d+ executed=\d+ acked=(\d+) `)

// checkpointAcked returns the checkpoint spout's acked barriers in squall
// local's last progress line, or -1 before the first.
func (l *localStateful) checkpointAcked() int {
	logged, _ := os.ReadFile(l.log)
	m := checkpointAcks.FindAllSubmatch(logged, -1)
	if len(m) == 0 {
		return -1
	}
	n, _ := strconv.Atoi(string(m[len(m)-1][1]))
	return n
}

// waitCommit waits, once every sentence is acked, for a whole checkpoint
// (a PREPARE and its COMMIT) to complete after the last ack, so that the
// committed state read next covers every acked tuple (a stateful task's
// acks wait for its commit; the wait makes the test independent of that).
// Three more acked barriers include a PREPARE and the COMMIT that follows
// it, however the barriers fell when the progress line was written.
func (l *localStateful) waitCommit(patience time.Duration) {
	l.t.Helper()
	from := max(l.checkpointAcked(), 0)
	testenv.WaitErr(l.t, patience, "a checkpoint committed after the last ack", func() error {
		if err := l.alive(); err != nil {
			l.t.Fatal(err)
		}
		if n := l.checkpointAcked(); n < from+3 {
			return fmt.Errorf("the checkpoint spout acked %d barriers, %d at the last ack", n, from)
		}
		return nil
	})
	l.t.Logf("the checkpoint spout acked %d barriers, %d at the last ack", l.checkpointAcked(), from)
}

// metricValues returns the values of a metric of a component in squall
// local's last summary, by task.
func metricValues(out, component, metric string) map[int]string {
	re := regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(component) + `\s+task (\d+)\s+` + regexp.QuoteMeta(metric) + `\s+(\S+)`)
	vals := map[int]string{}
	for _, m := range re.FindAllStringSubmatch(out, -1) {
		task, _ := strconv.Atoi(m[1])
		vals[task] = m[2]
	}
	return vals
}
