package supervisor

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestPruneEnvs: the loop removes the dependency environments of
// storm.local.dir/envs, and of each run-as user's cache under it, that
// nobody used for EnvMaxAge, and none when EnvMaxAge is 0. (depenv's
// tests build real ones and hold them.)
func TestPruneEnvs(t *testing.T) {
	for _, tt := range []struct {
		name   string
		cache  string
		maxAge time.Duration
		kept   bool
	}{
		{"old", "envs", time.Hour, false},
		{"kept forever", "envs", 0, true},
		{"young", "envs", 3 * time.Hour, true},
		{"a run-as user's, old", "envs/uid-65534", time.Hour, false},
		{"a run-as user's, young", "envs/uid-65534", 3 * time.Hour, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			local := t.TempDir()
			env := filepath.Join(local, tt.cache, "python-0123456789abcdef0123456789abcdef")
			ready := filepath.Join(env, ".squall-ready")
			if err := os.MkdirAll(env, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(ready, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			old := time.Now().Add(-2 * time.Hour)
			os.Chtimes(ready, old, old)
			l := &loop{cfg: Config{LocalDir: local, EnvMaxAge: tt.maxAge}, log: slog.New(slog.DiscardHandler)}
			l.pruneEnvs(time.Now())
			if _, err := os.Stat(env); (err == nil) != tt.kept {
				t.Errorf("after pruneEnvs with EnvMaxAge %v: %s exists = %v, want %v", tt.maxAge, env, err == nil, tt.kept)
			}
		})
	}
}
