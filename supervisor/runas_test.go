package supervisor

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/squallstream/squall/auth"
	"github.com/squallstream/squall/auth/runas"
	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/internal/layout"
	"github.com/squallstream/squall/internal/testenv"
)

// runAsTestUser is the user the tests run workers as: it exists on every
// Debian system, with uid 65534.
const runAsTestUser = "nobody"

// requireRoot skips a test that must switch users, unless CI is set.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatal("running workers as another user needs root, and CI is set")
	}
	t.Skip("running workers as another user needs root")
}

// runAsSetup prepares a harness whose fake workers can run as another
// user: the test binary copied where that user may run it, and the
// control directory open to it. It returns the harness, the local
// directory (under a directory others may pass through) and the binary.
func runAsSetup(t *testing.T) (*harness, string, string) {
	t.Helper()
	base, err := os.MkdirTemp("", "squall-runas-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(base, "worker.test")
	copyFile(t, exe, bin, 0o755)
	h := newHarness(t)
	if err := os.Chmod(filepath.Dir(h.control), 0o711); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{h.control, filepath.Join(h.control, "launches"), filepath.Join(h.control, "procs")} {
		if err := os.Chmod(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	return h, filepath.Join(base, "local"), bin
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// owned fails the test unless path is owned by uid with exactly mode.
func owned(t *testing.T, path string, uid int, mode os.FileMode) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	st := fi.Sys().(*syscall.Stat_t)
	if int(st.Uid) != uid || fi.Mode().Perm() != mode {
		t.Errorf("%s: owner %d mode %v, want owner %d mode %v", path, st.Uid, fi.Mode().Perm(), uid, mode)
	}
}

// procIDs returns the real uid and gid and the supplementary groups of
// process pid, from /proc/PID/status.
func procIDs(t *testing.T, pid int) (uid, gid string, groups []string) {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, _ := strings.Cut(line, ":")
		f := strings.Fields(v)
		switch k {
		case "Uid":
			uid = f[0]
		case "Gid":
			gid = f[0]
		case "Groups":
			groups = f
		}
	}
	return uid, gid, groups
}

// TestRunWorkerAsUser: with supervisor.run.worker.as.user, a topology's
// workers and their children run as its owner's local user, with that
// user's groups only; the worker's directory, configuration, secret,
// package, log directory and dependency cache are that user's and closed
// to others; stopping the worker kills its leftover children but no
// process of another user named in its (user-writable) pid directory.
func TestRunWorkerAsUser(t *testing.T) {
	requireRoot(t)
	h, local, bin := runAsSetup(t)
	id, err := runas.Lookup(runAsTestUser, runas.Config{MinUID: 1000})
	if err != nil {
		t.Skipf("no usable %s user: %v", runAsTestUser, err)
	}
	uid := int(id.UID)
	// The workers' TLS key, the operator's: root's, 0600.
	keyFile := filepath.Join(t.TempDir(), "worker-key.pem")
	if err := os.WriteFile(keyFile, []byte("WORKER KEY"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := h.startSupervisor(local, []int{6700}, func(c *Config) {
		c.WorkerBinary = bin
		c.RunAsUser = runas.Config{Enabled: true, MinUID: 1000}
		c.WorkerConf = map[string]any{"test.key": 2, auth.KeyWorkerTLSKey: keyFile}
	})
	writeMode(t, h.control, "ras-1-1", workerMode{Leftover: true})
	if err := os.Chmod(filepath.Join(h.control, "mode-ras-1-1.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.owner = runAsTestUser + "/host.example.com@EXAMPLE.COM"
	h.submit("ras-1-1", map[string]string{"words.py": "print('hi')\n"}, nil)
	h.assign("ras-1-1", slots(cluster.Slot{NodeID: s.NodeID(), Port: 6700}, 1))
	w := s.waitRunning(t, 6700)

	wantID := strconv.FormatUint(uint64(id.UID), 10)
	gotUID, gotGID, groups := procIDs(t, w.Pid)
	if gotUID != wantID || gotGID != strconv.FormatUint(uint64(id.GID), 10) || slices.Contains(groups, "0") {
		t.Errorf("worker runs as uid %s gid %s groups %v, want %s's %d %d", gotUID, gotGID, groups, runAsTestUser, id.UID, id.GID)
	}
	dir := layout.WorkerDir(local, w.WorkerID)
	owned(t, dir, uid, 0o700)
	owned(t, layout.SecretFile(dir), uid, 0o600)
	owned(t, layout.WorkerConfFile(dir), uid, 0o600)
	var conf map[string]any
	if data, err := os.ReadFile(layout.WorkerConfFile(dir)); err != nil {
		t.Fatal(err)
	} else if err := yaml.Unmarshal(data, &conf); err != nil {
		t.Fatal(err)
	}
	copied := filepath.Join(dir, "worker-tls-key.pem")
	if conf["test.key"] != 2 || conf[auth.KeyWorkerTLSKey] != copied {
		t.Errorf("worker configuration = %v, want test.key 2 and %s %s", conf, auth.KeyWorkerTLSKey, copied)
	}
	if data, err := os.ReadFile(copied); err != nil || string(data) != "WORKER KEY" {
		t.Errorf("the worker's copy of its TLS key = %q, %v", data, err)
	}
	owned(t, copied, uid, 0o600)
	owned(t, layout.StormDist(local, "ras-1-1"), uid, 0o700)
	owned(t, filepath.Dir(layout.WorkerLog(local, "ras-1-1", 6700)), uid, 0o700)
	owned(t, layout.EnvsDir(local, uid), uid, 0o700)
	for _, d := range []string{local, layout.WorkersRoot(local), layout.StormDistRoot(local), layout.LogsRoot(local)} {
		owned(t, d, 0, 0o711)
	}
	recs := launches(t, h.control)
	if len(recs) != 1 {
		t.Fatalf("%d launches, want 1", len(recs))
	}
	if i := slices.Index(recs[0].Args, "--config"); i < 0 || recs[0].Args[i+1] != layout.WorkerConfFile(dir) {
		t.Errorf("worker args %q lack --config %s", recs[0].Args, layout.WorkerConfFile(dir))
	}

	// The worker's leftover child runs as the user too; a root process
	// named in the worker's pid directory (which the user may write)
	// must survive the sweep.
	var child int
	testenv.WaitUntil(t, testWaitDeadline, "the worker's child to record its pid", func() bool {
		entries, _ := os.ReadDir(layout.PidDir(dir))
		for _, e := range entries {
			child, _ = strconv.Atoi(e.Name())
		}
		return child > 0
	})
	if got, _, _ := procIDs(t, child); got != wantID {
		t.Errorf("the worker's child runs as uid %s, want %s", got, wantID)
	}
	victim := exec.Command("sleep", "300")
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		victim.Process.Kill()
		victim.Wait()
	})
	if err := os.WriteFile(filepath.Join(layout.PidDir(dir), strconv.Itoa(victim.Process.Pid)), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	h.unassign("ras-1-1")
	testenv.WaitUntil(t, testWaitDeadline, "the worker and its child to be gone", func() bool {
		_, ok := s.worker(6700)
		return !ok && !running(w.Pid) && !running(child)
	})
	if !running(victim.Process.Pid) {
		t.Errorf("the supervisor killed root's process %d, named in the worker's pid directory", victim.Process.Pid)
	}
}

// TestRunAsUserRefused: a topology whose owner is root, an unknown user,
// below the minimum uid, banned, or missing gets no worker; the supervisor
// says why in its log and in the topology's errors.
func TestRunAsUserRefused(t *testing.T) {
	requireRoot(t)
	h, local, bin := runAsSetup(t)
	s := h.startSupervisor(local, []int{6700, 6701, 6702, 6703, 6704}, func(c *Config) {
		c.WorkerBinary = bin
		c.RunAsUser = runas.Config{Enabled: true, MinUID: 1000, Banned: []string{runAsTestUser}}
	})
	cases := []struct{ id, owner, says string }{
		{"root-1-1", "root", "root is root"},
		{"unknown-1-1", "no-such-user-squall", "no such local user: no-such-user-squall"},
		{"daemon-1-1", "daemon", "below supervisor.run.worker.as.user.min.uid"},
		{"banned-1-1", runAsTestUser + "@EXAMPLE.COM", "is in supervisor.run.worker.as.user.banned.users"},
		{"anon-1-1", "", "topology has no owner"},
	}
	for i, c := range cases {
		h.owner = c.owner
		h.submit(c.id, map[string]string{"a.py": "\n"}, nil)
		h.assign(c.id, slots(cluster.Slot{NodeID: s.NodeID(), Port: 6700 + i}, 1))
	}
	for _, c := range cases {
		testenv.WaitUntil(t, testWaitDeadline, "the refusal of "+c.id+" in its errors", func() bool {
			errs, err := h.admin.ListErrors(t.Context(), c.id)
			return err == nil && slices.ContainsFunc(errs, func(e cluster.ErrorInfo) bool {
				return strings.Contains(e.Message, c.says) && strings.Contains(e.Message, ErrRunAs.Error())
			})
		})
		if len(s.logs.find("launching worker", c.id, c.says)) == 0 {
			t.Errorf("no supervisor log line says why %s was not launched (%s)", c.id, c.says)
		}
	}
	if recs := launches(t, h.control); len(recs) != 0 {
		t.Errorf("%d workers launched, want none: %+v", len(recs), recs)
	}
}

// TestEarlyLogRefusesLinks: a worker's user, who owns its slot's log
// directory, cannot make the supervisor append to another file through a
// symbolic or hard link in place of the early log.
func TestEarlyLogRefusesLinks(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("precious\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, link := range map[string]func(string) error{
		"symbolic": func(p string) error { return os.Symlink(victim, p) },
		"hard":     func(p string) error { return os.Link(victim, p) },
	} {
		p := filepath.Join(dir, name, "worker.log.err")
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := link(p); err != nil {
			t.Fatal(err)
		}
		if f, err := openEarlyLog(p); err == nil {
			f.Write([]byte("worker output\n"))
			f.Close()
			t.Errorf("openEarlyLog opened a %s link", name)
		}
	}
	if data, _ := os.ReadFile(victim); string(data) != "precious\n" {
		t.Errorf("the linked file became %q", data)
	}
}
