package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/squallstream/squall/api"
)

// newListCmd lists the running topologies with Storm's columns. A
// topology the scheduler has something to say about (too few free slots
// for the workers it asks for) gets a note on stderr, below the table, so
// that scripts reading the table see Storm's.
func newListCmd() *cobra.Command {
	var o clientFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the topologies running on the cluster",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			conf, err := o.clientConfig()
			if err != nil {
				return err
			}
			var resp *api.ListTopologiesResponse
			err = o.call(cmd.Context(), conf, func(ctx context.Context, c api.NimbusClient) error {
				resp, err = c.ListTopologies(ctx, &api.ListTopologiesRequest{})
				return err
			})
			if err != nil {
				return err
			}
			if err := printTopologies(cmd.OutOrStdout(), resp.GetTopologies()); err != nil {
				return err
			}
			for _, t := range resp.GetTopologies() {
				if info := t.GetSchedulerInfo(); info != "" {
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: %s\n", t.GetName(), info)
				}
				if note := checkpointStallNote(t.GetCheckpointStalled(), t.CheckpointTxid, t.CheckpointAgeSecs); note != "" {
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: %s\n", t.GetName(), note)
				}
			}
			return nil
		},
	}
	o.register(cmd.Flags())
	return cmd
}

// printTopologies prints Storm's table: a header, a line of dashes (which
// scripts skip with the header), a row per topology.
func printTopologies(w io.Writer, ts []*api.TopologySummary) error {
	if len(ts) == 0 {
		_, err := fmt.Fprintln(w, "No topologies running.")
		return err
	}
	var table bytes.Buffer
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Topology_name\tStatus\tNum_tasks\tNum_workers\tUptime_secs\tTopology_Id\tOwner")
	for _, t := range ts {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\n", t.GetName(), t.GetStatus(), t.GetTasksTotal(), t.GetWorkersTotal(),
			t.GetUptimeSeconds(), t.GetId(), t.GetOwner())
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// The dashes go outside the tabwriter: a line without tabs would end
	// its column block and misalign the header.
	header, rows, _ := bytes.Cut(table.Bytes(), []byte("\n"))
	header = bytes.TrimRight(header, " ")
	_, err := fmt.Fprintf(w, "%s\n%s\n%s", header, strings.Repeat("-", len(header)), rows)
	return err
}

// waitFlag is Storm's -w: seconds to wait before killing or rebalancing;
// unset means topology.message.timeout.secs.
type waitFlag struct {
	secs int32
}

func (f *waitFlag) register(cmd *cobra.Command) {
	cmd.Flags().Int32VarP(&f.secs, "wait", "w", 0, "seconds to wait first, 0 or more (default: the topology's topology.message.timeout.secs)")
}

// value returns the wait to send: nil when unset; a negative one is an
// error rather than a guess.
func (f *waitFlag) value(cmd *cobra.Command) (*int32, error) {
	if !cmd.Flags().Changed("wait") {
		return nil, nil
	}
	if f.secs < 0 {
		return nil, fmt.Errorf("-w %d: the wait is a number of seconds, 0 or more", f.secs)
	}
	return &f.secs, nil
}

// newKillCmd kills a topology: its spouts are deactivated at once, its
// workers stopped after the wait.
func newKillCmd() *cobra.Command {
	var o clientFlags
	var wait waitFlag
	cmd := &cobra.Command{
		Use:   "kill TOPOLOGY_NAME",
		Short: "Kill a topology (its spouts are deactivated, its workers stopped after -w seconds)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			w, err := wait.value(cmd)
			if err != nil {
				return err
			}
			return o.operate(cmd, func(ctx context.Context, c api.NimbusClient) (*api.TopologyOperationResponse, error) {
				return c.KillTopology(ctx, &api.KillTopologyRequest{Name: args[0], WaitSecs: w})
			}, "Killed topology: %s\n", args[0])
		},
	}
	o.register(cmd.Flags())
	wait.register(cmd)
	return cmd
}

func newActivateCmd() *cobra.Command {
	var o clientFlags
	cmd := &cobra.Command{
		Use:   "activate TOPOLOGY_NAME",
		Short: "Activate a topology's spouts",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.operate(cmd, func(ctx context.Context, c api.NimbusClient) (*api.TopologyOperationResponse, error) {
				return c.ActivateTopology(ctx, &api.ActivateTopologyRequest{Name: args[0]})
			}, "Activated topology: %s\n", args[0])
		},
	}
	o.register(cmd.Flags())
	return cmd
}

func newDeactivateCmd() *cobra.Command {
	var o clientFlags
	cmd := &cobra.Command{
		Use:   "deactivate TOPOLOGY_NAME",
		Short: "Deactivate a topology's spouts",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.operate(cmd, func(ctx context.Context, c api.NimbusClient) (*api.TopologyOperationResponse, error) {
				return c.DeactivateTopology(ctx, &api.DeactivateTopologyRequest{Name: args[0]})
			}, "Deactivated topology: %s\n", args[0])
		},
	}
	o.register(cmd.Flags())
	return cmd
}

