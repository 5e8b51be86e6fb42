package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/squallstream/squall/internal/drpcload"
)

func newDRPCBenchCmd() *cobra.Command {
	var c drpcload.Config
	cmd := &cobra.Command{
		Use:   "drpc-bench -f FUNCTION",
		Short: "Load a DRPC server's HTTP forms and measure round trips",
		Long: `Call a DRPC function over HTTP from many keep-alive clients at once, each
one request at a time, and print requests/s and round-trip percentiles.
One client measures latency at low load; 64, requests/s at saturation.`,
		Example: `  squall drpc-bench -f exclamation --clients 1 --duration 10s
  squall drpc-bench -f exclamation --clients 64 --requests 100000 --args hi --want hi!`,
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := drpcload.Run(cmd.Context(), c)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), r)
			if r.Errors > 0 {
				return fmt.Errorf("%d of %d requests failed", r.Errors, r.Requests)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.URL, "url", "http://127.0.0.1:3774", "the DRPC server's HTTP base URL (drpc.http.port)")
	f.StringVarP(&c.Function, "function", "f", "", "the function to call")
	f.StringVar(&c.Args, "args", "", "the arguments of every call")
	f.StringVar(&c.Want, "want", "", "the expected result; others count as errors")
	f.IntVar(&c.Clients, "clients", 64, "concurrent clients, each on its own connection")
	f.IntVar(&c.Requests, "requests", 0, "requests in all (default: run for --duration)")
	f.DurationVar(&c.Duration, "duration", 10*time.Second, "how long to run, without --requests")
	return cmd
}
