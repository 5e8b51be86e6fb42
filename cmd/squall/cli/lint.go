package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/squallstream/squall/topology"
)

type lintOptions struct {
	topologyFlags
	strict bool
}

func newLintCmd(deps *Options) *cobra.Command {
	var o lintOptions
	cmd := &cobra.Command{
		Use:   "lint TOPOLOGY",
		Short: "Check a topology for mistakes that loading lets pass",
		Long: `Check a topology (a YAML file, or a directory holding topology.yaml and
resources/) for what would fail or surprise at run time:

  - every error that validation reports (squall local --dry-run);
  - config keys that neither Storm nor squall knows, with a suggestion;
  - Storm keys that squall knows but ignores, and why;
  - values Storm's ConfigValidation would refuse (for keys squall does
    not read, an error; for keys it reads and accepts, a warning);
  - scripts and programs of shell components missing from resources/;
  - arguments of Go components that point at nothing (a missing input
    file, a field the input streams lack).

Findings are printed as FILE:LINE: SEVERITY: MESSAGE. The exit status is 1
when there is an error (or, with --strict, a warning). squall submit and
squall local show the same findings as warnings.`,
		Example: `  squall lint examples/wordcount
  squall lint --strict -c topology.workers=4 flux.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd, deps.Registry, args[0])
		},
	}
	o.topologyFlags.register(cmd.Flags())
	cmd.Flags().BoolVar(&o.strict, "strict", false, "fail on warnings too")
	return cmd
}

func (o *lintOptions) run(cmd *cobra.Command, reg *topology.Registry, path string) error {
	src, err := locateTopology(path)
	if err != nil {
		return err
	}
	findings, err := lintTopology(src, o.topologyFlags, reg)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	errs, warnings := 0, 0
	for _, f := range findings {
		fmt.Fprintln(out, formatFinding(f, f.Severity.String()))
		if f.Severity == topology.SeverityError {
			errs++
		} else {
			warnings++
		}
	}
	summary := plural(errs, "error") + ", " + plural(warnings, "warning")
	if errs > 0 || o.strict && warnings > 0 {
		return &exitError{code: 1, err: errors.New("lint: " + summary)}
	}
	if warnings == 0 {
		fmt.Fprintf(out, "%s: no problems found\n", src.file)
	}
	return nil
}

// lintTopology lints the topology at src as the flags load it.
func lintTopology(src topologySource, f topologyFlags, reg *topology.Registry) ([]*topology.Finding, error) {
	opts, err := f.loadOptions(src, reg)
	if err != nil {
		return nil, err
	}
	overrides, err := f.overrides()
	if err != nil {
		return nil, err
	}
	_, findings, err := topology.LintFile(src.file, topology.LintOptions{
		LoadOptions: opts,
		Resources:   os.DirFS(src.resources),
		LookPath:    exec.LookPath,
		Overrides:   overrides,
	})
	return findings, err
}

// warnLint prints, as warnings, the lint findings of a topology that
// loaded (its loading errors are the caller's to report): what submit and
// local show before they send or run it.
func warnLint(w io.Writer, src topologySource, f topologyFlags, reg *topology.Registry) {
	findings, err := lintTopology(src, f, reg)
	if err != nil {
		return // loading reports it
	}
	for _, finding := range findings {
		fmt.Fprintln(w, "squall: "+formatFinding(finding, "warning"))
	}
}

// formatFinding writes a finding as compilers do, FILE:LINE: SEVERITY:
// MESSAGE, so that editors can jump to it.
func formatFinding(f *topology.Finding, severity string) string {
	where := f.File
	if f.Line > 0 {
		where += ":" + strconv.Itoa(f.Line)
	}
	msg := f.Err.Error()
	if f.Component != "" {
		msg = fmt.Sprintf("component %q: %s", f.Component, msg)
	}
	if where == "" {
		return severity + ": " + msg
	}
	return where + ": " + severity + ": " + msg
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}
