// Package submission turns a topology submission into a validated
// topology the same way wherever that happens: in `squall submit
// --dry-run`, in nimbus when it accepts the submission, and in every
// worker that runs it. The submission carries the definition and
// everything its loading depends on (properties, the submitter's
// environment, config overrides, a name override), so all three see the
// same topology.
package submission

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/topology"
)

// DefaultFile names the definition when a submission does not.
const DefaultFile = "topology.yaml"

// ErrIncludeOutside is the error of an include that is not a file of
// the package.
var ErrIncludeOutside = errors.New("not a file of the topology's package: includes are read from the package")

// Load parses and validates the definition of req with reg. dir is the
// directory the topology's package is unpacked in: includes the request
// does not carry are resolved there, and read through an os.Root on it, so
// a definition includes files it was sent with and nothing else (not
// /etc/passwd on nimbus); errors name the definition as if it were a file
// there.
func Load(req *api.SubmitTopologyRequest, reg *topology.Registry, dir string) (*topology.Topology, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("package: %w", err)
	}
	defer root.Close()
	opts := topology.LoadOptions{Registry: reg, RelativeIncludes: true, ResourcesDir: dir, ReadInclude: func(path string) ([]byte, error) {
		rel, err := filepath.Rel(dir, path)
		if err != nil || !filepath.IsLocal(rel) {
			return nil, ErrIncludeOutside
		}
		return root.ReadFile(rel)
	}}
	for name, text := range req.GetIncludes() {
		if opts.Included == nil {
			opts.Included = map[string][]byte{}
		}
		opts.Included[name] = []byte(text)
	}
	if req.GetProperties() != "" {
		props, err := topology.ParseProperties(strings.NewReader(req.GetProperties()))
		if err != nil {
			return nil, fmt.Errorf("properties: %w", err)
		}
		opts.Properties = props
	}
	if req.GetEnvFilter() {
		env := req.GetEnvironment()
		opts.Env = func(name string) (string, bool) {
			v, ok := env[name]
			return v, ok
		}
	}
	name := filepath.Base(req.GetTopologyFile())
	if name == "." || name == "/" || name == "" {
		name = DefaultFile
	}
	t, err := topology.LoadNamed(filepath.Join(dir, name), []byte(req.GetTopology()), opts)
	if err != nil {
		return nil, err
	}
	if err := Apply(t, req); err != nil {
		return nil, err
	}
	return t, nil
}

// Apply lays the submission's config overrides and name over t.
func Apply(t *topology.Topology, req *api.SubmitTopologyRequest) error {
	if c := req.GetConfig(); c != nil && len(c.GetFields()) > 0 {
		overrides := topology.Config(c.AsMap())
		if err := topology.CheckConfig(overrides); err != nil {
			return fmt.Errorf("config overrides: %w", err)
		}
		t.Config = t.Config.Merge(overrides)
	}
	if n := req.GetName(); n != "" {
		t.Name = n
	}
	if err := t.Validate(); err != nil {
		return err
	}
	return checkState(t)
}
