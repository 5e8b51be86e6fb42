package workerd

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/internal/depenv"
	"github.com/squallstream/squall/internal/layout"
	"github.com/squallstream/squall/topology"
)

// prepareDeps builds the environments of the dependencies in the
// topology's resources before any executor starts, once per content on
// this machine (storm.local.dir/envs, shared by the supervisor's
// workers), and points the shell components at them. A failed build is
// recorded as an error of every component it keeps from running, where
// squall get-errors and the UI show it.
func prepareDeps(ctx context.Context, cfg ProcessConfig, topo *topology.Topology, resources string, adapterEnv []string, log *slog.Logger) error {
	o := depenv.Options{
		Resources: resources,
		Cache:     depsCache(cfg.LocalDir),
		Conf:      topo.Config,
		MaxBytes:  int64(cfg.Conf.Int(api.KeyPackageMaxUnpackedBytes, 0)),
		MaxFiles:  cfg.Conf.Int(api.KeyPackageMaxFiles, 0),
		Logger:    log,
	}
	// A worker restarted after a failed build meets the failure
	// remembered, until its backoff: builds can take minutes.
	o.Retry = depenv.DefaultRetry
	// The supervisor hears from the worker while it builds: a build may
	// take longer than its start timeout.
	// It has stopped writing before prepareDeps returns: a late "not ready"
	// heartbeat would overwrite the worker's first ready one.
	building, built := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		startingHeartbeats(building, cfg)
	}()
	envs, err := depenv.Prepare(ctx, o)
	built()
	<-stopped
	if err != nil {
		// Recorded even when the worker is being stopped: it says why.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		for _, comp := range depenv.Users(topo) {
			info := cluster.ErrorInfo{Component: comp, Host: cfg.Host, Port: cfg.Port, Time: time.Now(), Message: err.Error()}
			if rerr := cfg.State.ReportError(rctx, cfg.StormID, info); rerr != nil {
				log.Warn("record the dependencies' build error", "component", comp, "err", rerr)
			}
		}
		return err
	}
	for _, e := range envs {
		log.Info("dependencies ready", "lang", e.Lang, "env", e.Dir, "reused", e.Reused)
	}
	depenv.Apply(topo, envs, adapterEnv)
	return nil
}

// startingHeartbeats writes the heartbeat file of a worker that is not
// ready yet, every heartbeat period, until ctx ends.
func startingHeartbeats(ctx context.Context, cfg ProcessConfig) {
	every := cfg.Conf.Seconds(topology.KeyWorkerHeartbeatFreqSecs, time.Second)
	dir := layout.WorkerDir(cfg.LocalDir, cfg.WorkerID)
	for {
		hb := layout.Heartbeat{StormID: cfg.StormID, Port: cfg.Port, Pid: os.Getpid(), Time: time.Now()}
		layout.WriteJSON(layout.HeartbeatFile(dir), hb)
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// depsCache is where this worker's dependency environments live: the
// cache of its own user when its supervisor runs workers as their
// topologies' owners, else the node's.
func depsCache(localDir string) string {
	if own, ok := ownDir(localDir); ok {
		return own
	}
	return layout.EnvsRoot(localDir)
}

// adaptersDir is where this worker installs the multilang adapters: in
// its user's own directory when it runs as its topology's owner, else
// the node's, shared by every worker.
func adaptersDir(localDir string) string {
	if own, ok := ownDir(localDir); ok {
		return filepath.Join(own, "adapters")
	}
	return filepath.Join(localDir, "adapters")
}

// ownDir returns the directory the supervisor made for this worker's
// user (layout.EnvsDir) when it runs workers as their owners: a worker
// not running as root with such a directory is one of those.
func ownDir(localDir string) (string, bool) {
	if os.Geteuid() == 0 {
		return "", false
	}
	own := layout.EnvsDir(localDir, os.Geteuid())
	fi, err := os.Stat(own)
	return own, err == nil && fi.IsDir()
}
