package adapters

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/testenv"
	"github.com/squallstream/squall/internal/transcript"
)

// language describes one adapter for the tests: how to run a component
// written against it.
type language struct {
	name        string // python, ruby, node
	interpreter string // the command that runs a component script
	ext         string // the extension of its component scripts
}

var languages = []language{
	{"python", "python3", ".py"},
	{"ruby", "ruby", ".rb"},
	{"node", "node", ".js"},
}

// componentsDir returns the directory of a language's reference components.
func (l language) componentsDir() string { return filepath.Join(l.name, "components") }

// component returns the absolute path of a reference component's script.
func (l language) component(tb testing.TB, name string) string {
	tb.Helper()
	p, err := filepath.Abs(filepath.Join(l.componentsDir(), name+l.ext))
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("%s reference component %q: %v", l.name, name, err)
	}
	return p
}

// searchPathVars are the environment variables that tell interpreters where
// to find modules; the tests start children without the ones inherited.
var searchPathVars = []string{"PYTHONPATH=", "RUBYLIB=", "NODE_PATH="}

// childEnv is the environment of the tests' children: this process's,
// without module search paths, without writing Python bytecode next to
// the sources, plus extra.
func childEnv(extra ...string) []string {
	env := []string{"PYTHONDONTWRITEBYTECODE=1"}
next:
	for _, kv := range os.Environ() {
		for _, p := range searchPathVars {
			if strings.HasPrefix(kv, p) {
				continue next
			}
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// installAdapters installs the adapters in a fresh directory and returns the
// environment for children: childEnv's, with the adapters' search paths.
func installAdapters(tb testing.TB) []string {
	tb.Helper()
	env, err := Install(tb.TempDir())
	if err != nil {
		tb.Fatalf("Install: %v", err)
	}
	return env.Apply(childEnv())
}

// serializerEnv returns env ready for a child of language l that the host
// talks to in serializer, or ok == false (having skipped or failed tb) when
// that cannot run here: the Python adapter needs the msgpack module, which
// transcript.PythonMsgpack looks for.
func serializerEnv(tb testing.TB, l language, interpreter, serializer string, env []string) []string {
	tb.Helper()
	if l.name != "python" || serializer != transcript.Msgpack {
		return env
	}
	dir, ok := transcript.PythonMsgpack(tb, interpreter)
	if !ok {
		transcript.Missing(tb, "%s cannot import the msgpack module (Debian: apt-get install python3-msgpack)", interpreter)
	}
	if dir == "" {
		return env
	}
	return Env{"PYTHONPATH=" + dir}.Apply(env)
}

// runSuite runs a language's own test suite as a child in its own process
// group, killed if the test ends first, and returns its combined output.
func runSuite(t *testing.T, dir string, env []string, argv ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testenv.Patience(5*time.Minute))
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	// Whatever the suite left behind in its process group goes too.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return out
}
