package cli

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/squallstream/squall/auth/zkacl"
	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/topology"
)

// configFlags are the daemons' and clients' configuration flags: a
// storm.yaml-style file and -c key=value overrides.
type configFlags struct {
	file   string
	values []string
}

func (f *configFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.file, "config", "", "configuration `file` (storm.yaml keys; default ~/.squall/squall.yaml if it exists, and for client commands first ./squall.yaml or a running dev-cluster's)")
	fs.StringArrayVarP(&f.values, "config-value", "c", nil, "override a configuration `key=value` (repeatable; the value is YAML)")
}

// defaultConfigFile is where the configuration is read from without
// --config.
func defaultConfigFile() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".squall", "squall.yaml")
}

// load returns the defaults, with the configuration file (--config, else
// ~/.squall/squall.yaml if it exists) and then the -c overrides laid over
// them, type-checked.
func (f *configFlags) load() (topology.Config, error) {
	file := f.file
	if file == "" {
		if def := defaultConfigFile(); def != "" {
			if _, err := os.Stat(def); err == nil {
				file = def
			}
		}
	}
	return f.loadFile(file)
}

// loadFile is load with the configuration file file ("" for none).
func (f *configFlags) loadFile(file string) (topology.Config, error) {
	conf := topology.Defaults()
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		var fromFile map[string]any
		if err := yaml.Unmarshal(data, &fromFile); err != nil {
			return nil, fmt.Errorf("config %s: %w", file, err)
		}
		conf = conf.Merge(fromFile)
	}
	overrides, err := parseConfigValues(f.values)
	if err != nil {
		return nil, err
	}
	conf = conf.Merge(overrides)
	if err := topology.CheckConfig(conf); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return conf, nil
}

// localConfigFile is the configuration a client command finds in the
// directory it runs in.
const localConfigFile = "squall.yaml"

// devClusterFile is where a running `squall dev-cluster` says where its
// configuration is, for the client commands.
func devClusterFile() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".squall", "dev-cluster.yaml")
}

// devClusterPointer is devClusterFile's content.
type devClusterPointer struct {
	// PID is the dev-cluster's process.
	PID int `yaml:"pid"`
	// Config is the squall.yaml it wrote.
	Config string `yaml:"config"`
}

// runningDevCluster returns the configuration of the dev-cluster that
// devClusterFile names, if its process still runs.
func runningDevCluster() (string, int, bool) {
	path := devClusterFile()
	if path == "" {
		return "", 0, false
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", 0, false
	}
	var p devClusterPointer
	if yaml.Unmarshal(data, &p) != nil || p.PID <= 0 || p.Config == "" || !processAlive(p.PID) {
		return "", 0, false
	}
	if _, err := os.Stat(p.Config); err != nil {
		return "", 0, false
	}
	return p.Config, p.PID, true
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// findClientConfig returns the configuration file of a client command
// without --config, the first that exists of: ./squall.yaml; the one of a
// running `squall dev-cluster`; ~/.squall/squall.yaml. It also says where
// it came from, for errors. Without any, the defaults find nimbus on
// 127.0.0.1 at nimbus.grpc.port.
func findClientConfig() (file, source string) {
	if _, err := os.Stat(localConfigFile); err == nil {
		return localConfigFile, "./" + localConfigFile
	}
	if conf, pid, ok := runningDevCluster(); ok {
		return conf, fmt.Sprintf("%s, of the dev-cluster running as pid %d", conf, pid)
	}
	if def := defaultConfigFile(); def != "" {
		if _, err := os.Stat(def); err == nil {
			return def, def
		}
	}
	return "", "no configuration: none in --config, ./squall.yaml, a running dev-cluster or ~/.squall/squall.yaml"
}

// zooKeeperState connects to the ZooKeeper ensemble the configuration
// names (storm.zookeeper.servers, .port, .root, .session.timeout) as a
// daemon, with the daemons' credential (storm.zookeeper.auth.*).
func zooKeeperState(conf topology.Config, log *slog.Logger) (*cluster.ZooKeeper, error) {
	cfg, err := zooKeeperConfig(conf)
	if err != nil {
		return nil, err
	}
	pol, err := zkacl.DaemonPolicy(conf)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cfg.Auth, cfg.SuperACL = pol.Self, pol.Super
	return cluster.NewZooKeeper(cfg, log)
}

// workerZooKeeperState is zooKeeperState for a worker: its session
// authenticates with its topology's credential, which its supervisor
// wrote into its configuration (storm.zookeeper.topology.auth.*), never
// with the daemons'.
func workerZooKeeperState(conf topology.Config, log *slog.Logger) (*cluster.ZooKeeper, error) {
	cfg, err := zooKeeperConfig(conf)
	if err != nil {
		return nil, err
	}
	pol, err := zkacl.WorkerPolicy(conf)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cfg.Auth, cfg.SuperACL, cfg.Worker = pol.Self, pol.Super, true
	return cluster.NewZooKeeper(cfg, log)
}

// zooKeeperConfig reads where ZooKeeper is.
func zooKeeperConfig(conf topology.Config) (cluster.Config, error) {
	cfg := cluster.DefaultConfig()
	servers, _ := conf[topology.KeyZookeeperServers].([]any)
	if len(servers) == 0 {
		return cfg, fmt.Errorf("config: %s is not set", topology.KeyZookeeperServers)
	}
	port := conf.Int(topology.KeyZookeeperPort, 2181)
	cfg.Servers = nil
	for _, s := range servers {
		host := fmt.Sprint(s)
		if _, _, err := splitHostPort(host); err != nil {
			host = host + ":" + strconv.Itoa(port)
		}
		cfg.Servers = append(cfg.Servers, host)
	}
	cfg.Root = conf.String(topology.KeyZookeeperRoot, cfg.Root)
	cfg.SessionTimeout = time.Duration(conf.Int(topology.KeyZookeeperSessionTimeout, 20000)) * time.Millisecond
	return cfg, nil
}

// hostname is the name this node advertises: storm.local.hostname, else
// the OS's.
func hostname(conf topology.Config) string {
	if h := conf.String(topology.KeyLocalHostname, ""); h != "" {
		return h
	}
	h, err := os.Hostname()
	if err != nil {
		return "localhost"
	}
	return h
}

// daemonLogger logs to stderr in text, at the given level name.
func daemonLogger(level string) (*slog.Logger, error) {
	l, err := parseLogLevel(level)
	if err != nil {
		return nil, err
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}

func splitHostPort(s string) (string, string, error) { return net.SplitHostPort(s) }
