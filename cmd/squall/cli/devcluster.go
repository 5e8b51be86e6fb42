package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"gopkg.in/yaml.v3"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/internal/procgroup"
	"github.com/squallstream/squall/internal/zkserver"
	"github.com/squallstream/squall/topology"
)

type devClusterOptions struct {
	dir        string
	zookeeper  string
	zkPort     int
	nimbusPort int
	uiPort     int
	lvPort     int
	ports      []int
	logLevel   string
	drpc       devDRPCFlags
}

// newDevClusterCmd starts a one-node cluster for trying squall out: a
// ZooKeeper, a nimbus and a supervisor, as child processes of this one.
func newDevClusterCmd() *cobra.Command {
	var o devClusterOptions
	cmd := &cobra.Command{
		Use: "dev-cluster",
		// It starts the ZooKeeper Storm's dev-zookeeper would, and the rest.
		SuggestFor: []string{"dev-zookeeper"},
		Short:      "Run a one-node cluster on this machine: ZooKeeper, nimbus, a supervisor and a DRPC server",
		Long: `Run a one-node cluster for trying squall out: a ZooKeeper (Debian's
zookeeper package, or --zookeeper to use one already running), a nimbus with
the REST API, a supervisor with four worker slots and a DRPC server (squall
drpc, for topologies with a drpc: section), all on 127.0.0.1. It
writes the cluster's configuration to DIR/squall.yaml, and while it runs the
client commands (submit, list, kill, ...) find it there without --config.

The cluster is for trying things: Ctrl-C kills its topologies and stops
everything, the topologies' workers included, and a dev-cluster started
again begins empty (what an earlier one left in DIR, killed or not, is
removed; worker logs are kept). With --zookeeper, the topologies it kills
on Ctrl-C are all it can remove.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.drpc.explicit = cmd.Flags().Changed("drpc-port") || cmd.Flags().Changed("drpc-invocations-port") || cmd.Flags().Changed("drpc-http-port")
			return runDevCluster(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.dir, "dir", "squall-dev", "directory for the cluster's configuration, data and logs")
	f.StringVar(&o.zookeeper, "zookeeper", "", "use this running ZooKeeper (host:port) instead of starting one")
	f.IntVar(&o.zkPort, "zookeeper-port", 2181, "port of the ZooKeeper to start (0: any free port)")
	f.IntVar(&o.nimbusPort, "nimbus-port", 6627, "nimbus's gRPC port (nimbus.grpc.port; 0: any free port)")
	f.IntVar(&o.uiPort, "ui-port", 8080, "the REST API's port (ui.port; 0: any free port)")
	f.IntVar(&o.lvPort, "logviewer-port", 8000, "the supervisor's logviewer and /metrics port (logviewer.port; 0: any free port)")
	f.IntSliceVar(&o.ports, "ports", []int{6700, 6701, 6702, 6703}, "the supervisor's worker ports (supervisor.slots.ports)")
	f.StringVar(&o.logLevel, "log-level", "warn", "log level of the daemons: debug, info, warn or error")
	o.drpc.register(f)
	return cmd
}

func runDevCluster(ctx context.Context, o devClusterOptions, stdout, stderr io.Writer) error {
	dir, err := filepath.Abs(o.dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	// A fresh cluster each time: what an earlier run left (killed with
	// kill -9, or a crash) would bring its topologies back. Worker logs
	// stay, for reading after the fact.
	for _, state := range []string{filepath.Join(dir, "local", "nimbus"), filepath.Join(dir, "local", "supervisor")} {
		if err := os.RemoveAll(state); err != nil {
			return err
		}
	}
	zkAddr := o.zookeeper
	if zkAddr == "" {
		if err := os.RemoveAll(filepath.Join(dir, "zookeeper")); err != nil {
			return err
		}
		zk, err := zkserver.Start(zkserver.Options{Dir: filepath.Join(dir, "zookeeper"), Port: o.zkPort})
		var missing *zkserver.MissingError
		if errors.As(err, &missing) {
			return fmt.Errorf("%w\n(or run one yourself and pass --zookeeper host:port)", err)
		}
		if err != nil {
			return err
		}
		defer zk.Stop()
		zkAddr = zk.Addr()
	}
	zkHost, zkPort, err := splitHostPort(zkAddr)
	if err != nil {
		return fmt.Errorf("--zookeeper %q: %w", zkAddr, err)
	}
	ports := make([]any, len(o.ports))
	for i, p := range o.ports {
		ports[i] = p
	}
	conf := topology.Config{
		topology.KeyZookeeperServers:     []any{zkHost},
		topology.KeyZookeeperPort:        mustAtoi(zkPort),
		topology.KeyZookeeperRoot:        "/squall",
		topology.KeyNimbusSeeds:          []any{"127.0.0.1"},
		topology.KeyNimbusGRPCPort:       o.nimbusPort,
		topology.KeyUIPort:               o.uiPort,
		keyLogViewerPort:                 o.lvPort,
		topology.KeySupervisorSlotsPorts: ports,
		topology.KeyLocalDir:             filepath.Join(dir, "local"),
		topology.KeyLocalHostname:        "127.0.0.1",
	}
	confFile := filepath.Join(dir, "squall.yaml")
	if err := writeYAML(confFile, conf); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	nimbus, err := startDaemon(exe, "nimbus", stderr, "nimbus grpc=", "nimbus", "--config", confFile, "--log-level", o.logLevel)
	if err != nil {
		return err
	}
	defer nimbus.stop()
	ready, err := nimbus.wait(ctx, 60*time.Second)
	if err != nil {
		return err
	}
	// The configured ports may be 0: tell clients the ones nimbus chose.
	fields := readyFields(ready)
	for key, field := range map[string]string{topology.KeyNimbusGRPCPort: "grpc", topology.KeyUIPort: "http"} {
		if _, port, err := splitHostPort(fields[field]); err == nil {
			conf[key] = mustAtoi(port)
		}
	}
	if err := writeYAML(confFile, conf); err != nil {
		return err
	}
	drpcd, drpcHTTP, err := startDevDRPC(ctx, o.drpc, exe, o.logLevel, stderr, conf, confFile)
	if err != nil {
		return err
	}
	defer drpcd.stop() // after the supervisor: its workers' spouts first
	sup, err := startDaemon(exe, "supervisor", stderr, "supervisor node=", "supervisor", "--config", confFile, "--log-level", o.logLevel, "--kill-workers")
	if err != nil {
		return err
	}
	defer sup.stop() // before nimbus and ZooKeeper: its workers go first
	if _, err := sup.wait(ctx, 60*time.Second); err != nil {
		return err
	}
	// Ready means a command typed now works: nimbus leads, and sees the
	// supervisor's slots.
	if err := waitLeading(ctx, fields["grpc"], 60*time.Second); err != nil {
		return err
	}
	// The client commands find the cluster through this while it runs.
	if err := claimDevClusterFile(confFile); err != nil {
		fmt.Fprintf(stderr, "dev-cluster: %v; client commands need --config %s\n", err, confFile)
	}
	defer releaseDevClusterFile()
	fmt.Fprintf(stdout, `squall dev cluster ready in %s
  ZooKeeper   %s
  nimbus      %s   REST http://%s/api/v1/cluster/summary
  UI          http://%s/
  supervisor  slots %v   logs in %s
  DRPC        http://%s/drpc/FUNCTION/ARGS
Try:
  squall submit examples/wordcount
  squall list
  curl http://%s/api/v1/topology/summary
(the client commands read %s while the cluster runs)
Ctrl-C kills the topologies and stops the cluster.
`, dir, zkAddr, fields["grpc"], fields["http"], fields["http"], o.ports, filepath.Join(dir, "local", "logs"), drpcHTTP, fields["http"], confFile)
	select {
	case <-ctx.Done():
	case <-nimbus.proc.Done():
		return fmt.Errorf("nimbus stopped: %v", nimbus.proc.Status())
	case <-sup.proc.Done():
		return fmt.Errorf("supervisor stopped: %v", sup.proc.Status())
	case <-drpcd.proc.Done():
		return fmt.Errorf("drpc server stopped: %v", drpcd.proc.Status())
	}
	fmt.Fprintln(stdout, "stopping the dev cluster: killing its topologies")
	if err := killAll(fields["grpc"], 30*time.Second); err != nil {
		fmt.Fprintf(stderr, "dev-cluster: %v\n", err)
	}
	return nil
}

// waitLeading waits until the nimbus at addr leads and a supervisor has
// registered, at most timeout.
func waitLeading(ctx context.Context, addr string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	c := api.NewNimbusClient(conn)
	for {
		ns, err := c.GetNimbusSummary(ctx, &api.GetNimbusSummaryRequest{})
		leads := false
		for _, n := range ns.GetNimbuses() {
			leads = leads || err == nil && n.GetStatus() == api.NimbusLeader
		}
		sups, err := c.GetSupervisorSummary(ctx, &api.GetSupervisorSummaryRequest{})
		if leads && err == nil && len(sups.GetSupervisors()) > 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the cluster has no leading nimbus with a supervisor after %v", timeout)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// killAll kills every topology of the nimbus at addr at once and waits
// until nimbus has removed them, at most timeout.
func killAll(addr string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("kill the topologies: %w", err)
	}
	defer conn.Close()
	c := api.NewNimbusClient(conn)
	for {
		list, err := c.ListTopologies(ctx, &api.ListTopologiesRequest{})
		if err != nil {
			return fmt.Errorf("kill the topologies: %w", api.CLIError(err))
		}
		if len(list.GetTopologies()) == 0 {
			return nil
		}
		for _, t := range list.GetTopologies() {
			if t.GetStatus() == "KILLED" {
				continue
			}
			if _, err := c.KillTopology(ctx, &api.KillTopologyRequest{Id: t.GetId(), WaitSecs: proto.Int32(0)}); err != nil &&
				status.Code(err) != codes.NotFound && status.Code(err) != codes.FailedPrecondition {
				return fmt.Errorf("kill %s: %w", t.GetName(), api.CLIError(err))
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kill the topologies: not all gone after %v", timeout)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// claimDevClusterFile points the client commands at confFile while this
// dev-cluster runs, unless another running one does already.
func claimDevClusterFile(confFile string) error {
	path := devClusterFile()
	if path == "" {
		return errors.New("no home directory")
	}
	if other, pid, ok := runningDevCluster(); ok && pid != os.Getpid() {
		return fmt.Errorf("another dev-cluster (pid %d, %s) is the one client commands find", pid, other)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return writeYAML(path, devClusterPointer{PID: os.Getpid(), Config: confFile})
}

// releaseDevClusterFile removes the pointer if it is this process's.
func releaseDevClusterFile() {
	path := devClusterFile()
	var p devClusterPointer
	if data, err := os.ReadFile(path); err == nil && yaml.Unmarshal(data, &p) == nil && p.PID == os.Getpid() {
		os.Remove(path)
	}
}

func mustAtoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func writeYAML(path string, v any) error {
	data, err := yaml.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}

// readyFields parses "name k=v k=v" readiness lines.
func readyFields(line string) map[string]string {
	out := map[string]string{}
	for _, f := range strings.Fields(line) {
		if k, v, ok := strings.Cut(f, "="); ok {
			out[k] = v
		}
	}
	return out
}

// daemon is a squall daemon run as a child process, its stderr copied to
// ours with its name in front, watched for its readiness line.
type daemon struct {
	name  string
	proc  *procgroup.Process
	ready chan string
	done  sync.WaitGroup
}

func startDaemon(exe, name string, stderr io.Writer, readyPrefix string, args ...string) (*daemon, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, args...)
	cmd.Stdout, cmd.Stderr = w, w
	proc, err := procgroup.Start(cmd)
	w.Close()
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	d := &daemon{name: name, proc: proc, ready: make(chan string, 1)}
	d.done.Go(func() {
		defer r.Close()
		s := bufio.NewScanner(r)
		s.Buffer(make([]byte, 64<<10), 1<<20)
		for s.Scan() {
			line := s.Text()
			if strings.HasPrefix(line, readyPrefix) {
				select {
				case d.ready <- line:
				default:
				}
			}
			fmt.Fprintf(stderr, "[%s] %s\n", name, line)
		}
	})
	return d, nil
}

func (d *daemon) wait(ctx context.Context, timeout time.Duration) (string, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case line := <-d.ready:
		return line, nil
	case <-d.proc.Done():
		return "", fmt.Errorf("%s exited during startup: %v", d.name, d.proc.Status())
	case <-ctx.Done():
		return "", ctx.Err()
	case <-t.C:
		return "", fmt.Errorf("%s not ready after %v", d.name, timeout)
	}
}

// stop asks the daemon to stop and waits for it (and its output).
func (d *daemon) stop() {
	d.proc.Stop(15 * time.Second)
	d.done.Wait()
}
