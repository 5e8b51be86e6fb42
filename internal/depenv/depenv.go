// Package depenv turns the dependencies a topology's shell components
// declare in resources/ into isolated environments, built once per content
// and reused: a Python venv from requirements.txt, node_modules from
// package.json with package-lock.json, a bundle from Gemfile with
// Gemfile.lock. Installs are offline by default, from what the package
// carries: resources/wheels (pip --find-links), resources/npm-cache (npm
// ci --offline), resources/vendor/cache (bundle install --local).
//
// An environment lives in CACHE/KEY, where KEY hashes the manifest and
// lock files, the offline sources, the interpreter's identity, the
// platform and the format of this package; it is used only once its ready
// marker is written, and an flock makes concurrent builders on one machine
// build it once.
package depenv

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/squallstream/squall/internal/backoff"
	"github.com/squallstream/squall/topology"
)

// Configuration keys (squall's own).
const (
	// KeyPython, KeyNode and KeyRuby name the interpreters of shell
	// components whose command starts with python/python3, node, ruby.
	KeyPython = "topology.multilang.python"
	KeyNode   = "topology.multilang.node"
	KeyRuby   = "topology.multilang.ruby"
	// KeyNodeScripts lets npm run packages' install scripts (off: npm ci
	// --ignore-scripts).
	KeyNodeScripts = "topology.multilang.node.scripts"
	// KeyNetwork lets pip and npm use their indexes instead of the
	// package's offline sources alone.
	KeyNetwork = "topology.multilang.deps.network"
)

// format changes when environments built by an older squall must not be
// reused.
const format = "depenv-1"

// ErrBuild: an environment could not be built; the error holds the last
// lines of the tool's output.
var ErrBuild = errors.New("cannot build the dependencies")

// ErrBuildBackoff: a build of this environment failed a short while ago
// and is not tried again yet; the error holds the failure remembered.
var ErrBuildBackoff = errors.New("not built again yet")

// Languages.
const (
	Python = "python"
	Node   = "node"
	Ruby   = "ruby"
)

// Options say where the dependencies are and where environments go.
type Options struct {
	// Resources is the topology's resources directory.
	Resources string
	// Cache is the directory of environments (storm.local.dir/envs on a
	// supervisor, the user's cache directory in local mode).
	Cache string
	// Conf is the topology's configuration.
	Conf topology.Config
	// MaxBytes and MaxFiles bound a built environment (0: no bound), as
	// the package limits bound the unpacked package.
	MaxBytes int64
	MaxFiles int
	// Credential, if set, runs the builds as that user (workers run as
	// the topology's user).
	Credential *syscall.Credential
	Logger     *slog.Logger
	// Retry, if set, makes a failed build remembered (per environment,
	// with its error) and not tried again before the policy's delay after
	// each failure in a row; zero tries at every Prepare.
	Retry backoff.Policy

	// now is the clock of remembered failures (tests set it).
	now func() time.Time
}

// Spec is an environment to build.
type Spec struct {
	Lang string
	// Interpreter is the resolved interpreter (python's sys.executable,
	// the path of node or ruby) and Version what it says it is.
	Interpreter, Version string
	// Key names the environment in the cache.
	Key string
}

// Env is a built environment.
type Env struct {
	Spec
	Dir string
	// Reused is set when the environment was in the cache already.
	Reused bool

	// use holds the environment's use lock until Release.
	use *os.File
}

// manifests are the files that declare each language's dependencies:
// the first must exist for the language to have an environment, the
// others are part of its key (lock files, offline sources).
var manifests = map[string]struct{ manifest, lock, offline string }{
	Python: {"requirements.txt", "", "wheels"},
	Node:   {"package.json", "package-lock.json", "npm-cache"},
	Ruby:   {"Gemfile", "Gemfile.lock", filepath.Join("vendor", "cache")},
}

// interpreterOf returns the interpreter a language's components run.
func interpreterOf(conf topology.Config, lang string) string {
	switch lang {
	case Python:
		return conf.String(KeyPython, "python3")
	case Node:
		return conf.String(KeyNode, "node")
	}
	return conf.String(KeyRuby, "ruby")
}

