package workerd

import (
	"context"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/squallstream/squall/internal/loglevel"
)

// levelFollower sets a worker's log level as its topology's log config
// says, and back to the level the worker started with when a setting's
// timeout ends.
type levelFollower struct {
	level *slog.LevelVar
	base  slog.Level
	log   *slog.Logger

	mu sync.Mutex
	// The following fields are guarded by mu.
	settings map[string]loglevel.Setting
	timer    *time.Timer
}

func newLevelFollower(level *slog.LevelVar, log *slog.Logger) *levelFollower {
	f := &levelFollower{level: level, log: log}
	if level != nil {
		f.base = level.Level()
	}
	return f
}

// follow applies the topology's settings.
func (f *levelFollower) follow(settings map[string]loglevel.Setting) {
	if f.level == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if maps.Equal(f.settings, settings) {
		return
	}
	f.settings = maps.Clone(settings)
	f.applyLocked()
}

// applyLocked sets the level now due and arms the timer for its end; mu
// is held.
func (f *levelFollower) applyLocked() {
	now := time.Now()
	l, next := loglevel.Current(f.settings, f.base, now)
	if l != f.level.Level() {
		f.level.Set(l)
		f.log.Log(context.Background(), max(l, slog.LevelInfo), "log level changed", "new_level", l.String())
	}
	if f.timer != nil {
		f.timer.Stop()
		f.timer = nil
	}
	if !next.IsZero() {
		f.timer = time.AfterFunc(next.Sub(now), func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.applyLocked()
		})
	}
}

// stop disarms the timer.
func (f *levelFollower) stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.timer != nil {
		f.timer.Stop()
	}
}
