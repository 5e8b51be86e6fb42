package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/squallstream/squall/adapters"
	"github.com/squallstream/squall/internal/procgroup"
	"github.com/squallstream/squall/shell"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/worker"
)

type localOptions struct {
	topologyFlags
	duration time.Duration
	dryRun   bool
	interval time.Duration
	logLevel string
	logFile  string
	inactive bool
	drpc     localDRPCFlags

	// signals delivers interrupts; nil means this process's SIGINT and
	// SIGTERM. Tests send their own.
	signals <-chan os.Signal
	// stopGrace is the shell children's stop grace period; zero means
	// the default.
	stopGrace time.Duration
	// attach is --attach COMPONENT[:TASK]; stdin is what the user types
	// to it (nil: this process's).
	attach string
	stdin  io.Reader
}

// exitInterrupted is the exit code of a run stopped at once by a second
// interrupt, as a shell reports a command killed by SIGINT.
const exitInterrupted = 130

func newLocalCmd(deps *Options) *cobra.Command {
	var o localOptions
	cmd := &cobra.Command{
		Use:   "local TOPOLOGY",
		Short: "Run a topology on this machine, without a cluster",
		Long: `Run a topology in this process: a YAML file (native or Flux), or a directory
holding topology.yaml and resources/ (where shell components run). Shell
components are real child processes; squall's Python, Ruby and Node adapters
are importable without copying them.

Progress is shown live on a terminal and as periodic lines otherwise. Ctrl-C
(or --duration) stops the topology cleanly: spouts are deactivated first,
child processes stopped; a second Ctrl-C kills the children at once. The
summary is printed in both cases.`,
		Example: `  squall local examples/wordcount
  squall local --duration 30s topology.yaml
  squall local --dry-run --filter dev.properties flux.yaml
  squall local --drpc examples/reach-python    # then: curl http://127.0.0.1:3774/drpc/reach/squall.dev/blog/1`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLocal(cmd.Context(), o, deps.Registry, args[0], cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	o.topologyFlags.register(f)
	f.DurationVar(&o.duration, "duration", 0, "stop after this long (default: run until Ctrl-C)")
	f.BoolVar(&o.dryRun, "dry-run", false, "print the validated topology and exit")
	f.DurationVar(&o.interval, "interval", 0, "how often to show progress (default 1s on a terminal, 10s otherwise)")
	f.StringVar(&o.logLevel, "log-level", "warn", "log level: debug, info, warn or error (child stderr is logged at info)")
	f.StringVar(&o.logFile, "log-file", "", "log to this `file` in the workers' line format (squall logs --file reads it), rotated by size, instead of the terminal; sampled tuples go to events.log beside it")
	f.BoolVar(&o.inactive, "inactive", false, "start with the topology deactivated")
	o.drpc.register(f)
	f.StringVar(&o.attach, "attach", "", "give one task (COMPONENT or COMPONENT:TASK) a terminal for its debugger: breakpoint(), binding.irb; what you type goes to it")
	return cmd
}

func runLocal(ctx context.Context, o localOptions, reg *topology.Registry, path string, stdout, stderr io.Writer) error {
	src, topo, err := o.loadAt(path, reg)
	if err != nil {
		return err
	}
	warnLint(stderr, src, o.topologyFlags, reg)
	stormID := fmt.Sprintf("%s-1-%d", topo.Name, time.Now().Unix())

	stdoutRestore := func() {}
	level, err := parseLogLevel(o.logLevel)
	if err != nil {
		return err
	}
	var att *attachment
	if o.attach != "" {
		if att, err = openAttachment(o.attach); err != nil {
			return err
		}
		defer att.close()
	}
	// An attached debugger prints on the screen: no table redrawn over it.
	live := isTerminal(stderr) && att == nil
	prog := newProgress(stderr, live, stormID, topo)
	if f, ok := stderr.(*os.File); ok && live {
		prog.columns = terminalColumns(f)
		if out, ok := stdout.(*os.File); ok && out.Fd() == 1 && sameTerminal(out, f) && !o.dryRun {
			// Component output goes above the live table, never under it.
			restore, err := captureStdout(prog)
			if err != nil {
				return err
			}
			stdoutRestore = func() { restore(); prog.flushPartial() }
			defer stdoutRestore()
		}
	}
	logger := slog.New(slog.NewTextHandler(prog, &slog.HandlerOptions{Level: level}))
	var events *slog.Logger
	if o.logFile != "" && !o.dryRun {
		var closeLogs func()
		if logger, events, closeLogs, err = localLogFile(o.logFile, topo.Config, stormID, level); err != nil {
			return err
		}
		defer closeLogs()
		prog.notice("logging to " + o.logFile)
	}

	work, err := os.MkdirTemp("", "squall-local-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	env, err := adapters.Install(filepath.Join(work, "adapters"))
	if err != nil {
		return err
	}
	if o.drpc.enabled && !o.dryRun {
		d, err := startLocalDRPC(topo.Config, o.drpc, logger)
		if err != nil {
			return err
		}
		defer d.stop() // after the worker: its spouts fail what they hold
		conf, err := d.topologyConfig()
		if err != nil {
			return err
		}
		topo.Config = topo.Config.Merge(conf)
		prog.notice(d.banner())
	}
	// The adapters' keys merged with this process's own values: the
	// children, and their dependency environments, keep the NODE_OPTIONS,
	// RUBYOPT and search paths squall runs with.
	childEnv := env.Over(os.Environ())
	if !o.dryRun {
		if err := prepareDeps(ctx, topo, src.resources, childEnv, prog, logger); err != nil {
			return err
		}
	}
	shellOpts := shell.Options{Env: childEnv, StopGrace: o.stopGrace}
	if att != nil {
		shellOpts.Attach = att.terminal
	}
	pidDir := filepath.Join(work, "pids")
	w, err := worker.New(worker.Config{
		Topology:     topo,
		StormID:      stormID,
		ResourcesDir: src.resources,
		PidDir:       pidDir,
		Shell:        shellOpts,
		Inactive:     o.inactive,
		Logger:       logger,
		OnError:      prog.noteError,
		Events:       events,
	})
	if err != nil {
		return err
	}
	if err := checkShellCommands(topo, src, shellOpts, w.Conf()); err != nil {
		return err
	}
	if o.dryRun {
		describeTopology(stdout, topo, w.Tasks(), w.Conf())
		return nil
	}
	if att != nil {
		if err := att.resolve(w); err != nil {
			return err
		}
		in := o.stdin
		if in == nil {
			in = os.Stdin
		}
		att.serve(in, prog)
		prog.notice(fmt.Sprintf("squall: %s task %d is attached: its debugger talks here, and what you type goes to it", att.component, att.task))
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if o.duration > 0 {
		runCtx, cancel = context.WithTimeout(runCtx, o.duration)
		defer cancel()
	}
	interval := o.interval
	if interval <= 0 {
		interval = 10 * time.Second
		if live {
			interval = time.Second
		}
	}
	sigs := o.signals
	if sigs == nil {
		ch := make(chan os.Signal, 2)
		// Registered for the whole run, so that a second Ctrl-C comes
		// here rather than kill the process before the summary.
		signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(ch)
		sigs = ch
	}
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx) }()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var runErr error
	interrupts := 0
loop:
	for {
		select {
		case <-tick.C:
			prog.update(w.Stats(), crashLooping(w))
		case <-sigs:
			if interrupts++; interrupts == 1 {
				prog.notice("squall: stopping: spouts are deactivated and children stopped (Ctrl-C again to stop at once)")
				cancel()
				continue
			}
			prog.notice("squall: stopping at once: killing the child processes")
			procgroup.KillChildren(pidDir)
			// With its children dead, the worker ends at once; its
			// figures are then complete.
			select {
			case <-done:
			case <-time.After(forcedStopWait):
			}
			stdoutRestore()
			prog.summary(stdout, w.Stats(), w.Errors(), w.UserMetrics())
			return &exitError{code: exitInterrupted, err: errors.New("stopped at once by a second interrupt")}
		case runErr = <-done:
			break loop
		}
	}
	stdoutRestore()
	prog.summary(stdout, w.Stats(), w.Errors(), w.UserMetrics())
	if runErr != nil {
		return runErr
	}
	for task, h := range w.Health() {
		if h.CrashLooping {
			return fmt.Errorf("task %d (%s) was crash-looping: %w", task, w.Tasks().Component(task), h.LastError)
		}
	}
	return nil
}

// crashLooping returns, per component, why its shell children are
// crash-looping: the last failure of one of its tasks that is.
func crashLooping(w *worker.Worker) map[string]string {
	out := map[string]string{}
	for task, h := range w.Health() {
		if !h.CrashLooping {
			continue
		}
		why := fmt.Sprintf("task %d: %d failures", task, h.Failures)
		if h.LastError != nil {
			why += ", the last: " + strings.SplitN(h.LastError.Error(), "\n", 2)[0]
		}
		out[w.Tasks().Component(task)] = why
	}
	return out
}

// forcedStopWait bounds how long a stop at once waits for the worker to
// finish before printing the summary.
const forcedStopWait = 2 * time.Second

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// checkShellCommands fails fast on shell components whose executable this
// machine lacks, instead of leaving their tasks in a crash loop.
func checkShellCommands(topo *topology.Topology, src topologySource, opts shell.Options, conf topology.Config) error {
	var errs []*topology.Error
	for _, c := range topo.Components {
		if c.Shell == nil {
			continue
		}
		if err := shell.CheckCommand(c.Shell, src.resources, opts, conf.Merge(c.Config)); err != nil {
			errs = append(errs, &topology.Error{File: src.file, Line: c.Line, Component: c.ID, Err: err})
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &topology.ValidationError{Errors: errs}
}
