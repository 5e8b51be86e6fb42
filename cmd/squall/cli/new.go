package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/squallstream/squall/adapters"
	"github.com/squallstream/squall/internal/scaffold"
)

type newOptions struct {
	lang         string
	name         string
	adaptersOnly bool
}

func newNewCmd() *cobra.Command {
	var o newOptions
	cmd := &cobra.Command{
		Use:   "new DIR --lang python|ruby|node|go",
		Short: "Create a topology project: a spout, a bolt, their unit tests",
		Long: `Create a runnable topology project in DIR (which must not exist, or be
empty): topology.yaml, a reliable spout and a bolt in the language, their unit
tests in its usual runner, and a README with the commands that matter. squall
local runs it at once and its tests pass at once.

For Python, Ruby and Node the tests use the adapter and its test harness,
which squall new writes to DIR/.squall (refresh them after upgrading squall
with squall new --adapters-only DIR). A Go project is its own program: squall's
command line with its components added (go run . local .).`,
		Example: `  squall new wordcount --lang python
  cd wordcount && squall local . && python3 -m unittest
  squall new --adapters-only wordcount`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.OutOrStdout(), args[0])
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.lang, "lang", "", "the components' language: "+strings.Join(scaffold.Languages, ", "))
	f.StringVar(&o.name, "name", "", "the topology's name (default: DIR's base name)")
	f.BoolVar(&o.adaptersOnly, "adapters-only", false, "only (re)write DIR/.squall, the adapters and test harnesses the tests use")
	return cmd
}

func (o *newOptions) run(out io.Writer, dir string) error {
	if o.adaptersOnly {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return fmt.Errorf("--adapters-only: %s is not a project directory", dir)
		}
		if err := adapters.InstallDev(filepath.Join(dir, ".squall")); err != nil {
			return err
		}
		fmt.Fprintf(out, "Wrote the adapters and test harnesses to %s\n", filepath.Join(dir, ".squall"))
		return nil
	}
	if o.lang == "" {
		return errors.New("--lang is required: " + strings.Join(scaffold.Languages, ", "))
	}
	name := o.name
	if name == "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return err
		}
		name = filepath.Base(abs)
	}
	opts := scaffold.Options{Name: name, Lang: o.lang, SquallVersion: squallModuleVersion()}
	files, err := scaffold.Create(dir, opts)
	if err != nil {
		return err
	}
	if o.lang != "go" {
		if err := adapters.InstallDev(filepath.Join(dir, ".squall")); err != nil {
			return err
		}
		files = append(files, ".squall/ (the adapters and test harnesses)")
	}
	fmt.Fprintf(out, "Created %s, a %s topology, in %s:\n", name, o.lang, dir)
	for _, f := range files {
		fmt.Fprintf(out, "  %s\n", f)
	}
	fmt.Fprintf(out, "\nNext, in %s:\n", dir)
	for _, step := range nextSteps[o.lang] {
		fmt.Fprintf(out, "  %-28s # %s\n", step[0], step[1])
	}
	return nil
}

// nextSteps are the commands that matter, per language: run, test, ship.
var nextSteps = map[string][][2]string{
	"python": {{"squall local .", "run it; Ctrl-C stops it"}, {"python3 -m unittest -v", "test the spout and the bolt"}, {"squall submit .", "send it to a cluster"}},
	"ruby":   {{"squall local .", "run it; Ctrl-C stops it"}, {"rake test", "test the spout and the bolt"}, {"squall submit .", "send it to a cluster"}},
	"node":   {{"squall local .", "run it; Ctrl-C stops it"}, {"npm test", "test the spout and the bolt"}, {"squall submit .", "send it to a cluster"}},
	"go":     {{"go mod tidy", "fetch squall, once"}, {"go run . local .", "run it; Ctrl-C stops it"}, {"go test ./...", "test the spout and the bolt"}, {"go run . submit .", "send it to a cluster"}},
}

// squallModuleVersion is the version of squall this program was built
// from, "" when it is not a release (a development build).
func squallModuleVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	const path = "github.com/squallstream/squall"
	if info.Main.Path == path {
		return info.Main.Version
	}
	for _, d := range info.Deps {
		if d.Path == path && d.Replace == nil {
			return d.Version
		}
	}
	return ""
}
