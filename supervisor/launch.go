package supervisor

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/squallstream/squall/auth"
	"github.com/squallstream/squall/auth/zkacl"
	"github.com/squallstream/squall/internal/layout"
	"github.com/squallstream/squall/internal/logfile"
	"github.com/squallstream/squall/internal/procgroup"
)

// This file is the loop's side of worker processes: launching them and
// stopping them.

// launch starts the worker d asks for.
func (l *loop) launch(d desiredWorker, now time.Time) {
	key := d.key()
	dist := layout.StormDist(l.cfg.LocalDir, d.StormID)
	binary := l.cfg.WorkerBinary
	if _, err := os.Stat(layout.GoBinary(dist)); err == nil {
		binary = layout.GoBinary(dist)
	}
	w := &worker{id: newID()}
	w.dir = layout.WorkerDir(l.cfg.LocalDir, w.id)
	w.meta = layout.WorkerMeta{
		WorkerID:          w.id,
		StormID:           d.StormID,
		NodeID:            l.nodeID,
		Port:              d.Port,
		Executors:         layoutExecutors(d.Executors),
		AssignmentVersion: d.AssignmentVersion,
		Binary:            binary,
		LaunchedAt:        now,
	}
	proc, err := l.start(w)
	if err != nil {
		os.RemoveAll(w.dir)
		if errors.Is(err, ErrRunAs) {
			l.reportRunAs(d.StormID, err)
		}
		r := l.restarts[key]
		if r == nil {
			r = l.newRestartTracker()
			l.restarts[key] = r
		}
		delay := r.failed(now, 0)
		l.log.Error("launching worker", l.attrs(w, "err", err, "retry_in", delay)...)
		return
	}
	w.proc = proc
	delete(l.runAsErrs, d.StormID) // a later refusal is news again
	w.meta.LaunchedAt = time.Now() // the timeouts count from here
	w.pid, _ = identify(proc.Pid())
	if w.pid.pid == 0 { // exited already; the watcher reports it
		w.pid = procID{pid: proc.Pid()}
	}
	w.meta.Pid, w.meta.StartTime = w.pid.pid, w.pid.start
	if err := layout.WriteJSON(layout.MetaFile(w.dir), w.meta); err != nil {
		// It runs, but a restarted supervisor could not adopt it.
		l.log.Error("recording worker pid", l.attrs(w, "err", err)...)
	}
	l.workers[w.id] = w
	ctx, id := l.ctx, w.id
	l.wg.Go(func() {
		select {
		case <-proc.Done():
			l.send(exitedEvent{id: id, status: proc.Status()})
		case <-ctx.Done():
		}
	})
	restarts := 0
	if r := l.restarts[key]; r != nil {
		restarts = r.failures()
	}
	l.log.Info("launched worker", l.attrs(w, "binary", binary, "assignment_version", d.AssignmentVersion, "restarts", restarts)...)
}