// Plan returns the environments the resources declare, with their keys.
func Plan(ctx context.Context, o Options) ([]Spec, error) {
	var specs []Spec
	for _, lang := range []string{Python, Node, Ruby} {
		m := manifests[lang]
		if _, err := os.Stat(filepath.Join(o.Resources, m.manifest)); errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, err
		}
		if m.lock != "" {
			if _, err := os.Stat(filepath.Join(o.Resources, m.lock)); err != nil {
				return nil, fmt.Errorf("%w: resources/%s needs resources/%s beside it (the exact versions to install)", ErrBuild, m.manifest, m.lock)
			}
		}
		interp, version, err := identify(ctx, lang, interpreterOf(o.Conf, lang))
		if err != nil {
			return nil, fmt.Errorf("%w: %s", ErrBuild, err)
		}
		h := sha256.New()
		fmt.Fprintf(h, "%s\n%s\n%s\n%s\n%s/%s\n%v %v\n", format, lang, interp, version, runtime.GOOS, runtime.GOARCH,
			o.Conf.Bool(KeyNetwork, false), o.Conf.Bool(KeyNodeScripts, false))
		for _, rel := range []string{m.manifest, m.lock, m.offline} {
			if rel == "" {
				continue
			}
			if err := hashTree(h, o.Resources, rel); err != nil {
				return nil, err
			}
		}
		specs = append(specs, Spec{Lang: lang, Interpreter: interp, Version: version, Key: lang + "-" + hex.EncodeToString(h.Sum(nil))[:32]})
	}
	return specs, nil
}

// identify resolves an interpreter and asks its version.
func identify(ctx context.Context, lang, name string) (path, version string, err error) {
	var args []string
	switch lang {
	case Python:
		// sys.executable: the real interpreter, not a shim (pyenv's).
		args = []string{"-c", "import sys; print(sys.executable); print(sys.version.split()[0])"}
	case Node:
		args = []string{"-e", "console.log(process.execPath); console.log(process.version)"}
	case Ruby:
		args = []string{"-e", "require 'rbconfig'; puts File.join(RbConfig::CONFIG['bindir'], RbConfig::CONFIG['ruby_install_name']); puts RUBY_VERSION"}
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).Output()
	if err != nil {
		return "", "", fmt.Errorf("%s interpreter %q (%s): %v", lang, name, keyOf(lang), err)
	}
	lines := strings.Fields(string(out))
	if len(lines) != 2 {
		return "", "", fmt.Errorf("%s interpreter %q answered %q", lang, name, out)
	}
	return lines[0], lines[1], nil
}

func keyOf(lang string) string {
	switch lang {
	case Python:
		return KeyPython
	case Node:
		return KeyNode
	}
	return KeyRuby
}

