package cli

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/squallstream/squall/api"
)

type monitorOptions struct {
	clientFlags
	interval  secondsFlag
	component string
	stream    string
	watch     string
	count     int
}

// newMonitorCmd prints a component's throughput at regular intervals, as
// Storm's monitor does.
func newMonitorCmd() *cobra.Command {
	var o monitorOptions
	cmd := &cobra.Command{
		Use:     "monitor TOPOLOGY_NAME",
		Short:   "Print a component's throughput every interval",
		Example: `  squall monitor wordcount -m split -s default -i 5`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd, args[0])
		},
	}
	o.register(cmd.Flags())
	f := cmd.Flags()
	o.interval = secondsFlag(4 * time.Second)
	f.VarP(&o.interval, "interval", "i", "`seconds` between two figures, as Storm's -i (a duration such as 500ms works too)")
	f.StringVarP(&o.component, "component", "m", "", "the component (required)")
	f.StringVarP(&o.stream, "stream", "s", "default", "the component's output stream")
	f.StringVarP(&o.watch, "watch", "w", "emitted", "what to count: emitted or transferred")
	f.IntVar(&o.count, "count", 0, "stop after this many figures (default: until Ctrl-C)")
	return cmd
}

func (o *monitorOptions) run(cmd *cobra.Command, name string) error {
	if o.component == "" {
		return errors.New("monitor needs -m COMPONENT")
	}
	if o.watch != "emitted" && o.watch != "transferred" {
		return fmt.Errorf("-w %q: want emitted or transferred", o.watch)
	}
	conf, err := o.clientConfig()
	if err != nil {
		return err
	}
	sample := func() (int64, int32, time.Time, error) {
		var resp *api.GetComponentResponse
		err := o.call(cmd.Context(), conf, func(ctx context.Context, c api.NimbusClient) error {
			var err error
			resp, err = c.GetComponent(ctx, &api.GetComponentRequest{Name: name, Component: o.component})
			return err
		})
		if err != nil {
			return 0, 0, time.Time{}, err
		}
		for _, s := range resp.GetOutputStats() {
			if s.GetStream() == o.stream {
				if o.watch == "transferred" {
					return s.GetTransferred(), resp.GetExecutors(), time.Now(), nil
				}
				return s.GetEmitted(), resp.GetExecutors(), time.Now(), nil
			}
		}
		return 0, resp.GetExecutors(), time.Now(), nil
	}
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "topology\tcomponent\tparallelism\tstream\ttime-diff ms\t"+o.watch+"\tthroughput (Kt/s)")
	tw.Flush()
	prev, _, prevAt, err := sample()
	if err != nil {
		return err
	}
	tick := time.NewTicker(time.Duration(o.interval))
	defer tick.Stop()
	for n := 0; o.count == 0 || n < o.count; n++ {
		select {
		case <-cmd.Context().Done():
			return nil
		case <-tick.C:
		}
		cur, par, at, err := sample()
		if err != nil {
			return err
		}
		diff := at.Sub(prevAt)
		rate := float64(cur-prev) / diff.Seconds() / 1000
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%d\t%.3f\n", name, o.component, par, o.stream, diff.Milliseconds(), cur-prev, rate)
		tw.Flush()
		prev, prevAt = cur, at
	}
	return nil
}

// secondsFlag is a duration given in seconds, as Storm's command line
// takes them (-i 5), or with a unit (-i 500ms).
type secondsFlag time.Duration

func (s *secondsFlag) String() string { return time.Duration(*s).String() }
func (s *secondsFlag) Type() string   { return "seconds" }

func (s *secondsFlag) Set(v string) error {
	d, err := parseSeconds(v)
	if err != nil {
		return err
	}
	*s = secondsFlag(d)
	return nil
}

// parseSeconds reads "5" or "2.5" as seconds, "500ms" or "1m" as a
// duration; the result must be positive.
func parseSeconds(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		secs, ferr := strconv.ParseFloat(v, 64)
		if ferr != nil || math.IsNaN(secs) || math.IsInf(secs, 0) {
			return 0, fmt.Errorf("%q is not a number of seconds or a duration", v)
		}
		d = time.Duration(secs * float64(time.Second))
	}
	if d <= 0 || d > 24*time.Hour {
		return 0, fmt.Errorf("%q: want more than 0 and at most a day", v)
	}
	return d, nil
}
