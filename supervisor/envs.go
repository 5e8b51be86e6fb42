package supervisor

import (
	"path/filepath"
	"time"

	"github.com/squallstream/squall/internal/depenv"
	"github.com/squallstream/squall/internal/layout"
)

// pruneEnvs removes the dependency environments that no worker has used
// for EnvMaxAge: the node's cache and, when workers run as their
// topologies' owners, each user's own (layout.EnvsDir). A worker holds
// its environments' use locks while it runs (and builds), so an
// environment in use is never removed whatever its age; one a
// crash-looping worker takes at each start stays young.
func (l *loop) pruneEnvs(now time.Time) {
	if l.cfg.EnvMaxAge <= 0 {
		return
	}
	root := layout.EnvsRoot(l.cfg.LocalDir)
	users, err := filepath.Glob(filepath.Join(root, "uid-*"))
	if err != nil {
		l.log.Warn("list the users' dependency caches", "err", err)
	}
	for _, cache := range append([]string{root}, users...) {
		removed, err := depenv.Cleanup(cache, l.cfg.EnvMaxAge, now)
		for _, dir := range removed {
			l.log.Info("removed unused dependency environment", "env", dir)
		}
		if err != nil {
			l.log.Warn("removing unused dependency environments", "cache", cache, "err", err)
		}
	}
}
