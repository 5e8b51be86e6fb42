package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/squallstream/squall/topology"
)

// topologyFlags are the flags that shape how a topology is loaded, shared
// by local, submit and friends: Flux's --filter and --env-filter, and
// Storm's -c key=value.
type topologyFlags struct {
	filter    string
	envFilter bool
	conf      []string
}

func (f *topologyFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.filter, "filter", "", "properties `file` whose keys replace ${key} in the topology (Flux's --filter)")
	fs.BoolVar(&f.envFilter, "env-filter", false, "replace ${ENV-NAME} in the topology with environment variables (Flux's --env-filter)")
	fs.StringArrayVarP(&f.conf, "config-value", "c", nil, "override a configuration `key=value` (repeatable; the value is YAML, e.g. -c topology.workers=2)")
}

// overrides parses the -c flags.
func (f *topologyFlags) overrides() (topology.Config, error) {
	return parseConfigValues(f.conf)
}

func parseConfigValues(kvs []string) (topology.Config, error) {
	c := topology.Config{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("-c %q: want key=value", kv)
		}
		var val any
		if err := yaml.Unmarshal([]byte(v), &val); err != nil {
			return nil, fmt.Errorf("-c %s: value %q is not valid YAML: %v", k, v, err)
		}
		c[k] = val
	}
	if err := topology.CheckConfig(c); err != nil {
		return nil, fmt.Errorf("-c: %w", err)
	}
	return c, nil
}

// topologySource is a topology definition on disk: its YAML file and the
// resources directory its shell components run in.
type topologySource struct {
	file, resources string
}

// locateTopology accepts a YAML file or a directory holding topology.yaml
// (or topology.yml) and, optionally, resources/. Shell components run in
// resources/ when it exists, else in the file's own directory.
func locateTopology(path string) (topologySource, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return topologySource{}, fmt.Errorf("topology %s: %w", path, err)
	}
	src := topologySource{file: path}
	if fi.IsDir() {
		src.file = ""
		for _, name := range []string{"topology.yaml", "topology.yml"} {
			if _, err := os.Stat(filepath.Join(path, name)); err == nil {
				src.file = filepath.Join(path, name)
				break
			}
		}
		if src.file == "" {
			return topologySource{}, fmt.Errorf("topology %s: a directory must hold topology.yaml", path)
		}
	}
	dir := filepath.Dir(src.file)
	src.resources = dir
	if fi, err := os.Stat(filepath.Join(dir, "resources")); err == nil && fi.IsDir() {
		src.resources = filepath.Join(dir, "resources")
	}
	if src.resources, err = filepath.Abs(src.resources); err != nil {
		return topologySource{}, err
	}
	return src, nil
}

// load reads and validates the topology with the flags' substitutions.
func (f *topologyFlags) load(src topologySource, reg *topology.Registry) (*topology.Topology, error) {
	opts, err := f.loadOptions(src, reg)
	if err != nil {
		return nil, err
	}
	return topology.LoadFile(src.file, opts)
}

// loadAt locates the topology at path, loads it with the flags'
// substitutions and merges the -c overrides into its configuration: they
// win over the file.
func (f *topologyFlags) loadAt(path string, reg *topology.Registry) (topologySource, *topology.Topology, error) {
	src, err := locateTopology(path)
	if err != nil {
		return src, nil, err
	}
	topo, err := f.load(src, reg)
	if err != nil {
		return src, nil, err
	}
	overrides, err := f.overrides()
	if err != nil {
		return src, nil, err
	}
	topo.Config = topo.Config.Merge(overrides)
	return src, topo, nil
}

// loadOptions are the flags' substitutions as topology.LoadOptions for the
// topology at src.
func (f *topologyFlags) loadOptions(src topologySource, reg *topology.Registry) (topology.LoadOptions, error) {
	opts := topology.LoadOptions{Registry: reg, RelativeIncludes: true, ResourcesDir: src.resources}
	if f.filter != "" {
		fh, err := os.Open(f.filter)
		if err != nil {
			return opts, fmt.Errorf("--filter: %w", err)
		}
		defer fh.Close()
		if opts.Properties, err = topology.ParseProperties(fh); err != nil {
			return opts, fmt.Errorf("--filter %s: %w", f.filter, err)
		}
	}
	if f.envFilter {
		opts.Env = os.LookupEnv
	}
	return opts, nil
}
