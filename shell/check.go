package shell

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/squallstream/squall/topology"
)

// CheckCommand reports, without starting anything, whether spec's
// executable can be found the way a task would launch it: in dir, with
// opts' environment and the task's configuration conf. It catches a
// mistyped or missing interpreter before a worker starts, rather than in a
// crash loop; a missing script is the interpreter's to report when it runs.
func CheckCommand(spec *topology.ShellSpec, dir string, opts Options, conf topology.Config) error {
	path, err := resolve(spec.Command, dir, childEnv(opts.Env, spec.Env, conf))
	if err != nil {
		return err
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return fmt.Errorf("%w: %q: %v", ErrLaunch, spec.Command[0], err)
	case !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0:
		return fmt.Errorf("%w: %q is not an executable file", ErrLaunch, spec.Command[0])
	}
	return nil
}
