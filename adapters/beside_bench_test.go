package adapters

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/transcript"
)

// BenchmarkChildStart starts a Node or Ruby child that loads squall's
// adapter by name and exits, without the preload hook that serves Storm's
// relative loads (plain) and with it (hook): what the hook adds to every
// child's start. cpu-ns/op is the child's user and system time.
func BenchmarkChildStart(b *testing.B) {
	dir := b.TempDir()
	env, err := Install(filepath.Join(dir, "adapters"))
	if err != nil {
		b.Fatal(err)
	}
	plain := slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		return strings.HasPrefix(kv, "NODE_OPTIONS=") || strings.HasPrefix(kv, "RUBYOPT=")
	})
	scripts := []struct{ interpreter, file, text string }{
		{"node", "start.js", "require('storm');\n"},
		{"ruby", "start.rb", "require 'storm'\n"},
	}
	for _, s := range scripts {
		bin := transcript.Interpreter(b, s.interpreter)
		if err := os.WriteFile(filepath.Join(dir, s.file), []byte(s.text), 0o644); err != nil {
			b.Fatal(err)
		}
		for _, v := range []struct {
			name string
			env  Env
		}{{"plain", plain}, {"hook", env}} {
			b.Run(s.interpreter+"/"+v.name, func(b *testing.B) {
				childEnv := v.env.Apply(childEnv())
				var cpu time.Duration
				for b.Loop() {
					cmd := exec.Command(bin, s.file)
					cmd.Dir, cmd.Env = dir, childEnv
					if out, err := cmd.CombinedOutput(); err != nil {
						b.Fatalf("%s %s: %v: %s", bin, s.file, err, out)
					}
					cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
				}
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
			})
		}
	}
}
