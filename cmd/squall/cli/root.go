// Package cli holds squall's command-line interface: one cobra command per
// file, each with its flags bound to a local options struct.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/squallstream/squall/topology"
)

// exitError carries a specific process exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// Main runs the squall command line with args and returns the process exit
// code. ctx is cancelled on SIGINT/SIGTERM.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return MainWith(ctx, args, stdout, stderr, Options{})
}

// Options customise the command line for a program built on squall.
type Options struct {
	// Registry names the Go components the program's topologies may use;
	// nil means squall's built-in ones. A Go program holding a topology's
	// own components passes its registry (usually with the built-ins
	// added) and runs MainWith from its main: the same binary then
	// submits, validates and runs the topology's workers.
	Registry *topology.Registry

	// ownBinary is set when the program is not the stock squall: its
	// executable holds the topology's Go components and is sent along
	// when submitting.
	ownBinary bool
}

// MainWith is Main for a program with its own Go components.
func MainWith(ctx context.Context, args []string, stdout, stderr io.Writer, o Options) int {
	if o.Registry == nil {
		o.Registry = stockRegistry(stdout)
	} else {
		o.ownBinary = true
	}
	root := newRootCmd(stdout, stderr, &o)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "squall: %v\n", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

func newRootCmd(stdout, stderr io.Writer, o *Options) *cobra.Command {
	root := &cobra.Command{
		Use:   "squall",
		Short: "Run Storm topologies of Python, Ruby, Node and Go components",
		Long: `squall runs Apache Storm topologies without a JVM. Spouts and bolts written
in Python, Ruby or Node run as child processes speaking Storm's multilang
protocol; Go components run inside the worker.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(
		newVersionCmd(),
		newLocalCmd(o),
		newValidateCmd(o),
		newLintCmd(o),
		newVisualizeCmd(o),
		newNewCmd(),
		newTestCmd(o),
		newRunCmd(o),
		newWorkerCmd(o),
		newSubmitCmd(o),
		newListCmd(),
		newKillCmd(),
		newActivateCmd(),
		newDeactivateCmd(),
		newRebalanceCmd(),
		newGetErrorsCmd(),
		newMonitorCmd(),
		newLogsCmd(),
		newSetLogLevelCmd(),
		newNimbusCmd(o),
		newSupervisorCmd(),
		newDevClusterCmd(),
		newCertsCmd(), newAuthCmd(),
		newDRPCCmd(),
		newDRPCClientCmd(),
		newDRPCBenchCmd(),
		newKafkaFakeCmd(),
	)
	return root
}
