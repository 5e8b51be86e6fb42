package workerd

import (
	"context"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/internal/depenv"
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
		Cache:     filepath.Join(cfg.LocalDir, "envs"),
		Conf:      topo.Config,
		MaxBytes:  int64(cfg.Conf.Int(api.KeyPackageMaxUnpackedBytes, 0)),
		MaxFiles:  cfg.Conf.Int(api.KeyPackageMaxFiles, 0),
		Logger:    log,
	}
	envs, err := depenv.Prepare(ctx, o)
	if err != nil {
		for _, comp := range depenv.Users(topo) {
			info := cluster.ErrorInfo{Component: comp, Host: cfg.Host, Port: cfg.Port, Time: time.Now(), Message: err.Error()}
			if rerr := cfg.State.ReportError(ctx, cfg.StormID, info); rerr != nil {
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