// start makes w's directory, writes its meta file and starts its process:
// in its own process group, in its directory, output appended to its log
// file, no pipe to the supervisor.
func (l *loop) start(w *worker) (*procgroup.Process, error) {
	secret := l.secrets[w.meta.StormID]
	if secret == nil {
		return nil, fmt.Errorf("topology %s has no worker secret in the cluster state, so its workers cannot authenticate each other: resubmit it", w.meta.StormID)
	}
	id, err := l.workerIdentity(w.meta.StormID)
	if err != nil {
		return nil, fmt.Errorf("topology %s (owner %q): %w", w.meta.StormID, l.owners[w.meta.StormID], err)
	}
	// The worker's files are its own: nobody else on the node may read
	// its secret, its pids or its meta file.
	if err := os.MkdirAll(w.dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(layout.PidDir(w.dir), 0o700); err != nil {
		return nil, err
	}
	if err := auth.WriteSecretFile(layout.SecretFile(w.dir), secret, -1, -1); err != nil {
		return nil, err
	}
	if err := layout.WriteJSON(layout.MetaFile(w.dir), w.meta); err != nil {
		return nil, err
	}
	var confArgs []string
	if conf := l.workerConf(w.meta.StormID, secret); conf != nil {
		if id != nil {
			if conf, err = localizeWorkerTLS(conf, w.dir); err != nil {
				return nil, err
			}
		}
		if err := writeWorkerConf(layout.WorkerConfFile(w.dir), conf); err != nil {
			return nil, err
		}
		confArgs = []string{"--config", layout.WorkerConfFile(w.dir)}
	}
	if id != nil {
		if err := l.handOver(id, w); err != nil {
			return nil, fmt.Errorf("topology %s: hand its directories to %s: %w", w.meta.StormID, id.User, err)
		}
	}
	// The worker writes and rotates worker.log itself (--log-file); its
	// standard output and error go to a small file of the supervisor's,
	// for what it says before it takes them over, and crash reports.
	early, err := openEarlyLog(earlyLog(l.cfg.LocalDir, w.meta.StormID, w.meta.Port))
	if err != nil {
		return nil, err
	}
	defer early.Close() // the child has its own descriptor
	rot := l.cfg.LogRotation
	args := []string{"worker",
		"--storm-id", w.meta.StormID,
		"--node", w.meta.NodeID,
		"--port", strconv.Itoa(w.meta.Port),
		"--worker-id", w.id,
		"--local-dir", l.cfg.LocalDir,
		"--log-file", layout.WorkerLog(l.cfg.LocalDir, w.meta.StormID, w.meta.Port),
		"-c", fmt.Sprintf("%s=%d", logfile.KeyMaxSizeMB, rot.MaxSizeMB),
		"-c", fmt.Sprintf("%s=%d", logfile.KeyMaxBackups, rot.MaxBackups),
	}
	args = append(append(args, confArgs...), l.cfg.WorkerArgs...)
	cmd := exec.Command(w.meta.Binary, args...)
	cmd.Dir = w.dir
	cmd.Env = l.workerEnv()
	if id != nil {
		cmd.Env = append(cmd.Env, id.Env()...)
		cmd.SysProcAttr = runAsAttr(id)
		l.log.Debug("running worker as its owner", "topology", w.meta.StormID, "user", id.User, "uid", id.UID)
	}
	cmd.Stdout, cmd.Stderr = early, early
	return procgroup.Start(cmd)
}

// workerEnv returns a new worker's environment: Config.WorkerEnv, and
// GOMAXPROCS from Config.WorkerMaxProcs where it sets none.
func (l *loop) workerEnv() []string {
	env := l.cfg.WorkerEnv
	if env == nil {
		env = os.Environ()
	}
	env = slices.Clone(env)
	if l.cfg.WorkerMaxProcs > 0 && !slices.ContainsFunc(env, isMaxProcs) {
		env = append(env, "GOMAXPROCS="+strconv.Itoa(l.cfg.WorkerMaxProcs))
	}
	return env
}

// isMaxProcs reports whether an environment entry sets GOMAXPROCS; an
// empty value counts as unset, as the Go runtime reads it.
func isMaxProcs(kv string) bool {
	v, ok := strings.CutPrefix(kv, "GOMAXPROCS=")
	return ok && v != ""
}

// stop stops w and cleans up after it in a goroutine of its own, which
// reports with a stoppedEvent. Until then, w keeps its port.
func (l *loop) stop(w *worker, reason string) {
	if w.stopping {
		return
	}
	w.stopping = true
	if w.proc != nil && !w.proc.Exited() || w.proc == nil && w.pid.alive() {
		l.log.Info("stopping worker", l.attrs(w, "reason", reason)...)
	} else {
		l.log.Debug("cleaning up worker", l.attrs(w, "reason", reason)...)
	}
	proc, pid, dir, id, grace := w.proc, w.pid, w.dir, w.id, l.cfg.StopGrace
	l.wg.Go(func() {
		if proc != nil {
			proc.Stop(grace)
		} else if owner := dirOwner(dir); owner < 0 || procUID(pid.pid) == owner {
			// An adopted worker is known by its directory's files, which
			// its user may have rewritten: signal only that user's.
			stopForeign(pid, grace)
		}
		killed := sweepPids(dir, pid.start)
		os.RemoveAll(dir)
		l.send(stoppedEvent{id: id, killed: killed})
	})
}

// stopAll stops every worker, for Config.KillWorkersOnStop.
func (l *loop) stopAll() {
	for _, w := range l.sortedWorkers() {
		l.stop(w, "supervisor stopping")
	}
}

// lacksZooKeeperCredential reports whether w, a worker a previous
// supervisor launched, runs without its topology's ZooKeeper credential
// while this supervisor gives one (ZooKeeper authentication was turned on
// since): once the leader closes its topology's nodes, its ZooKeeper
// heartbeats and errors would fail (NoAuth), so it is restarted rather
// than adopted. Its configuration file says what it was given.
func (l *loop) lacksZooKeeperCredential(w *worker) bool {
	if l.cfg.ZooKeeperSuperACL.Scheme == "" {
		return false
	}
	conf, err := readWorkerConf(layout.WorkerConfFile(w.dir))
	if err != nil {
		return true // launched without a configuration file: without one
	}
	cred, err := zkacl.TopologyCredential(conf)
	return err != nil || cred.IsZero()
}

// workerConf returns the configuration of a worker of topology id:
// Config.WorkerConf, and with ZooKeeper authentication the topology's own
// credential, derived from its secret, and the daemons' identity for the
// nodes its workers create (zkacl.TopologyConfig).
func (l *loop) workerConf(id string, secret []byte) map[string]any {
	conf := l.cfg.WorkerConf
	if l.cfg.ZooKeeperSuperACL.Scheme == "" {
		return conf
	}
	conf = maps.Clone(conf)
	if conf == nil {
		conf = map[string]any{}
	}
	maps.Copy(conf, zkacl.TopologyConfig(zkacl.DerivedTopologyCredential(id, secret), l.cfg.ZooKeeperSuperACL))
	return conf
}
