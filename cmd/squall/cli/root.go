// Package cli holds squall's command-line interface: one cobra command per
// file, each with its flags bound to a local options struct.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
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
	root := newRootCmd(stdout, stderr)
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

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
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
		newLocalCmd(),
	)
	return root
}