// hashTree adds the names and contents of the files under root/rel (a
// file or a directory; nothing if missing) to h.
func hashTree(h io.Writer, root, rel string) error {
	base := filepath.Join(root, rel)
	err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name, _ := filepath.Rel(root, p)
		fmt.Fprintf(h, "file %s\n", filepath.ToSlash(name))
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(h, f)
		return err
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// Prepare builds the environments the resources declare, or finds them
// built, and returns them.
func Prepare(ctx context.Context, o Options) ([]Env, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	specs, err := Plan(ctx, o)
	if err != nil {
		return nil, err
	}
	if o.now == nil {
		o.now = time.Now
	}
	var envs []Env
	for _, s := range specs {
		env, err := build(ctx, o, s)
		if err != nil {
			Release(envs)
			return nil, err
		}
		envs = append(envs, env)
	}
	return envs, nil
}

// readyFile marks a complete environment.
const readyFile = ".squall-ready"

// build returns the environment of s, built now or before, holding its
// use lock.
func build(ctx context.Context, o Options, s Spec) (Env, error) {
	env := Env{Spec: s, Dir: filepath.Join(o.Cache, s.Key)}
	if err := os.MkdirAll(o.Cache, 0o755); err != nil {
		return env, err
	}
	use, err := flock(ctx, env.Dir+useSuffix, syscall.LOCK_SH)
	if err != nil {
		return env, err
	}
	env.use = use
	if err := buildLocked(ctx, o, &env); err != nil {
		env.Release()
		return env, err
	}
	return env, nil
}

// buildLocked builds env, or finds it built, under its use lock.
func buildLocked(ctx context.Context, o Options, env *Env) error {
	s := env.Spec
	if ready(env.Dir) {
		env.Reused = true
		touch(env.Dir)
		return nil
	}
	failedPath := env.Dir + failedSuffix
	prev, failed := readFailure(failedPath)
	if failed && o.Retry.Min > 0 && o.now().Before(prev.RetryAt) {
		return errRemembered(s.Lang, prev)
	}
	build, err := flock(ctx, env.Dir+lockSuffix, syscall.LOCK_EX)
	if err != nil {
		return err
	}
	defer build.Close()
	if ready(env.Dir) { // built by another while this one waited
		env.Reused = true
		return nil
	}
	if o.Retry.Min > 0 {
		// Failed for another while this one waited?
		if again, ok := readFailure(failedPath); ok && again.Attempts != prev.Attempts && o.now().Before(again.RetryAt) {
			return errRemembered(s.Lang, again)
		}
		prev, _ = readFailure(failedPath)
	}
	// A directory without the marker is a build that did not finish.
	if err := os.RemoveAll(env.Dir); err != nil {
		return err
	}
	if err := os.MkdirAll(env.Dir, 0o750); err != nil {
		return err
	}
	start := time.Now()
	o.Logger.Info("building dependencies", "lang", s.Lang, "env", env.Dir)
	err = install(ctx, o, s, env.Dir, env.Dir+logSuffix)
	if err == nil {
		err = checkSize(env.Dir, o.MaxBytes, o.MaxFiles)
	}
	if err != nil {
		os.RemoveAll(env.Dir)
		if o.Retry.Min > 0 && ctx.Err() == nil {
			f := remember(failedPath, prev, o.Retry, o.now(), err)
			o.Logger.Warn("dependencies build failed", "lang", s.Lang, "env", env.Dir, "attempts", f.Attempts, "retry_at", f.RetryAt, "log", env.Dir+logSuffix)
		}
		return err
	}
	if err := os.WriteFile(filepath.Join(env.Dir, readyFile), []byte(s.Interpreter+" "+s.Version+"\n"), 0o644); err != nil {
		return err
	}
	os.Remove(failedPath)
	os.Remove(env.Dir + logSuffix)
	if o.Credential != nil {
		chownTree(env.Dir, int(o.Credential.Uid), int(o.Credential.Gid))
	}
	o.Logger.Info("built dependencies", "lang", s.Lang, "env", env.Dir, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

func ready(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, readyFile))
	return err == nil
}

// touch records a use of an environment, for the removal of unused ones.
func touch(dir string) {
	now := time.Now()
	os.Chtimes(filepath.Join(dir, readyFile), now, now)
}

// install runs the language's installer into dir.
func install(ctx context.Context, o Options, s Spec, dir, logPath string) error {
	res := o.Resources
	network := o.Conf.Bool(KeyNetwork, false)
	var steps [][]string
	var env []string
	switch s.Lang {
	case Python:
		// The interpreter's own pip installs into a venv without one
		// (pip --python): seconds, where ensurepip takes tens. Without a
		// pip of its own, the venv gets one.
		venv := []string{s.Interpreter, "-m", "venv", "--without-pip", dir}
		pip := []string{s.Interpreter, "-m", "pip", "--python", filepath.Join(dir, "bin", "python")}
		if exec.CommandContext(ctx, s.Interpreter, "-m", "pip", "--version").Run() != nil {
			venv = venv[:len(venv)-2]
			venv = append(venv, dir)
			pip = []string{filepath.Join(dir, "bin", "python"), "-m", "pip"}
		}
		pip = append(pip, "install", "--disable-pip-version-check", "--no-input", "-r", filepath.Join(res, "requirements.txt"))
		if wheels := filepath.Join(res, "wheels"); exists(wheels) {
			pip = append(pip, "--find-links", wheels)
		}
		if !network {
			pip = append(pip, "--no-index")
		}
		steps = [][]string{venv, pip}
	case Node:
		for _, name := range []string{"package.json", "package-lock.json"} {
			if err := copyFile(filepath.Join(res, name), filepath.Join(dir, name)); err != nil {
				return err
			}
		}
		// npm writes to its cache (logs, index): a copy of the package's,
		// which stays as shipped.
		cache := filepath.Join(dir, ".npm-cache")
		if from := filepath.Join(res, "npm-cache"); exists(from) {
			if err := os.CopyFS(cache, os.DirFS(from)); err != nil {
				return err
			}
		}
		defer os.RemoveAll(cache)
		npm := []string{"npm", "ci", "--no-audit", "--no-fund", "--cache", cache}
		if !network {
			npm = append(npm, "--offline")
		}
		if !o.Conf.Bool(KeyNodeScripts, false) {
			npm = append(npm, "--ignore-scripts")
		}
		steps = [][]string{npm}
		// npm runs with the chosen node first on its PATH.
		env = append(env, "PATH="+filepath.Dir(s.Interpreter)+string(os.PathListSeparator)+os.Getenv("PATH"))
	case Ruby:
		for _, name := range []string{"Gemfile", "Gemfile.lock"} {
			if err := copyFile(filepath.Join(res, name), filepath.Join(dir, name)); err != nil {
				return err
			}
		}
		// bundle install --local finds the gems in vendor/cache beside
		// the Gemfile.
		if cache := filepath.Join(res, "vendor", "cache"); exists(cache) {
			if err := os.MkdirAll(filepath.Join(dir, "vendor"), 0o755); err != nil {
				return err
			}
			if err := os.Symlink(cache, filepath.Join(dir, "vendor", "cache")); err != nil {
				return err
			}
		}
		// Bundler is a default gem of Ruby; its bundle command may not be
		// on PATH.
		bundle := []string{s.Interpreter, "-e", `load Gem.bin_path("bundler", "bundle")`, "--", "install"}
		if !network {
			bundle = append(bundle, "--local")
		}
		steps = [][]string{bundle}
		env = append(env, RubyEnv(dir)...)
		env = append(env, "BUNDLE_FROZEN=true")
	}
	for _, argv := range steps {
		if err := run(ctx, dir, argv, env, o.Credential, logPath); err != nil {
			return fmt.Errorf("%w for %s (resources/%s): %w", ErrBuild, s.Lang, manifests[s.Lang].manifest, err)
		}
	}
	return nil
}

// outputLines is how many of an installer's last output lines an error
// keeps.
const outputLines = 20

// run runs argv in dir; on failure, its output goes to logPath whole and
// its last lines into the error.
func run(ctx context.Context, dir string, argv, env []string, cred *syscall.Credential, logPath string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	out, err := cmd.CombinedOutput()
	if err == nil {
		return nil
	}
	os.WriteFile(logPath, append([]byte(strings.Join(argv, " ")+"\n"), out...), 0o644)
	lines := strings.Split(strings.TrimRight(string(bytes.ToValidUTF8(out, []byte("?"))), "\n"), "\n")
	if len(lines) > outputLines {
		lines = lines[len(lines)-outputLines:]
	}
	return fmt.Errorf("%s: %v (all its output: %s):\n  %s", strings.Join(argv, " "), err, logPath, strings.Join(lines, "\n  "))
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}

// checkSize fails when the environment is larger than the bounds.
func checkSize(dir string, maxBytes int64, maxFiles int) error {
	if maxBytes <= 0 && maxFiles <= 0 {
		return nil
	}
	var bytes int64
	files := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		if info, err := d.Info(); err == nil && info.Mode().IsRegular() {
			bytes += info.Size()
		}
		return nil
	})
	if err != nil {
		return err
	}
	switch {
	case maxBytes > 0 && bytes > maxBytes:
		return fmt.Errorf("%w: the environment holds %d bytes, more than nimbus.package.max.unpacked.bytes (%d)", ErrBuild, bytes, maxBytes)
	case maxFiles > 0 && files > maxFiles:
		return fmt.Errorf("%w: the environment holds %d files, more than nimbus.package.max.files (%d)", ErrBuild, files, maxFiles)
	}
	return nil
}

