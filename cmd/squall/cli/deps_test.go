package cli

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/depenv"
	"github.com/squallstream/squall/internal/depenv/depenvtest"
	"github.com/squallstream/squall/internal/transcript"
	"github.com/squallstream/squall/topology"
)

const depsYAML = `name: depstest
spouts:
  - id: words
    go: squall.TestWordSpout
bolts:
  - id: show
    shell: {command: [python3, show.py], fields: [word]}
streams:
  - {from: words, to: show, grouping: {type: SHUFFLE}}
`

// The bolt imports a dependency from requirements.txt and records what
// it found.
const depsBolt = `import storm, tinydep

with open("imported", "w") as f:
    f.write(tinydep.VALUE)

class Show(storm.BasicBolt):
    def process(self, tup):
        storm.emit([tup.values[0]])

Show().run()
`

// TestLocalInstallsRequirements: squall local builds a venv from
// requirements.txt and a wheel in resources/wheels, offline, and the
// bolt imports from it; a second run reuses the venv.
func TestLocalInstallsRequirements(t *testing.T) {
	transcript.Interpreter(t, "python3")
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	dir := t.TempDir()
	res := filepath.Join(dir, "resources")
	if err := depenvtest.WriteWheel(filepath.Join(res, "wheels"), "tinydep", "1.0", "from a wheel"); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{
		"topology.yaml":              depsYAML,
		"resources/show.py":          depsBolt,
		"resources/requirements.txt": "tinydep==1.0\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func() (string, time.Duration) {
		os.Remove(filepath.Join(res, "imported"))
		sigs := make(chan os.Signal, 1)
		var stdout bytes.Buffer
		stderr := &syncBuffer{}
		o := localOptions{interval: time.Hour, logLevel: "warn", signals: sigs}
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- runLocal(context.Background(), o, stockRegistry(&stdout), dir, &stdout, stderr) }()
		deadline := time.Now().Add(120 * time.Second)
		for {
			b, err := os.ReadFile(filepath.Join(res, "imported"))
			if err == nil && string(b) == "from a wheel" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the bolt never imported its dependency; stderr:\n%s", stderr)
			}
			time.Sleep(20 * time.Millisecond)
		}
		took := time.Since(start)
		sigs <- os.Interrupt
		if err := <-done; err != nil {
			t.Fatalf("runLocal = %v\nstderr:\n%s", err, stderr)
		}
		return stderr.String(), took
	}
	first, built := run()
	if !regexp.MustCompile(`squall: python dependencies: built .*python-[0-9a-f]+ `).MatchString(first) {
		t.Errorf("first run does not say it built the dependencies:\n%s", first)
	}
	second, reused := run()
	if !strings.Contains(second, "squall: python dependencies: reused ") {
		t.Errorf("second run does not reuse the dependencies:\n%s", second)
	}
	t.Logf("start to first import: %v with a build, %v with the cached venv", built.Round(time.Millisecond), reused.Round(time.Millisecond))
}

// TestCleanLocalCache removes from the user's cache the environments
// nobody used for the configured age (a week by default), and nothing
// when the age is 0.
func TestCleanLocalCache(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name string
		conf topology.Config
		// lastUsed is how long ago each environment was used.
		lastUsed map[string]time.Duration
		want     []string // removed
	}{
		{"the default keeps a week", nil,
			map[string]time.Duration{"python-" + strings.Repeat("a", 32): 8 * 24 * time.Hour, "node-" + strings.Repeat("b", 32): 6 * 24 * time.Hour},
			[]string{"python-" + strings.Repeat("a", 32)}},
		{"the key sets the age", topology.Config{depenv.KeyCleanupAgeMins: 60},
			map[string]time.Duration{"ruby-" + strings.Repeat("c", 32): 2 * time.Hour, "node-" + strings.Repeat("d", 32): 30 * time.Minute},
			[]string{"ruby-" + strings.Repeat("c", 32)}},
		{"0 keeps everything", topology.Config{depenv.KeyCleanupAgeMins: 0},
			map[string]time.Duration{"python-" + strings.Repeat("e", 32): 365 * 24 * time.Hour},
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cache := t.TempDir()
			for name, ago := range tt.lastUsed {
				ready := filepath.Join(cache, name, ".squall-ready")
				if err := os.MkdirAll(filepath.Dir(ready), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(ready, nil, 0o600); err != nil {
					t.Fatal(err)
				}
				when := now.Add(-ago)
				os.Chtimes(ready, when, when)
			}
			var out bytes.Buffer
			cleanLocalCache(cache, tt.conf, now, &out, slog.New(slog.DiscardHandler))
			for name := range tt.lastUsed {
				_, err := os.Stat(filepath.Join(cache, name))
				removed := os.IsNotExist(err)
				want := false
				for _, w := range tt.want {
					want = want || w == name
				}
				if removed != want {
					t.Errorf("%s removed = %v, want %v (output %q)", name, removed, want, out.String())
				}
				if said := strings.Contains(out.String(), name); said != want {
					t.Errorf("output %q names %s: %v, want %v", out.String(), name, said, want)
				}
			}
		})
	}
}
