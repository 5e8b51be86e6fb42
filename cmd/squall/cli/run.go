package cli

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/squallstream/squall/adapters"
	"github.com/squallstream/squall/internal/fixture"
	"github.com/squallstream/squall/shell"
	"github.com/squallstream/squall/topology"
)

type runOptions struct {
	topologyFlags
	topology string
	replay   string
	noTTY    bool
	settle   time.Duration
	timeout  time.Duration
	logLevel string
}

func newRunCmd(deps *Options) *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run COMPONENT",
		Short: "Run one spout or bolt on this terminal: type tuples, see what it does, debug it",
		Long: `Run one task of a spout or bolt of a topology through the same host as in a
worker (a real child process for Python, Ruby and Node components) and hand
it what you type:

  ["a b", 3]        a tuple for a bolt (JSON), from its first input
  a b 3             the same as words (numbers, true, false, null as such)
  :source NAME      later tuples come from NAME (:stream NAME likewise)
  :tick [SECS]      a tick tuple
  :next  :ack ID  :fail ID  :activate  :deactivate   for a spout (colon optional)
  :replay FILE      the inputs of a fixture file (as squall test reads them),
                    each printed as squall test records it
  :quit             or Ctrl-D

Everything the component does is printed as it happens, prefixed with its
task id: emits (with anchors, message id, target tasks), acks, fails, logs
(print() too, with squall's adapters), reported errors, crashes (the host
restarts the child).

The child gets a terminal of its own beside the protocol pipes: Python's
breakpoint() and pdb.set_trace(), Ruby's binding.irb and debugger stop there,
and while the component works on an input what you type goes to the
debugger (type c, continue, exit). --no-tty runs it without.`,
		Example: `  squall run split
  squall run -t examples/wordcount split --replay tests/split.jsonl
  squall run sentences          # then :next, :ack 1`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd, deps.Registry, args[0])
		},
	}
	f := cmd.Flags()
	o.topologyFlags.register(f)
	f.StringVarP(&o.topology, "topology", "t", ".", "the topology: a YAML file or a directory holding topology.yaml")
	f.StringVar(&o.replay, "replay", "", "feed this fixture file first; without a terminal on stdin, then exit")
	f.BoolVar(&o.noTTY, "no-tty", false, "give the child no terminal of its own (no debugger)")
	f.DurationVar(&o.settle, "settle", time.Second, "how long a bolt may stay quiet before an input it neither acked nor failed counts as pending")
	f.DurationVar(&o.timeout, "timeout", time.Minute, "how long the component may take to start, or to restart after a crash")
	f.StringVar(&o.logLevel, "log-level", "warn", "level of the host's own logs (the child's stderr is logged at info)")
	return cmd
}

func (o *runOptions) run(cmd *cobra.Command, reg *topology.Registry, component string) error {
	level, err := parseLogLevel(o.logLevel)
	if err != nil {
		return err
	}
	src, topo, err := o.loadAt(o.topology, reg)
	if err != nil {
		return err
	}
	in := cmd.InOrStdin()
	var replay []*fixture.Input
	if o.replay != "" {
		fh, err := os.Open(o.replay)
		if err != nil {
			return fmt.Errorf("--replay: %w", err)
		}
		replay, err = fixture.ReadInputs(io.LimitReader(fh, 256<<20))
		fh.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", o.replay, err)
		}
	}

	work, err := os.MkdirTemp("", "squall-run-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	adapterDir := filepath.Join(work, "adapters")
	env, err := adapters.Install(adapterDir)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
	// The adapters' keys merged with this process's own values: the
	// children, and their dependency environments, keep the NODE_OPTIONS,
	// RUBYOPT and search paths squall runs with.
	childEnv := env.Over(os.Environ())
	if err := prepareDeps(cmd.Context(), topo, src.resources, childEnv, cmd.ErrOrStderr(), logger); err != nil {
		return err
	}
	con := fixture.Console{In: in, Out: out, ReplayOnly: o.replay != "" && !isTerminal(in)}
	if !o.noTTY {
		if con.Term, con.TTY, err = shell.OpenTerminal(); err != nil {
			return err
		}
		defer con.Term.Close()
		defer con.TTY.Close()
	}
	return fixture.Interact(cmd.Context(), fixture.Options{
		Topology:     topo,
		Component:    component,
		ResourcesDir: src.resources,
		Shell:        shell.Options{Env: childEnv, MinBackoff: 50 * time.Millisecond, StopGrace: time.Second},
		Settle:       o.settle,
		Timeout:      o.timeout,
		Logger:       logger,
	}, con, replay)
}