func chownTree(dir string, uid, gid int) {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil {
			os.Lchown(p, uid, gid)
		}
		return nil
	})
}

// RubyEnv is the environment that makes Ruby load a bundle in dir.
func RubyEnv(dir string) []string {
	return []string{
		"BUNDLE_GEMFILE=" + filepath.Join(dir, "Gemfile"),
		"BUNDLE_PATH=" + filepath.Join(dir, "bundle"),
		"BUNDLE_APP_CONFIG=" + filepath.Join(dir, ".bundle"),
	}
}

// Apply points the topology's shell components at the environments:
// python/python3 becomes the venv's python, Node finds node_modules first
// on NODE_PATH, Ruby loads the bundle; without an environment, the
// configured interpreter (KeyPython, KeyNode, KeyRuby) replaces the
// command's. base is the environment the children get besides their own
// (squall's adapters on PYTHONPATH, NODE_PATH, RUBYLIB), which stays last
// on every search path.
func Apply(topo *topology.Topology, envs []Env, base []string) {
	byLang := map[string]Env{}
	for _, e := range envs {
		byLang[e.Lang] = e
	}
	for _, c := range topo.Components {
		if c.Shell == nil || len(c.Shell.Command) == 0 {
			continue
		}
		lang := langOf(c.Shell.Command[0])
		if lang == "" {
			continue
		}
		conf := topo.Config.Merge(c.Config)
		spec := *c.Shell
		spec.Command = slices.Clone(spec.Command)
		spec.Env = cloneMap(spec.Env)
		e, ok := byLang[lang]
		if configured := conf.String(keyOf(lang), ""); configured != "" {
			spec.Command[0] = configured
		}
		if ok {
			switch lang {
			case Python:
				spec.Command[0] = filepath.Join(e.Dir, "bin", "python")
				spec.Env["VIRTUAL_ENV"] = e.Dir
			case Node:
				spec.Env["NODE_PATH"] = joinPath(filepath.Join(e.Dir, "node_modules"), lookup(base, "NODE_PATH"), spec.Env["NODE_PATH"])
			case Ruby:
				for _, kv := range RubyEnv(e.Dir) {
					k, v, _ := strings.Cut(kv, "=")
					spec.Env[k] = v
				}
				spec.Env["BUNDLE_FROZEN"] = "true"
				spec.Env["RUBYOPT"] = strings.TrimSpace("-rbundler/setup " + lookup(base, "RUBYOPT"))
			}
		}
		c.Shell = &spec
	}
}

// langOf says which language a command's program is, "" if none of
// Python, Node, Ruby.
func langOf(argv0 string) string {
	base := filepath.Base(argv0)
	switch {
	case base == "python" || strings.HasPrefix(base, "python3"):
		return Python
	case base == "node" || base == "nodejs":
		return Node
	case base == "ruby":
		return Ruby
	}
	return ""
}

func lookup(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if rest, ok := strings.CutPrefix(kv, key+"="); ok {
			v = rest
		}
	}
	if v == "" {
		v = os.Getenv(key)
	}
	return v
}

func joinPath(parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, string(os.PathListSeparator))
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m)+2)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Users returns the shell components whose command runs Python, Node or
// Ruby: those a failed build keeps from running.
func Users(topo *topology.Topology) []string {
	var ids []string
	for _, c := range topo.Components {
		if c.Shell != nil && len(c.Shell.Command) > 0 && langOf(c.Shell.Command[0]) != "" {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// LocalCache is where squall local, run and test keep environments: the
// user's cache directory.
func LocalCache() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "squall", "envs")
}
