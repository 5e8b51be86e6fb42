package cli

import (
	"cmp"
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
	sample := func() (monitorSample, error) {
		var resp *api.GetComponentResponse
		err := o.call(cmd.Context(), conf, func(ctx context.Context, c api.NimbusClient) error {
			var err error
			resp, err = c.GetComponent(ctx, &api.GetComponentRequest{Name: name, Component: o.component})
			return err
		})
		if err != nil {
			return monitorSample{}, err
		}
		return o.sampleOf(resp, time.Now()), nil
	}
	// A stateful topology whose checkpoint stalls is flagged on stderr,
	// when it stalls and when it commits again.
	stall := checkpointWatch{name: name, out: cmd.ErrOrStderr()}
	checkStall := func() {
		err := o.call(cmd.Context(), conf, func(ctx context.Context, c api.NimbusClient) error {
			t, err := c.GetTopology(ctx, &api.GetTopologyRequest{Name: name})
			if err == nil {
				stall.update(t.GetCheckpointStalled(), t.CheckpointTxid, t.CheckpointAgeSecs)
			}
			return err
		})
		_ = err // the throughput sample reports nimbus's errors
	}
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "topology\tcomponent\tparallelism\tstream\ttime-diff ms\t"+o.watch+"\tthroughput (Kt/s)\tlatency ms (10m)\tp50 ms (10m)\tp99 ms (10m)")
	tw.Flush()
	first, err := sample()
	if err != nil {
		return err
	}
	checkStall()
	prev, prevAt := first.count, first.at
	tick := time.NewTicker(time.Duration(o.interval))
	defer tick.Stop()
	for n := 0; o.count == 0 || n < o.count; n++ {
		select {
		case <-cmd.Context().Done():
			return nil
		case <-tick.C:
		}
		s, err := sample()
		if err != nil {
			return err
		}
		checkStall()
		diff := s.at.Sub(prevAt)
		rate := float64(s.count-prev) / diff.Seconds() / 1000
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%d\t%.3f\t%s\t%s\t%s\n", name, o.component, s.parallelism, o.stream,
			diff.Milliseconds(), s.count-prev, rate, s.latency, s.p50, s.p99)
		tw.Flush()
		prev, prevAt = s.count, s.at
	}
	return nil
}

// monitorSample is what one look at a component tells the monitor. The
// latency is a spout's complete latency or a bolt's execute latency: its
// mean and percentiles over the last 10 minutes ("-" without values).
type monitorSample struct {
	count             int64
	parallelism       int32
	at                time.Time
	latency, p50, p99 string
}

func (o *monitorOptions) sampleOf(resp *api.GetComponentResponse, at time.Time) monitorSample {
	s := monitorSample{parallelism: resp.GetExecutors(), at: at, latency: "-", p50: "-", p99: "-"}
	for _, out := range resp.GetOutputStats() {
		if out.GetStream() == o.stream {
			s.count = out.GetEmitted()
			if o.watch == "transferred" {
				s.count = out.GetTransferred()
			}
		}
	}
	for _, w := range resp.GetSpoutSummary() {
		switch w.GetWindow() {
		case "600":
			s.latency = w.GetCompleteLatency()
			s.p50, s.p99 = cmp.Or(w.GetCompleteLatencyP50(), "-"), cmp.Or(w.GetCompleteLatencyP99(), "-")
		}
	}
	for _, w := range resp.GetBoltStats() {
		switch w.GetWindow() {
		case "600":
			s.latency = w.GetExecuteLatency()
			s.p50, s.p99 = cmp.Or(w.GetExecuteLatencyP50(), "-"), cmp.Or(w.GetExecuteLatencyP99(), "-")
		}
	}
	return s
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
