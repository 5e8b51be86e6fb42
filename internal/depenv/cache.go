package depenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"syscall"
	"time"

	"github.com/squallstream/squall/internal/backoff"
)

// The files beside an environment CACHE/KEY:
//
//	KEY.use     a shared flock held by every process that runs with the
//	            environment (or is building it), for as long as it runs:
//	            the cleaner removes nothing another holds;
//	KEY.lock    an exclusive flock held while building, so that one
//	            process builds and the others wait;
//	KEY.failed  the memory of a failed build (failure, as JSON), so that
//	            every worker restart does not build again;
//	KEY.log     the whole output of the last failed build.
const (
	useSuffix    = ".use"
	lockSuffix   = ".lock"
	failedSuffix = ".failed"
	logSuffix    = ".log"
)

// KeyCleanupAgeMins is how long an environment no worker has used is kept
// on a supervisor before it is removed (squall's own key).
const KeyCleanupAgeMins = "supervisor.envs.cleanup.age.mins"

// DefaultCleanupAge is KeyCleanupAgeMins' default.
const DefaultCleanupAge = 24 * time.Hour

// DefaultLocalCleanupAge is how long squall local, run and test keep an
// environment nobody used in the user's own cache: longer than a
// supervisor's, as a developer comes back to a project after days.
const DefaultLocalCleanupAge = 7 * 24 * time.Hour

// DefaultRetry spaces the builds of an environment that failed: a worker
// restarted by its supervisor meets the remembered failure until then.
var DefaultRetry = backoff.Policy{Min: time.Minute, Max: 30 * time.Minute}

// failure is a failed build, remembered in KEY.failed.
type failure struct {
	// Attempts counts the failed builds in a row.
	Attempts int       `json:"attempts"`
	At       time.Time `json:"at"`
	// RetryAt is when a build may be tried again.
	RetryAt time.Time `json:"retry_at"`
	// Error is what the build said, with the tail of its output.
	Error string `json:"error"`
}

// readFailure returns the failure remembered at path, if any.
func readFailure(path string) (failure, bool) {
	var f failure
	b, err := os.ReadFile(path)
	if err != nil || json.Unmarshal(b, &f) != nil || f.Attempts < 1 {
		return failure{}, false
	}
	return f, true
}

// remember records a failed build: one more attempt, retried after the
// policy's delay for it.
func remember(path string, prev failure, p backoff.Policy, now time.Time, err error) failure {
	f := failure{Attempts: prev.Attempts + 1, At: now, Error: err.Error()}
	f.RetryAt = now.Add(backoff.New(p).Delay(f.Attempts))
	if b, jerr := json.Marshal(f); jerr == nil {
		os.WriteFile(path, b, 0o644)
	}
	return f
}

// errRemembered is the error of a build not tried again yet.
func errRemembered(lang string, f failure) error {
	return fmt.Errorf("%w: %w: %s's build failed %d time(s), the last at %s; the next try is at %s (changed dependencies build at once); the last build said: %s",
		ErrBuild, ErrBuildBackoff, lang, f.Attempts, f.At.UTC().Format(time.RFC3339), f.RetryAt.UTC().Format(time.RFC3339), f.Error)
}

// flock opens path (creating it) and locks it with how (syscall.LOCK_SH or
// LOCK_EX), waiting for ctx. A lock on a file the cleaner removed while
// this one waited is no lock: then it opens the new file and tries again.
func flock(ctx context.Context, path string, how int) (*os.File, error) {
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			return nil, err
		}
		for {
			err = syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
			if !errors.Is(err, syscall.EWOULDBLOCK) {
				break
			}
			if !backoff.Sleep(ctx, 50*time.Millisecond) {
				f.Close()
				return nil, ctx.Err()
			}
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if samefile(f, path) {
			return f, nil
		}
		f.Close()
	}
}

// tryLock locks path exclusively if nobody holds it, and reports whether
// it did; a missing file is not created.
func tryLock(path string) (*os.File, bool) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		f, err = os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	}
	if err != nil {
		return nil, false
	}
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil || !samefile(f, path) {
		f.Close()
		return nil, false
	}
	return f, true
}

// samefile reports whether the open file f is still the file at path.
func samefile(f *os.File, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(path)
	return err == nil && os.SameFile(a, b)
}

// Release lets the cleaner remove the environment once it is old enough.
// A process that ends releases its environments as well.
func (e *Env) Release() {
	if e.use != nil {
		e.use.Close()
		e.use = nil
	}
}

// Release releases every environment of envs.
func Release(envs []Env) {
	for i := range envs {
		envs[i].Release()
	}
}

// keyName matches the names of environments and of the files beside them.
var keyName = regexp.MustCompile(`^((?:python|node|ruby)-[0-9a-f]{32})(\.use|\.lock|\.failed|\.log)?$`)

// Cleanup removes from cache the environments, and the memories of failed
// builds, that nobody uses and that nobody used for maxAge: one a process
// runs with or builds is never removed, and is marked used now. It
// returns the environments it removed; an error stops nothing but is
// returned, joined.
func Cleanup(cache string, maxAge time.Duration, now time.Time) ([]string, error) {
	entries, err := os.ReadDir(cache)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	keys := map[string]bool{}
	var order []string
	for _, e := range entries {
		if m := keyName.FindStringSubmatch(e.Name()); m != nil && !keys[m[1]] {
			keys[m[1]] = true
			order = append(order, m[1])
		}
	}
	var removed []string
	var errs []error
	for _, key := range order {
		base := filepath.Join(cache, key)
		use, free := tryLock(base + useSuffix)
		if !free {
			touch(base)
			continue
		}
		if now.Sub(lastUse(base)) >= maxAge {
			for _, p := range []string{base, base + failedSuffix, base + logSuffix, base + lockSuffix, base + useSuffix} {
				if err := os.RemoveAll(p); err != nil {
					errs = append(errs, err)
				}
			}
			removed = append(removed, base)
		}
		use.Close()
	}
	return removed, errors.Join(errs...)
}

// lastUse is when the environment at base was last used: its ready
// marker's time (set at each use), else the time of the latest of its
// files (a build that failed or never finished).
func lastUse(base string) time.Time {
	if info, err := os.Stat(filepath.Join(base, readyFile)); err == nil {
		return info.ModTime()
	}
	var last time.Time
	for _, p := range []string{base, base + failedSuffix, base + logSuffix} {
		if info, err := os.Stat(p); err == nil && info.ModTime().After(last) {
			last = info.ModTime()
		}
	}
	return last
}
