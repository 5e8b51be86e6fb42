package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/squallstream/squall/auth"
	"github.com/squallstream/squall/auth/devpki"
)

// newAuthCmd groups the authentication helpers.
func newAuthCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "auth",
		Short: "Authentication helpers: make bearer tokens",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newAuthTokenCmd())
	return cmd
}

type authTokenOptions struct {
	groups     []string
	tokensFile string
	saveToken  string
	force      bool
}

func newAuthTokenCmd() *cobra.Command {
	var o authTokenOptions
	cmd := &cobra.Command{
		Use:   "token NAME",
		Short: "Make a bearer token for principal NAME and its line for nimbus.auth.tokens.file",
		Long: `Make a new bearer token (256 random bits) for the principal NAME, and the
line that maps it to NAME in nimbus's token file (nimbus.auth.tokens.file),
which holds only the token's SHA-256.

With --tokens-file the line is appended to that file (created 0600; nimbus
reloads it on change or SIGHUP). With --save-token the token is written to
a 0600 file for the client's nimbus.client.token.file instead of being
printed. A principal may have several tokens: to rotate, add a new one,
hand it out, then delete the old line.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAuthToken(cmd.OutOrStdout(), args[0], o)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&o.groups, "groups", nil, "the principal's `groups`, comma-separated (for nimbus.admins.groups, nimbus.groups, topology.groups)")
	f.StringVar(&o.tokensFile, "tokens-file", "", "append the line to this token `file`")
	f.StringVar(&o.saveToken, "save-token", "", "write the token to this `file` (mode 0600) instead of printing it")
	f.BoolVar(&o.force, "force", false, "replace the --save-token file if it exists")
	return cmd
}

func runAuthToken(out io.Writer, name string, o authTokenOptions) error {
	token, err := auth.NewToken()
	if err != nil {
		return err
	}
	line, err := auth.TokenLine(token, name, o.groups)
	if err != nil {
		return fmt.Errorf("auth token: %w", err)
	}
	if o.tokensFile != "" {
		if err := appendTokenLine(o.tokensFile, line); err != nil {
			return err
		}
	}
	if o.saveToken != "" {
		err := devpki.WriteFile(o.saveToken, []byte(token+"\n"), 0o600, o.force)
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("auth token: %s exists; pass --force to replace it", o.saveToken)
		}
		if err != nil {
			return fmt.Errorf("auth token: %w", err)
		}
		fmt.Fprintf(out, "token for %s written to %s (mode 0600): set %s: %s in the client's configuration\n", name, o.saveToken, auth.KeyClientTokenFile, o.saveToken)
	} else {
		fmt.Fprintf(out, "token for %s (shown once; give it to %s only): %s\n", name, name, token)
	}
	if o.tokensFile != "" {
		fmt.Fprintf(out, "appended to %s: %s\n", o.tokensFile, line)
	} else {
		fmt.Fprintf(out, "line for %s: %s\n", auth.KeyTokensFile, line)
	}
	return nil
}

// appendTokenLine adds line to the token file at path, creating it 0600,
// after checking that the file as it is parses (so a broken file is not
// made worse) and that others cannot write it.
func appendTokenLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("auth token: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("auth token: %w", err)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("auth token: %s: %w: mode %04o lets others write it; chmod go-w", path, auth.ErrInsecureFile, fi.Mode().Perm())
	}
	data, err := io.ReadAll(io.LimitReader(f, auth.MaxTokenFileBytes+1))
	if err != nil {
		return fmt.Errorf("auth token: %w", err)
	}
	add := line + "\n"
	if len(data) > 0 && data[len(data)-1] != '\n' {
		add = "\n" + add
	}
	if _, err := auth.ParseTokenFile(path, strings.NewReader(string(data)+add)); err != nil {
		return fmt.Errorf("auth token: not appending: %w", err)
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		return fmt.Errorf("auth token: %w", err)
	}
	if _, err := f.WriteString(add); err != nil {
		return fmt.Errorf("auth token: %w", err)
	}
	return f.Close()
}
