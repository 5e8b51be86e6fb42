package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/squallstream/squall/adapters"
	"github.com/squallstream/squall/internal/fixture"
	"github.com/squallstream/squall/shell"
	"github.com/squallstream/squall/topology"
)

type testOptions struct {
	topologyFlags
	topology string
	fixtures string
	expect   string
	update   bool
	settle   time.Duration
	timeout  time.Duration
	logLevel string
}

func newTestCmd(deps *Options) *cobra.Command {
	var o testOptions
	cmd := &cobra.Command{
		Use:   "test COMPONENT --fixtures FILE.jsonl",
		Short: "Replay recorded inputs to one spout or bolt and compare what it does",
		Long: `Run one spout or bolt of a topology on its own, through the same host as in a
worker (a real child process for Python, Ruby and Node components), hand it
the inputs of a fixture file one at a time, and compare what it does in
answer - emits, acks, fails, logs, reported errors - with an expected file.
--update writes the expected file instead (a golden file: review it, commit it).

The fixture file holds one JSON input per line (# starts a comment):

  ["snow white"]                                  a tuple for a bolt
  {"tuple": ["x"], "source": "s", "stream": "st"} one from a given source and stream
  {"tick": 5}                                     a tick tuple
  "next"  {"ack": 7}  {"fail": 7}  "activate"  "deactivate"    for a spout

A bolt's input is done when the bolt acks or fails it, or after --settle of
quiet (then it is marked pending). A spout is activated first, as a worker
does. The expected file is FILE with .jsonl replaced by .expected.jsonl
unless --expect names one.`,
		Example: `  squall test split --fixtures tests/split.jsonl --update
  squall test split --fixtures tests/split.jsonl
  squall test -t examples/wordcount split --fixtures sentences.jsonl`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd, deps.Registry, args[0])
		},
	}
	f := cmd.Flags()
	o.topologyFlags.register(f)
	f.StringVarP(&o.topology, "topology", "t", ".", "the topology: a YAML file or a directory holding topology.yaml")
	f.StringVar(&o.fixtures, "fixtures", "", "the inputs, one JSON value per line (required)")
	f.StringVar(&o.expect, "expect", "", "the expected results (default: the fixtures file with .expected.jsonl)")
	f.BoolVar(&o.update, "update", false, "write the expected results instead of comparing")
	f.DurationVar(&o.settle, "settle", time.Second, "how long a bolt may stay quiet before an input it neither acked nor failed counts as pending")
	f.DurationVar(&o.timeout, "timeout", time.Minute, "how long the component may take to start, and to answer each input")
	f.StringVar(&o.logLevel, "log-level", "warn", "level of the host's own logs on stderr (the child's stderr is logged at info)")
	_ = cmd.MarkFlagRequired("fixtures")
	return cmd
}

// errTestFailed: the component did not do what the expected file says.
var errTestFailed = errors.New("not as expected")

func (o *testOptions) run(cmd *cobra.Command, reg *topology.Registry, component string) error {
	level, err := parseLogLevel(o.logLevel)
	if err != nil {
		return err
	}
	src, topo, err := o.loadAt(o.topology, reg)
	if err != nil {
		return err
	}
	fh, err := os.Open(o.fixtures)
	if err != nil {
		return fmt.Errorf("--fixtures: %w", err)
	}
	inputs, err := fixture.ReadInputs(io.LimitReader(fh, 256<<20))
	fh.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", o.fixtures, err)
	}
	expect := o.expect
	if expect == "" {
		expect = strings.TrimSuffix(o.fixtures, ".jsonl") + ".expected.jsonl"
	}
	var want []fixture.Step
	if !o.update {
		data, err := os.ReadFile(expect)
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("no expected results in %s: record them with --update, review and commit them", expect)
		}
		if err != nil {
			return err
		}
		if want, err = fixture.ReadSteps(bytes.NewReader(data)); err != nil {
			return fmt.Errorf("%s: %w", expect, err)
		}
	}

	work, err := os.MkdirTemp("", "squall-test-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	adapterDir := filepath.Join(work, "adapters")
	env, err := adapters.Install(adapterDir)
	if err != nil {
		return err
	}
	stderr := cmd.ErrOrStderr()
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	// The adapters' keys merged with this process's own values: the
	// children, and their dependency environments, keep the NODE_OPTIONS,
	// RUBYOPT and search paths squall runs with.
	childEnv := env.Over(os.Environ())
	if err := prepareDeps(cmd.Context(), topo, src.resources, childEnv, stderr, logger); err != nil {
		return err
	}
	steps, err := fixture.Run(cmd.Context(), fixture.Options{
		Topology:     topo,
		Component:    component,
		ResourcesDir: src.resources,
		Shell:        shell.Options{Env: childEnv, MinBackoff: 50 * time.Millisecond, StopGrace: time.Second},
		Settle:       o.settle,
		Timeout:      o.timeout,
		Logger:       logger,
		Redact:       map[string]string{src.resources: "<resources>", adapterDir: "<adapters>"},
	}, inputs)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if o.update {
		var b bytes.Buffer
		if err := fixture.WriteSteps(&b, steps); err != nil {
			return err
		}
		if err := os.WriteFile(expect, b.Bytes(), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(out, "%s: recorded what %s did with %d inputs in %s\n", component, component, len(inputs), expect)
		return nil
	}
	if diff := fixture.Diff(want, steps); diff != "" {
		fmt.Fprintf(out, "%s: not as expected (- %s, + this run):\n%s", component, expect, diff)
		return &exitError{code: 1, err: fmt.Errorf("test %s: %w (run with --update to accept this run)", component, errTestFailed)}
	}
	fmt.Fprintf(out, "%s: %d inputs, all as expected (%s)\n", component, len(inputs), expect)
	return nil
}
