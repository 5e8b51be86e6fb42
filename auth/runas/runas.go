// Package runas is the pure part of supervisor.run.worker.as.user: it maps
// a topology's owner to a local user and group, refuses users a worker
// must never run as (root, system accounts, a configured list), and makes
// the syscall.Credential that starts the worker, its children and its
// dependency installs as that user. It also hands the worker's directory
// over to that user. docs/security.md describes the wiring into the
// supervisor.
package runas

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// Configuration keys: Storm's switch, and squall's forms of the min.user.id
// and banned.users of Storm's worker-launcher.cfg.
const (
	KeyRunWorkerAsUser = "supervisor.run.worker.as.user"
	KeyMinUID          = "supervisor.run.worker.as.user.min.uid"
	KeyBannedUsers     = "supervisor.run.worker.as.user.banned.users"
	// KeyAllowedSystemUsers is Storm's allowed.system.users: users a
	// worker may run as although their uid is below the minimum (root
	// only when listed).
	KeyAllowedSystemUsers = "supervisor.run.worker.as.user.allowed.system.users"
)

// DefaultMinUID is the lowest uid a worker runs as by default: below it are
// system accounts (Storm's worker-launcher uses the same default).
const DefaultMinUID = 1000

// Errors.
var (
	// ErrNoOwner means the topology has no owner to run as (it was
	// submitted without authentication).
	ErrNoOwner = errors.New("topology has no owner")
	// ErrUnknownUser means the owner maps to no local user.
	ErrUnknownUser = errors.New("no such local user")
	// ErrRefusedUser means the local user is root, a system account or
	// banned.
	ErrRefusedUser = errors.New("refusing to run a worker as this user")
	// ErrNotRoot means the supervisor cannot switch users: it does not
	// run as root.
	ErrNotRoot = errors.New("supervisor.run.worker.as.user needs the supervisor to run as root")
)

// Config is the run-as-user configuration.
type Config struct {
	// Enabled is supervisor.run.worker.as.user.
	Enabled bool
	// MinUID is the lowest uid allowed (DefaultMinUID by default); uid 0
	// is refused whatever it says.
	MinUID int
	// Banned lists local users never run as.
	Banned []string
	// AllowedSystem lists users allowed below MinUID, root included if
	// listed.
	AllowedSystem []string
}

// ConfigFromConf reads the keys from conf.
func ConfigFromConf(conf map[string]any) (Config, error) {
	c := Config{MinUID: DefaultMinUID}
	if v, ok := conf[KeyRunWorkerAsUser]; ok && v != nil {
		switch b := v.(type) {
		case bool:
			c.Enabled = b
		case string:
			p, err := strconv.ParseBool(b)
			if err != nil {
				return c, fmt.Errorf("config %s: %q is not a boolean", KeyRunWorkerAsUser, b)
			}
			c.Enabled = p
		default:
			return c, fmt.Errorf("config %s: %v (%T) is not a boolean", KeyRunWorkerAsUser, v, v)
		}
	}
	if v, ok := conf[KeyMinUID]; ok && v != nil {
		n, err := toInt(v)
		if err != nil || n < 1 {
			return c, fmt.Errorf("config %s: %v is not a positive integer", KeyMinUID, v)
		}
		c.MinUID = n
	}
	var err error
	if c.Banned, err = users(conf, KeyBannedUsers); err != nil {
		return c, err
	}
	if c.AllowedSystem, err = users(conf, KeyAllowedSystemUsers); err != nil {
		return c, err
	}
	return c, nil
}

// users reads a list of user names under key.
func users(conf map[string]any, key string) ([]string, error) {
	v, ok := conf[key]
	if !ok || v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("config %s: %v (%T) is not a list of user names", key, v, v)
	}
	var out []string
	for _, e := range list {
		s, ok := e.(string)
		if !ok {
			return nil, fmt.Errorf("config %s: %v is not a user name", key, e)
		}
		out = append(out, s)
	}
	return out, nil
}

func toInt(v any) (int, error) {
	switch n := v.(type) {
	case int:
		return n, nil
	case int64:
		return int(n), nil
	case float64:
		if n == float64(int(n)) {
			return int(n), nil
		}
	case string:
		return strconv.Atoi(n)
	}
	return 0, fmt.Errorf("%v is not an integer", v)
}

// CheckCanSwitch returns ErrNotRoot unless the process can start others as
// any user (it runs as root). The supervisor calls it at start when
// Enabled.
func CheckCanSwitch() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w (it runs as uid %d)", ErrNotRoot, os.Geteuid())
	}
	return nil
}

