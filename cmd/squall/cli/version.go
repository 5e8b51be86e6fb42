package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/squallstream/squall/internal/buildinfo"
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the squall version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "squall %s\n", buildinfo.String())
			return err
		},
	}
}