func newRebalanceCmd() *cobra.Command {
	var o clientFlags
	var wait waitFlag
	var workers int32
	var executors []string
	var resources, topoConf string
	cmd := &cobra.Command{
		Use:   "rebalance TOPOLOGY_NAME",
		Short: "Spread a topology over its workers again, optionally with new numbers of workers or executors",
		Long: `Rebalance a topology as Storm does: it is deactivated, and after the wait
(-w, default topology.message.timeout.secs) its executors are spread again,
over -n workers and with -e executors per component when given. A component
can have at most as many executors as it has tasks (numTasks in its
definition): give it more tasks than executors to be able to scale it up.

Storm's -r (resource overrides of its resource-aware scheduler) and -t
(topology configuration overrides) are refused: squall has no
resource-aware scheduler, and keeps a topology's configuration as it was
submitted (kill it and submit it again with -c to change it).`,
		Example: `  squall rebalance wordcount -w 10 -n 4 -e count=8 -e top=1`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("resources") {
				return errors.New("rebalance -r: squall has no resource-aware scheduler, so it takes no resource overrides")
			}
			if cmd.Flags().Changed("topology-conf") {
				return errors.New("rebalance -t: squall does not change a topology's configuration on a rebalance; kill it and submit it again with -c key=value")
			}
			w, err := wait.value(cmd)
			if err != nil {
				return err
			}
			opts := &api.RebalanceOptions{Executors: map[string]int32{}}
			if cmd.Flags().Changed("num-workers") {
				if workers < 1 {
					return fmt.Errorf("-n %d: want at least 1 worker", workers)
				}
				opts.NumWorkers = &workers
			}
			for _, e := range executors {
				comp, n, ok := strings.Cut(e, "=")
				v, err := strconv.Atoi(n)
				if !ok || comp == "" || err != nil || v < 1 || v > math.MaxInt32 {
					return fmt.Errorf("-e %q: want component=executors, at least 1", e)
				}
				opts.Executors[comp] = int32(v)
			}
			return o.operate(cmd, func(ctx context.Context, c api.NimbusClient) (*api.TopologyOperationResponse, error) {
				return c.RebalanceTopology(ctx, &api.RebalanceTopologyRequest{Name: args[0], WaitSecs: w, RebalanceOptions: opts})
			}, "Topology %s is rebalancing\n", args[0])
		},
	}
	o.register(cmd.Flags())
	wait.register(cmd)
	f := cmd.Flags()
	f.Int32VarP(&workers, "num-workers", "n", 0, "new number of workers")
	f.StringArrayVarP(&executors, "executors", "e", nil, "new number of executors of a component, `component=N` (repeatable)")
	f.StringVarP(&resources, "resources", "r", "", "Storm's resource overrides: not supported, squall has no resource-aware scheduler")
	f.StringVarP(&topoConf, "topology-conf", "t", "", "Storm's topology configuration overrides: not supported")
	return cmd
}

// operate runs a topology operation and prints its confirmation.
func (o *clientFlags) operate(cmd *cobra.Command, op func(context.Context, api.NimbusClient) (*api.TopologyOperationResponse, error), format, name string) error {
	conf, err := o.clientConfig()
	if err != nil {
		return err
	}
	err = o.call(cmd.Context(), conf, func(ctx context.Context, c api.NimbusClient) error {
		_, err := op(ctx, c)
		return err
	})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(cmd.OutOrStdout(), format, name)
	return err
}

// stormErrors is what Storm's get-errors prints: the latest error of each
// component that has one, and "Comp-Errors": {} when none has.
type stormErrors struct {
	TopologyName string            `json:"Topology Name"`
	CompErrors   map[string]string `json:"Comp-Errors"`
}

// stormErrorsFailure is what it prints for a topology that is not running.
type stormErrorsFailure struct {
	Failure string `json:"Failure"`
}

func newGetErrorsCmd() *cobra.Command {
	var o clientFlags
	var component string
	var all bool
	cmd := &cobra.Command{
		Use:   "get-errors TOPOLOGY_NAME",
		Short: "Show the latest error of each of a topology's components, as JSON",
		Long: `Print the latest error of each component of a topology that has one, as
Storm's get-errors does:

  {"Topology Name":"wordcount","Comp-Errors":{"split":"ValueError: ..."}}

or {"Failure":"No topologies running with name wordcount"} (exit status 1).
--all prints every recent error instead (the last 10 per component), with
where and when it happened.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			conf, err := o.clientConfig()
			if err != nil {
				return err
			}
			var resp *api.GetErrorsResponse
			err = o.call(cmd.Context(), conf, func(ctx context.Context, c api.NimbusClient) error {
				resp, err = c.GetErrors(ctx, &api.GetErrorsRequest{Name: args[0], Component: component})
				return err
			})
			w := cmd.OutOrStdout()
			if status.Code(err) == codes.NotFound && !all {
				printJSON(w, stormErrorsFailure{Failure: "No topologies running with name " + args[0]})
				return &exitError{code: 1, err: err}
			}
			if err != nil {
				return err
			}
			if all {
				return printAllErrors(w, args[0], resp.GetTopologyErrors())
			}
			out := stormErrors{TopologyName: resp.GetTopologyName(), CompErrors: map[string]string{}}
			// Oldest first: the last of a component's is its latest.
			for _, e := range resp.GetTopologyErrors() {
				out.CompErrors[e.GetComponent()] = e.GetError()
			}
			return printJSON(w, out)
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVarP(&component, "component", "m", "", "only this component's errors")
	cmd.Flags().BoolVar(&all, "all", false, "print every recent error, with its task, host and time, as text")
	return cmd
}

func printJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func printAllErrors(w io.Writer, name string, errs []*api.ComponentError) error {
	if len(errs) == 0 {
		_, err := fmt.Fprintf(w, "No errors in topology %s\n", name)
		return err
	}
	for _, e := range errs {
		when := time.Unix(e.GetErrorTime(), 0).Format(time.RFC3339)
		if _, err := fmt.Fprintf(w, "%s task %d on %s:%d at %s:\n  %s\n", e.GetComponent(), e.GetTask(), e.GetErrorHost(), e.GetErrorPort(),
			when, strings.ReplaceAll(e.GetError(), "\n", "\n  ")); err != nil {
			return err
		}
	}
	return nil
}