// LocalName maps a topology's owner (a principal name) to a local user
// name: the part before any '/' or '@', as Storm's Kerberos principal to
// local mapping does ("alice/host@EXAMPLE.COM" is alice). The result must
// be a portable user name: letters, digits, '.', '_', '-', starting with
// a letter, digit or '_', at most 32 bytes.
func LocalName(owner string) (string, error) {
	if owner == "" {
		return "", ErrNoOwner
	}
	name := owner
	if i := strings.IndexAny(name, "/@"); i >= 0 {
		name = name[:i]
	}
	if name == "" || len(name) > 32 || name[0] == '-' || name[0] == '.' {
		return "", fmt.Errorf("%w: owner %q maps to no valid user name", ErrUnknownUser, owner)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return "", fmt.Errorf("%w: owner %q maps to %q, not a portable user name", ErrUnknownUser, owner, name)
		}
	}
	return name, nil
}

// Identity is the local user a topology's workers run as.
type Identity struct {
	User     string
	UID, GID uint32
	// Groups are the user's supplementary groups.
	Groups []uint32
	Home   string
}

// Lookup maps owner to its local user and checks it against cfg: the
// user must exist, have a uid of at least cfg.MinUID (not root) unless
// cfg.AllowedSystem lists it, and not be banned.
func Lookup(owner string, cfg Config) (Identity, error) {
	name, err := LocalName(owner)
	if err != nil {
		return Identity{}, err
	}
	id, err := resolve(name)
	if err != nil {
		return Identity{}, err
	}
	minUID := cfg.MinUID
	if minUID < 1 {
		minUID = 1
	}
	allowed := slices.Contains(cfg.AllowedSystem, name)
	switch {
	case id.UID == 0 && !allowed:
		return Identity{}, fmt.Errorf("%w: %s is root (list it in %s to allow it)", ErrRefusedUser, name, KeyAllowedSystemUsers)
	case int64(id.UID) < int64(minUID) && !allowed:
		return Identity{}, fmt.Errorf("%w: %s has uid %d, below %s %d", ErrRefusedUser, name, id.UID, KeyMinUID, minUID)
	case slices.Contains(cfg.Banned, name):
		return Identity{}, fmt.Errorf("%w: %s is in %s", ErrRefusedUser, name, KeyBannedUsers)
	}
	return id, nil
}

// resolve looks a local user up, without policy.
func resolve(name string) (Identity, error) {
	u, err := user.Lookup(name)
	if err != nil {
		var unknown user.UnknownUserError
		if errors.As(err, &unknown) {
			return Identity{}, fmt.Errorf("%w: %s", ErrUnknownUser, name)
		}
		return Identity{}, fmt.Errorf("look up user %s: %w", name, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return Identity{}, fmt.Errorf("user %s: uid %q: %w", name, u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return Identity{}, fmt.Errorf("user %s: gid %q: %w", name, u.Gid, err)
	}
	id := Identity{User: u.Username, UID: uint32(uid), GID: uint32(gid), Home: u.HomeDir}
	gids, err := u.GroupIds()
	if err != nil {
		return Identity{}, fmt.Errorf("user %s: groups: %w", name, err)
	}
	for _, g := range gids {
		n, err := strconv.ParseUint(g, 10, 32)
		if err != nil {
			return Identity{}, fmt.Errorf("user %s: group id %q: %w", name, g, err)
		}
		if uint32(n) != id.GID {
			id.Groups = append(id.Groups, uint32(n))
		}
	}
	slices.Sort(id.Groups)
	return id, nil
}

// Credential returns what exec.Cmd.SysProcAttr.Credential takes to start a
// process as id, with its supplementary groups (and none of the
// supervisor's).
func (id Identity) Credential() *syscall.Credential {
	return &syscall.Credential{Uid: id.UID, Gid: id.GID, Groups: slices.Clone(id.Groups)}
}

// Env returns the environment entries that describe id to the worker
// (USER, LOGNAME, HOME), to lay over the supervisor's.
func (id Identity) Env() []string {
	return []string{"USER=" + id.User, "LOGNAME=" + id.User, "HOME=" + id.Home}
}

// Own gives id the directory dir and everything under it, without
// following symbolic links (whose targets could be anywhere), and makes
// dir itself 0700.
func (id Identity) Own(dir string) error {
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(id.UID), int(id.GID))
	})
	if err != nil {
		return fmt.Errorf("give %s to %s: %w", dir, id.User, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("give %s to %s: %w", dir, id.User, err)
	}
	return nil
}
