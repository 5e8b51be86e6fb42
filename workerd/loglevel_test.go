package workerd

import (
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/squallstream/squall/internal/loglevel"
)

func TestLevelFollower(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lv := new(slog.LevelVar)
		lv.Set(slog.LevelInfo)
		f := newLevelFollower(lv, slog.New(slog.DiscardHandler))
		defer f.stop()

		f.follow(map[string]loglevel.Setting{loglevel.Root: {Target: "DEBUG", ResetAt: time.Now().Add(30 * time.Second)}})
		if lv.Level() != slog.LevelDebug {
			t.Fatalf("level = %v after ROOT=DEBUG:30, want DEBUG", lv.Level())
		}
		time.Sleep(29 * time.Second)
		synctest.Wait()
		if lv.Level() != slog.LevelDebug {
			t.Fatalf("level = %v before the timeout, want DEBUG", lv.Level())
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if lv.Level() != slog.LevelInfo {
			t.Fatalf("level = %v after the timeout, want INFO again", lv.Level())
		}

		f.follow(map[string]loglevel.Setting{loglevel.Root: {Target: "ERROR"}})
		if lv.Level() != slog.LevelError {
			t.Fatalf("level = %v after ROOT=ERROR, want ERROR", lv.Level())
		}
		f.follow(nil) // cleared
		if lv.Level() != slog.LevelInfo {
			t.Fatalf("level = %v after the setting was cleared, want INFO", lv.Level())
		}
	})
}
