package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/squallstream/squall/api"
)

// newListCmd lists the running topologies with Storm's columns.
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
			return printTopologies(cmd.OutOrStdout(), resp.GetTopologies())
		},
	}
	o.register(cmd.Flags())
	return cmd
}

func printTopologies(w io.Writer, ts []*api.TopologySummary) error {
	if len(ts) == 0 {
		_, err := fmt.Fprintln(w, "No topologies running.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Topology_name\tStatus\tNum_tasks\tNum_workers\tUptime_secs\tTopology_Id\tOwner")
	for _, t := range ts {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\n", t.GetName(), t.GetStatus(), t.GetTasksTotal(), t.GetWorkersTotal(),
			t.GetUptimeSeconds(), t.GetId(), t.GetOwner())
	}
	return tw.Flush()
}

// waitFlag is Storm's -w: seconds to wait before killing or rebalancing;
// unset means topology.message.timeout.secs.
type waitFlag struct {
	secs int32
	set  bool
}

func (f *waitFlag) register(cmd *cobra.Command) {
	cmd.Flags().Int32VarP(&f.secs, "wait", "w", 0, "seconds to wait first (default: the topology's topology.message.timeout.secs)")
}

func (f *waitFlag) value(cmd *cobra.Command) *int32 {
	if !cmd.Flags().Changed("wait") {
		return nil
	}
	if f.secs < 0 {
		f.secs = 0
	}
	return &f.secs
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
			return o.operate(cmd, func(ctx context.Context, c api.NimbusClient) (*api.TopologyOperationResponse, error) {
				return c.KillTopology(ctx, &api.KillTopologyRequest{Name: args[0], WaitSecs: wait.value(cmd)})
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
	cmd := &cobra.Command{
		Use:     "rebalance TOPOLOGY_NAME",
		Short:   "Spread a topology over its workers again, optionally with new numbers of workers or executors",
		Example: `  squall rebalance wordcount -w 10 -n 4 -e split=8 -e count=4`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := &api.RebalanceOptions{Executors: map[string]int32{}}
			if cmd.Flags().Changed("num-workers") {
				opts.NumWorkers = &workers
			}
			for _, e := range executors {
				comp, n, ok := strings.Cut(e, "=")
				v, err := strconv.Atoi(n)
				if !ok || comp == "" || err != nil || v < 1 {
					return fmt.Errorf("-e %q: want component=executors, at least 1", e)
				}
				opts.Executors[comp] = int32(v)
			}
			return o.operate(cmd, func(ctx context.Context, c api.NimbusClient) (*api.TopologyOperationResponse, error) {
				return c.RebalanceTopology(ctx, &api.RebalanceTopologyRequest{Name: args[0], WaitSecs: wait.value(cmd), RebalanceOptions: opts})
			}, "Topology %s is rebalancing\n", args[0])
		},
	}
	o.register(cmd.Flags())
	wait.register(cmd)
	cmd.Flags().Int32VarP(&workers, "num-workers", "n", 0, "new number of workers")
	cmd.Flags().StringArrayVarP(&executors, "executors", "e", nil, "new number of executors of a component, `component=N` (repeatable)")
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

func newGetErrorsCmd() *cobra.Command {
	var o clientFlags
	var component string
	cmd := &cobra.Command{
		Use:   "get-errors TOPOLOGY_NAME",
		Short: "Show the last errors of a topology's components",
		Args:  cobra.ExactArgs(1),
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
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if len(resp.GetTopologyErrors()) == 0 {
				_, err := fmt.Fprintf(w, "No errors in topology %s\n", args[0])
				return err
			}
			for _, e := range resp.GetTopologyErrors() {
				when := time.Unix(e.GetErrorTime(), 0).Format(time.RFC3339)
				fmt.Fprintf(w, "%s task %d on %s:%d at %s:\n  %s\n", e.GetComponent(), e.GetTask(), e.GetErrorHost(), e.GetErrorPort(),
					when, strings.ReplaceAll(e.GetError(), "\n", "\n  "))
			}
			return nil
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVarP(&component, "component", "m", "", "only this component's errors")
	return cmd
}
