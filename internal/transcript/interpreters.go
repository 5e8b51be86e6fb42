package transcript

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Interpreter returns the path of the named interpreter (python3, ruby,
// node), skipping the test when there is none, or failing it when the CI
// environment variable is set.
func Interpreter(tb testing.TB, name string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(tb, "%s not found: %v", name, err)
	}
	return p
}

// Missing skips the test because something it needs is missing, or fails
// it when the CI environment variable is set: CI installs everything.
func Missing(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if os.Getenv("CI") != "" {
		tb.Fatalf("required when CI is set: "+format, args...)
	}
	tb.Skipf("skipping: "+format, args...)
}

// pythonMsgpackDirs are site directories of other Python installations
// whose msgpack module the tests may borrow (Debian's python3-msgpack).
var pythonMsgpackDirs = []string{"/usr/lib/python3/dist-packages"}

// PythonMsgpack finds a way for python to import the msgpack module that
// squall's storm.py needs for the msgpack serializer. It returns "" if
// python imports it as it is, or a directory to put on PYTHONPATH; ok is
// false when there is none.
//
// The directory, made in tb's temporary directory, holds nothing but a
// link named msgpack to the module of another installation (say Debian's
// python3-msgpack, installed for /usr/bin/python3), and is returned only
// after python was seen to import it and round-trip a message with it.
// Linking the one module, rather than putting that installation's whole
// site directory on the path, keeps the interpreter's other packages its
// own.
func PythonMsgpack(tb testing.TB, python string) (dir string, ok bool) {
	tb.Helper()
	if pythonImportsMsgpack(python, "") {
		return "", true
	}
	for _, site := range pythonMsgpackDirs {
		module := filepath.Join(site, "msgpack")
		if _, err := os.Stat(filepath.Join(module, "__init__.py")); err != nil {
			continue
		}
		dir := tb.TempDir()
		if os.Symlink(module, filepath.Join(dir, "msgpack")) == nil && pythonImportsMsgpack(python, dir) {
			return dir, true
		}
	}
	return "", false
}

// pythonImportsMsgpack reports whether python, with dir (if any) on its
// path, imports msgpack and round-trips a message with it.
func pythonImportsMsgpack(python, dir string) bool {
	const check = `import msgpack
m = {"command": "emit", "tuple": [1, 2.5, "sn\u00f6", b"\x00", None, True]}
assert msgpack.unpackb(msgpack.packb(m, use_bin_type=True), raw=False) == m
`
	cmd := exec.Command(python, "-c", check)
	env := []string{"PYTHONDONTWRITEBYTECODE=1"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PYTHONPATH=") {
			env = append(env, kv)
		}
	}
	if dir != "" {
		env = append(env, "PYTHONPATH="+dir)
	}
	cmd.Env = env
	return cmd.Run() == nil
}
