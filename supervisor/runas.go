package supervisor

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"gopkg.in/yaml.v3"

	"github.com/squallstream/squall/auth"
	"github.com/squallstream/squall/auth/runas"
	"github.com/squallstream/squall/internal/layout"
)

// This file is supervisor.run.worker.as.user: the supervisor, as root,
// starts each worker as the local user of its topology's owner, hands it
// the directories it writes (its worker directory, its slot's log
// directory, its dependency cache) and the package it reads, and keeps
// everything else out of its reach.

// ErrRunAs means a worker was not launched because its topology's owner
// maps to no user a worker may run as (unknown, root, below the minimum
// uid, banned, or no owner at all); runas's error is wrapped too.
var ErrRunAs = errors.New("cannot run the worker as its topology's owner")

// searchable is the mode of the directories on the way to what a worker
// owns: others may pass through them by name, not list them.
const searchable = 0o711

// workerIdentity returns the user w runs as: nil when workers run as the
// supervisor's own user.
func (l *loop) workerIdentity(stormID string) (*runas.Identity, error) {
	if !l.cfg.RunAsUser.Enabled {
		return nil, nil
	}
	id, err := runas.Lookup(l.owners[stormID], l.cfg.RunAsUser)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRunAs, err)
	}
	return &id, nil
}

// prepareRunAs opens the supervisor's directories for workers of other
// users to pass through (never to list): the local directory, and the
// roots of packages, workers, logs and dependency caches.
func prepareRunAs(localDir string) error {
	dirs := []string{
		localDir,
		filepath.Dir(layout.StormDistRoot(localDir)),
		layout.StormDistRoot(localDir),
		layout.WorkersRoot(localDir),
		layout.LogsRoot(localDir),
		layout.EnvsRoot(localDir),
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("%s: %w", runas.KeyRunWorkerAsUser, err)
		}
		if err := os.Chmod(d, searchable); err != nil {
			return fmt.Errorf("%s: %w", runas.KeyRunWorkerAsUser, err)
		}
	}
	return nil
}

// handOver gives id what a worker of stormID on port needs to own: its
// directory (made by start), its package, its slot's log directory and
// its dependency cache. Each is 0700: other users, other topologies'
// workers included, read none of them.
func (l *loop) handOver(id *runas.Identity, w *worker) error {
	logDir := filepath.Dir(layout.WorkerLog(l.cfg.LocalDir, w.meta.StormID, w.meta.Port))
	if err := os.MkdirAll(logDir, 0o700); err != nil {
		return err
	}
	// The topology's log directory holds every slot's: others pass
	// through it to their own.
	if err := os.Chmod(filepath.Dir(logDir), searchable); err != nil {
		return err
	}
	envs := layout.EnvsDir(l.cfg.LocalDir, int(id.UID))
	if err := os.MkdirAll(envs, 0o700); err != nil {
		return err
	}
	for _, dir := range []string{w.dir, layout.StormDist(l.cfg.LocalDir, w.meta.StormID), logDir, envs} {
		if err := id.Own(dir); err != nil {
			return err
		}
	}
	return nil
}

// runAsAttr starts a process as id, with id's groups and none of the
// supervisor's.
func runAsAttr(id *runas.Identity) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: id.Credential()}
}

// reportRunAs records a refused launch in the topology's errors, once per
// distinct reason: a retry every backoff period would bury the others.
func (l *loop) reportRunAs(stormID string, err error) {
	if l.runAsErrs[stormID] == err.Error() {
		return
	}
	l.runAsErrs[stormID] = err.Error()
	l.report(stormID, fmt.Sprintf("supervisor %s: %v", l.nodeID, err))
}

// dirOwner returns the uid owning dir, -1 if unknown. A worker directory's
// owner is the user its worker ran as: a user cannot give a directory away,
// so it tells which processes the supervisor may signal on its behalf.
func dirOwner(dir string) int {
	fi, err := os.Lstat(dir)
	if err != nil {
		return -1
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return -1
	}
	return int(st.Uid)
}

// procUID returns the real uid of process pid, -1 if unknown.
func procUID(pid int) int {
	fi, err := os.Stat("/proc/" + strconv.Itoa(pid))
	if err != nil {
		return -1
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return -1
	}
	return int(st.Uid)
}

// writeWorkerConf writes a worker's configuration, readable by its owner
// only (handOver makes that the worker's user).
func writeWorkerConf(path string, conf map[string]any) error {
	data, err := yaml.Marshal(conf)
	if err != nil {
		return fmt.Errorf("worker configuration: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return fmt.Errorf("worker configuration: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("worker configuration: %w", err)
	}
	return f.Close()
}

// readWorkerConf reads a configuration writeWorkerConf wrote, as
// layout.ReadFile reads a file the worker's user may have replaced.
func readWorkerConf(path string) (map[string]any, error) {
	data, _, err := layout.ReadFile(path, maxWorkerConfBytes)
	if err != nil {
		return nil, fmt.Errorf("worker configuration: %w", err)
	}
	var conf map[string]any
	if err := yaml.Unmarshal(data, &conf); err != nil {
		return nil, fmt.Errorf("worker configuration %s: %w", path, err)
	}
	return conf, nil
}

// maxWorkerConfBytes bounds a worker configuration file the supervisor
// reads back (the worker's user may have rewritten it).
const maxWorkerConfBytes = 16 << 20

// localizeWorkerTLS copies the files of TLS between workers that conf
// names (certificate, key, CA) into the worker's directory, which
// handOver gives to the worker's user: the operator's copies are the
// daemons' user's, unreadable by workers running as their owners. It
// returns conf naming the copies.
func localizeWorkerTLS(conf map[string]any, workerDir string) (map[string]any, error) {
	out := maps.Clone(conf)
	for _, f := range []struct{ key, name string }{
		{auth.KeyWorkerTLSCert, "worker-tls-cert.pem"},
		{auth.KeyWorkerTLSKey, "worker-tls-key.pem"},
		{auth.KeyWorkerTLSCA, "worker-tls-ca.pem"},
	} {
		from, ok := conf[f.key].(string)
		if !ok || from == "" {
			continue
		}
		data, err := os.ReadFile(from)
		if err != nil {
			return nil, fmt.Errorf("config %s: %w", f.key, err)
		}
		to := filepath.Join(workerDir, f.name)
		if err := os.WriteFile(to, data, 0o600); err != nil {
			return nil, fmt.Errorf("config %s: %w", f.key, err)
		}
		out[f.key] = to
	}
	return out, nil
}
