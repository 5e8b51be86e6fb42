package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/internal/submission"
)

type validateOptions struct {
	dir string
}

// newValidateCmd prints the outline of a submission whose Go components
// live in the topology's own binary, which a REST submission sends as
// goBinaryOutline: nimbus never runs the binary itself.
func newValidateCmd(deps *Options) *cobra.Command {
	var o validateOptions
	cmd := &cobra.Command{
		Use:    "validate",
		Short:  "Validate a topology submission read from stdin and print its outline as JSON (used by nimbus)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			data, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), 64<<20))
			if err != nil {
				return err
			}
			var req api.SubmitTopologyRequest
			if err := protojson.Unmarshal(data, &req); err != nil {
				return fmt.Errorf("read submission: %w", err)
			}
			dir := o.dir
			if dir == "" {
				if dir, err = os.Getwd(); err != nil {
					return err
				}
			}
			t, err := submission.Load(&req, deps.Registry, dir)
			if err != nil {
				return err
			}
			// Nimbus schedules from the outline; it cannot load the
			// binary's own Go components itself.
			return json.NewEncoder(cmd.OutOrStdout()).Encode(submission.NewOutline(t))
		},
	}
	cmd.Flags().StringVar(&o.dir, "dir", "", "directory holding the unpacked resources (default: the working directory)")
	return cmd
}
