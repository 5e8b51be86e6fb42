package supervisor

import (
	"path/filepath"
	"time"

	"github.com/squallstream/squall/internal/depenv"
)

// pruneEnvs removes the dependency environments that no worker has used
// for EnvMaxAge. A worker holds its environments' use locks while it runs
// (and builds), so an environment in use is never removed whatever its
// age; one a crash-looping worker takes at each start stays young.
func (l *loop) pruneEnvs(now time.Time) {
	if l.cfg.EnvMaxAge <= 0 {
		return
	}
	removed, err := depenv.Cleanup(filepath.Join(l.cfg.LocalDir, "envs"), l.cfg.EnvMaxAge, now)
	for _, dir := range removed {
		l.log.Info("removed unused dependency environment", "env", dir)
	}
	if err != nil {
		l.log.Warn("removing unused dependency environments", "err", err)
	}
}
