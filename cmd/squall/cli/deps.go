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
// get for squall's adapters. It says on w what it built.
func prepareDeps(ctx context.Context, topo *topology.Topology, resources string, adapterEnv []string, w io.Writer, log *slog.Logger) error {
	start := time.Now()
	envs, err := depenv.Prepare(ctx, depenv.Options{Resources: resources, Cache: depenv.LocalCache(), Conf: topo.Config, Logger: log})
	if err != nil {
		return err
	}
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
