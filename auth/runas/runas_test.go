package runas

import (
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestLocalName(t *testing.T) {
	tests := []struct {
		owner, want string
		err         error
	}{
		{"alice", "alice", nil},
		{"alice@EXAMPLE.COM", "alice", nil},
		{"alice/host.example.com@EXAMPLE.COM", "alice", nil},
		{"svc_etl-2.prod", "svc_etl-2.prod", nil},
		{"", "", ErrNoOwner},
		{"@EXAMPLE.COM", "", ErrUnknownUser},
		{"-rf", "", ErrUnknownUser},
		{"spiffe://cluster/u/bob", "", ErrUnknownUser},
		{"al ice", "", ErrUnknownUser},
		{"../etc", "", ErrUnknownUser},
		{".hidden", "", ErrUnknownUser},
		{strings.Repeat("a", 33), "", ErrUnknownUser},
	}
	for _, tt := range tests {
		got, err := LocalName(tt.owner)
		if got != tt.want || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
			t.Errorf("LocalName(%q) = %q, %v; want %q, %v", tt.owner, got, err, tt.want, tt.err)
		}
	}
}

func TestResolveCurrentUser(t *testing.T) {
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	id, err := resolve(me.Username)
	if err != nil {
		t.Fatal(err)
	}
	if strconv.Itoa(int(id.UID)) != me.Uid || strconv.Itoa(int(id.GID)) != me.Gid || id.User != me.Username || id.Home != me.HomeDir {
		t.Errorf("resolve(%s) = %+v, want uid %s gid %s", me.Username, id, me.Uid, me.Gid)
	}
	c := id.Credential()
	if c.Uid != uint32(os.Getuid()) || c.Gid != uint32(os.Getgid()) {
		t.Errorf("Credential() = %+v, want uid %d gid %d", c, os.Getuid(), os.Getgid())
	}
	for _, g := range c.Groups {
		if g == c.Gid {
			t.Errorf("supplementary groups %v repeat the primary group", c.Groups)
		}
	}
	if env := strings.Join(id.Env(), " "); !strings.Contains(env, "USER="+me.Username) || !strings.Contains(env, "HOME="+me.HomeDir) {
		t.Errorf("Env() = %s", env)
	}

	// The policy: the current user passes or fails by its uid.
	cfg := Config{Enabled: true, MinUID: 1}
	_, err = Lookup(me.Username, cfg)
	if id.UID == 0 {
		if !errors.Is(err, ErrRefusedUser) {
			t.Errorf("Lookup(root) = %v, want ErrRefusedUser", err)
		}
	} else {
		if err != nil {
			t.Errorf("Lookup(%s, min uid 1) = %v", me.Username, err)
		}
		cfg.MinUID = int(id.UID) + 1
		if _, err := Lookup(me.Username, cfg); !errors.Is(err, ErrRefusedUser) {
			t.Errorf("Lookup(uid below the minimum) = %v, want ErrRefusedUser", err)
		}
		cfg = Config{MinUID: 1, Banned: []string{me.Username}}
		if _, err := Lookup(me.Username, cfg); !errors.Is(err, ErrRefusedUser) {
			t.Errorf("Lookup(banned) = %v, want ErrRefusedUser", err)
		}
	}
	if _, err := Lookup("root", Config{MinUID: 0}); !errors.Is(err, ErrRefusedUser) {
		t.Errorf("Lookup(root, min uid 0) = %v, want ErrRefusedUser", err)
	}
	if _, err := Lookup("squall-no-such-user-x", Config{}); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("Lookup(unknown) = %v, want ErrUnknownUser", err)
	}
	if _, err := Lookup("", Config{}); !errors.Is(err, ErrNoOwner) {
		t.Errorf("Lookup(no owner) = %v, want ErrNoOwner", err)
	}
}

func TestConfigFromConf(t *testing.T) {
	c, err := ConfigFromConf(map[string]any{})
	if err != nil || c.Enabled || c.MinUID != DefaultMinUID {
		t.Errorf("defaults = %+v, %v", c, err)
	}
	c, err = ConfigFromConf(map[string]any{KeyRunWorkerAsUser: "true", KeyMinUID: 500, KeyBannedUsers: []any{"bin", "daemon"}})
	if err != nil || !c.Enabled || c.MinUID != 500 || len(c.Banned) != 2 {
		t.Errorf("ConfigFromConf() = %+v, %v", c, err)
	}
	for _, bad := range []map[string]any{
		{KeyRunWorkerAsUser: "sometimes"},
		{KeyRunWorkerAsUser: 1},
		{KeyMinUID: 0},
		{KeyMinUID: "x"},
		{KeyBannedUsers: "bin"},
		{KeyBannedUsers: []any{1}},
	} {
		if _, err := ConfigFromConf(bad); err == nil {
			t.Errorf("ConfigFromConf(%v) = nil error", bad)
		}
	}
}

