package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/squallstream/squall/internal/depenv"
	"github.com/squallstream/squall/topology"
)

// prepareDeps builds (or finds built) the environments of the
// dependencies in the topology's resources, in the user's cache, and
// points its shell components at them; adapterEnv is what the children
// get for squall's adapters. It says on w what it built, and what it
// removed from the cache: environments nobody used for
// supervisor.envs.cleanup.age.mins (a week by default here).
func prepareDeps(ctx context.Context, topo *topology.Topology, resources string, adapterEnv []string, w io.Writer, log *slog.Logger) error {
	start := time.Now()
	cache := depenv.LocalCache()
	envs, err := depenv.Prepare(ctx, depenv.Options{Resources: resources, Cache: cache, Conf: topo.Config, Logger: log})
	if err != nil {
		return err
	}
	// After Prepare, which holds this run's environments: they are in use,
	// so never removed, whatever their age.
	cleanLocalCache(cache, topo.Config, time.Now(), w, log)
	for _, e := range envs {
		what := "built"
		if e.Reused {
			what = "reused"
		}
		fmt.Fprintf(w, "squall: %s dependencies: %s %s (%v)\n", e.Lang, what, e.Dir, time.Since(start).Round(time.Millisecond))
	}
	depenv.Apply(topo, envs, adapterEnv)
	return nil
}

// cleanLocalCache removes the environments in cache nobody used for the
// configured age; 0 keeps everything. A failure is only logged: the run
// goes on.
func cleanLocalCache(cache string, conf topology.Config, now time.Time, w io.Writer, log *slog.Logger) {
	age := time.Duration(conf.Int(depenv.KeyCleanupAgeMins, int(depenv.DefaultLocalCleanupAge/time.Minute))) * time.Minute
	if age <= 0 {
		return
	}
	removed, err := depenv.Cleanup(cache, age, now)
	if err != nil {
		log.Warn("clean the dependency environments' cache", "cache", cache, "err", err)
	}
	for _, dir := range removed {
		fmt.Fprintf(w, "squall: removed %s, unused for %v\n", dir, age)
	}
}
