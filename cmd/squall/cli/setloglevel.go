package cli

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/squallstream/squall/api"
)

type setLogLevelOptions struct {
	clientFlags
	set   []string
	reset []string
}

// newSetLogLevelCmd is Storm's set_log_level: it changes the log level of
// a running topology's workers, for a while or until changed again.
func newSetLogLevelCmd() *cobra.Command {
	var o setLogLevelOptions
	cmd := &cobra.Command{
		Use:   "set_log_level TOPOLOGY_NAME -l LOGGER=LEVEL[:TIMEOUT_SECS] | -r LOGGER",
		Short: "Change the log level of a running topology's workers",
		Long: `Change the log level of a running topology's workers without restarting
them, as Storm's set_log_level: -l sets LOGGER to LEVEL (ALL, TRACE, DEBUG,
INFO, WARN, ERROR, FATAL, OFF), for TIMEOUT_SECS seconds if given, after
which the workers go back to the level they started with; -r clears a
setting at once. squall's workers have one logger, ROOT: their own lines,
their tasks' and what multilang children log with the log command.`,
		Example: `  squall set_log_level wordcount -l ROOT=DEBUG:30
  squall set_log_level wordcount -r ROOT`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd, args[0])
		},
	}
	o.register(cmd.Flags())
	f := cmd.Flags()
	f.StringArrayVarP(&o.set, "logger", "l", nil, "`LOGGER=LEVEL[:TIMEOUT_SECS]` to set (repeatable)")
	f.StringArrayVarP(&o.reset, "reset", "r", nil, "`LOGGER` whose setting to clear (repeatable)")
	return cmd
}

// parseLogLevels reads -l and -r into a request's levels.
func parseLogLevels(set, reset []string) (map[string]*api.NamedLoggerLevel, error) {
	if len(set) == 0 && len(reset) == 0 {
		return nil, errors.New("set_log_level needs -l LOGGER=LEVEL[:TIMEOUT_SECS] or -r LOGGER")
	}
	out := map[string]*api.NamedLoggerLevel{}
	for _, s := range set {
		name, rest, ok := strings.Cut(s, "=")
		if !ok || name == "" || rest == "" {
			return nil, fmt.Errorf("-l %q: want LOGGER=LEVEL[:TIMEOUT_SECS]", s)
		}
		level, secs, hasTimeout := strings.Cut(rest, ":")
		l := &api.NamedLoggerLevel{TargetLevel: strings.ToUpper(level)}
		if hasTimeout {
			n, err := strconv.Atoi(secs)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("-l %q: timeout %q is not a number of seconds", s, secs)
			}
			l.Timeout = int32(min(n, 1<<30))
		}
		out[name] = l
	}
	for _, name := range reset {
		if name == "" {
			return nil, errors.New("-r: empty logger name")
		}
		if _, both := out[name]; both {
			return nil, fmt.Errorf("logger %q is both set (-l) and reset (-r)", name)
		}
		out[name] = &api.NamedLoggerLevel{TargetLevel: "CLEAR"}
	}
	return out, nil
}

func (o *setLogLevelOptions) run(cmd *cobra.Command, name string) error {
	levels, err := parseLogLevels(o.set, o.reset)
	if err != nil {
		return err
	}
	conf, err := o.clientConfig()
	if err != nil {
		return err
	}
	var resp *api.LogConfigResponse
	err = o.call(cmd.Context(), conf, func(ctx context.Context, c api.NimbusClient) error {
		var err error
		resp, err = c.SetLogConfig(ctx, &api.SetLogConfigRequest{Name: name, NamedLoggerLevels: levels})
		return err
	})
	if err != nil {
		return err
	}
	now := resp.GetNamedLoggerLevels()
	if len(now) == 0 {
		fmt.Fprintf(cmd.OutOrStdout(), "%s: no log level set; workers log at their own level\n", name)
		return nil
	}
	names := make([]string, 0, len(now))
	for n := range now {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		l := now[n]
		if l.GetTimeout() > 0 {
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s=%s for %ds\n", name, n, l.GetTargetLevel(), l.GetTimeout())
		} else {
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s=%s\n", name, n, l.GetTargetLevel())
		}
	}
	return nil
}