// As root, a process started with the Credential runs as the user, with
// exactly that user's groups, and the directory Own hands over is theirs.
func TestRunAsNobody(t *testing.T) {
	if os.Geteuid() != 0 {
		if err := CheckCanSwitch(); !errors.Is(err, ErrNotRoot) {
			t.Errorf("CheckCanSwitch() as uid %d = %v, want ErrNotRoot", os.Geteuid(), err)
		}
		t.Skip("switching users needs root")
	}
	if err := CheckCanSwitch(); err != nil {
		t.Fatal(err)
	}
	if _, err := user.Lookup("nobody"); err != nil {
		t.Skip("no user nobody on this machine")
	}
	id, err := Lookup("nobody", Config{MinUID: 1})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.Chmod(filepath.Dir(dir), 0o755)
	work := filepath.Join(dir, "worker")
	if err := os.MkdirAll(filepath.Join(work, "pids"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "topology.secret"), []byte("s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A link to a root file must not hand that file over.
	if err := os.Symlink("/etc/passwd", filepath.Join(work, "link")); err != nil {
		t.Fatal(err)
	}
	if err := id.Own(work); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat("/etc/passwd"); fi.Sys().(*syscall.Stat_t).Uid != 0 {
		t.Fatalf("Own followed a symbolic link and gave /etc/passwd away")
	}

	cmd := exec.Command("sh", "-c", `id -u; id -g; id -G; cat topology.secret; touch pids/1 && echo wrote`)
	cmd.Dir = work
	cmd.Env = append([]string{"PATH=/usr/bin:/bin"}, id.Env()...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: id.Credential()}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 5 {
		t.Fatalf("output %q", out)
	}
	if lines[0] != strconv.Itoa(int(id.UID)) || lines[1] != strconv.Itoa(int(id.GID)) {
		t.Errorf("ran as uid %s gid %s, want %d %d", lines[0], lines[1], id.UID, id.GID)
	}
	for _, g := range strings.Fields(lines[2]) {
		if g == "0" {
			t.Errorf("the worker kept the supervisor's group 0: %s", lines[2])
		}
	}
	if lines[3] != "s" || lines[4] != "wrote" {
		t.Errorf("the worker could not read its secret or write its directory: %q", out)
	}
	// Root's own files stay out of reach.
	cmd = exec.Command("cat", "/root/.squall-runas-probe")
	os.WriteFile("/root/.squall-runas-probe", []byte("x"), 0o600)
	defer os.Remove("/root/.squall-runas-probe")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: id.Credential()}
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Errorf("the worker read a 0600 root file: %s", out)
	}
}

// TestAllowedSystemUsers: Storm's allowed.system.users lets listed users
// below the minimum uid run workers, root included only when listed; a
// banned user stays banned.
func TestAllowedSystemUsers(t *testing.T) {
	c, err := ConfigFromConf(map[string]any{KeyAllowedSystemUsers: []any{"daemon", "root"}})
	if err != nil || len(c.AllowedSystem) != 2 {
		t.Fatalf("ConfigFromConf = %+v, %v", c, err)
	}
	if _, err := ConfigFromConf(map[string]any{KeyAllowedSystemUsers: "daemon"}); err == nil {
		t.Error("a string for the list was accepted")
	}
	for _, tt := range []struct {
		user string
		cfg  Config
		ok   bool
	}{
		{"daemon", Config{MinUID: 1000}, false},
		{"daemon", Config{MinUID: 1000, AllowedSystem: []string{"daemon"}}, true},
		{"daemon", Config{MinUID: 1000, AllowedSystem: []string{"daemon"}, Banned: []string{"daemon"}}, false},
		{"root", Config{MinUID: 1000, AllowedSystem: []string{"daemon"}}, false},
		{"root", Config{MinUID: 1000, AllowedSystem: []string{"root"}}, true},
	} {
		_, err := Lookup(tt.user, tt.cfg)
		if tt.ok && err != nil || !tt.ok && !errors.Is(err, ErrRefusedUser) {
			t.Errorf("Lookup(%s, %+v) = %v, want allowed %v", tt.user, tt.cfg, err, tt.ok)
		}
	}
}
