package cli

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/procgroup"
	"github.com/squallstream/squall/internal/testenv"
)

// devCluster is a `squall dev-cluster` process (the test binary as
// squall), its output in a file.
type devCluster struct {
	proc *procgroup.Process
	out  string
}

func startDevCluster(t *testing.T, dir string) *devCluster {
	t.Helper()
	out := filepath.Join(t.TempDir(), "dev-cluster.out")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ports := testenv.FreePorts(t, 2)
	cmd := exec.Command(os.Args[0], "dev-cluster", "--dir", dir, "--zookeeper-port", "0", "--nimbus-port", "0",
		"--ui-port", "0", "--logviewer-port", "0", "--ports", strconv.Itoa(ports[0])+","+strconv.Itoa(ports[1]), "--log-level", "info")
	cmd.Env = append(os.Environ(), envAsSquall+"=1")
	cmd.Stdout, cmd.Stderr = f, f
	proc, err := procgroup.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	d := &devCluster{proc: proc, out: out}
	t.Cleanup(func() {
		proc.Stop(30 * time.Second)
		if t.Failed() {
			b, _ := os.ReadFile(out)
			t.Logf("dev-cluster output:\n%s", b)
		}
	})
	deadline := time.Now().Add(120 * time.Second)
	for !d.said("squall dev cluster ready") {
		if proc.Exited() || time.Now().After(deadline) {
			b, _ := os.ReadFile(out)
			t.Fatalf("dev-cluster not ready (%v):\n%s", proc.Status(), b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return d
}

func (d *devCluster) said(text string) bool {
	f, err := os.Open(d.out)
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if strings.Contains(s.Text(), text) {
			return true
		}
	}
	return false
}

// interrupt sends Ctrl-C and waits for a clean exit.
func (d *devCluster) interrupt(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(d.proc.Pid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.proc.Done():
	case <-time.After(90 * time.Second):
		t.Fatal("dev-cluster did not stop within 90s of Ctrl-C")
	}
	if st := d.proc.Status(); !st.Success() {
		t.Errorf("dev-cluster exited with %v", st)
	}
}

// TestDevClusterIsFreshEachTime: the client commands find a running
// dev-cluster without --config; Ctrl-C kills its topologies, and a
// dev-cluster started again on the same directory runs none.
func TestDevClusterIsFreshEachTime(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ZooKeeper twice")
	}
	if _, err := os.Stat("/usr/share/java/zookeeper.jar"); err != nil && os.Getenv("CI") == "" {
		t.Skip("ZooKeeper is not installed (apt-get install zookeeper)")
	}
	home, wd := isolate(t)
	dir := filepath.Join(wd, "squall-dev")
	def := filepath.Join(wd, "topo", "topology.yaml")
	os.Mkdir(filepath.Dir(def), 0o700)
	os.WriteFile(def, []byte(`name: devtest
spouts:
  - {id: words, go: squall.TestWordSpout}
bolts:
  - {id: count, go: squall.Count, args: {field: word}}
streams:
  - {from: words, to: count, grouping: {type: FIELDS, args: [word]}}
`), 0o600)

	d := startDevCluster(t, dir)
	if _, err := os.Stat(filepath.Join(home, ".squall", "dev-cluster.yaml")); err != nil {
		t.Fatalf("dev-cluster did not say where it is: %v", err)
	}
	if code, out, errOut := squall(t, t.Context(), "submit", def); code != 0 || !strings.Contains(out, "Submitted topology devtest") {
		t.Fatalf("submit without --config: exit %d %s%s", code, out, errOut)
	}
	if code, out, errOut := squall(t, t.Context(), "list"); code != 0 || !strings.Contains(out, "devtest") {
		t.Fatalf("list without --config: exit %d %s%s", code, out, errOut)
	}
	d.interrupt(t)
	if _, err := os.Stat(filepath.Join(home, ".squall", "dev-cluster.yaml")); !os.IsNotExist(err) {
		t.Errorf("the stopped dev-cluster's pointer is left: %v", err)
	}

	d = startDevCluster(t, dir)
	if code, out, errOut := squall(t, t.Context(), "list"); code != 0 || !strings.Contains(out, "No topologies running") {
		t.Errorf("list after a restart: exit %d %s%s; want no topologies", code, out, errOut)
	}
	// Killed with kill -9 this time: the next one starts empty as well.
	if code, out, errOut := squall(t, t.Context(), "submit", def); code != 0 {
		t.Fatalf("submit: exit %d %s%s", code, out, errOut)
	}
	syscall.Kill(-d.proc.Pid(), syscall.SIGKILL)
	<-d.proc.Done()
	killDaemons(t, dir)
	d = startDevCluster(t, dir)
	if code, out, errOut := squall(t, t.Context(), "list"); code != 0 || !strings.Contains(out, "No topologies running") {
		t.Errorf("list after kill -9 and a restart: exit %d %s%s; want no topologies", code, out, errOut)
	}
	d.interrupt(t)
}

// killDaemons kills the nimbus, supervisor, ZooKeeper and workers a
// dev-cluster killed with kill -9 left running (each in its own process
// group), found by their command lines.
func killDaemons(t *testing.T, dir string) {
	t.Helper()
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || !strings.Contains(string(b), dir) {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p))); err == nil && pid != os.Getpid() {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}
