package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	"github.com/squallstream/squall/auth"
	"github.com/squallstream/squall/drpc"
)

type drpcClientOptions struct {
	config   configFlags
	function string
	connect  time.Duration
}

func newDRPCClientCmd() *cobra.Command {
	var o drpcClientOptions
	cmd := &cobra.Command{
		Use:   "drpc-client [-f FUNCTION] ARGS... | FUNCTION ARGS [FUNCTION ARGS]...",
		Short: "Call functions on a DRPC server",
		Long: `Call DRPC functions, as Storm's "storm drpc-client": give function and argument
pairs, or -f FUNCTION and any number of arguments, one call each. Each
result prints as

  FUNCTION "ARGS" => "RESULT"

The server is one of drpc.servers, at drpc.port (3772), tried in random
order. The first call that fails stops the command with its error.`,
		Example: `  squall drpc-client exclamation hello reach http://twitter.com
  squall drpc-client -f exclamation aaa bbb
  squall drpc-client -c 'drpc.servers=[drpc1.example.com]' -c drpc.port=3772 -f reach x`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDRPCClient(cmd.Context(), o, args, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	o.config.register(f)
	f.StringVarP(&o.function, "function", "f", "", "call this `function` once for each argument")
	f.DurationVar(&o.connect, "connect-timeout", 10*time.Second, "how long to try to connect to each server")
	return cmd
}

func runDRPCClient(ctx context.Context, o drpcClientOptions, args []string, stdout io.Writer) error {
	type call struct{ function, args string }
	var calls []call
	if o.function != "" {
		for _, a := range args {
			calls = append(calls, call{o.function, a})
		}
	} else {
		if len(args)%2 != 0 {
			return fmt.Errorf("without -f, give FUNCTION ARGS pairs: %d arguments is not pairs", len(args))
		}
		for i := 0; i < len(args); i += 2 {
			calls = append(calls, call{args[i], args[i+1]})
		}
	}
	conf, err := o.config.load()
	if err != nil {
		return err
	}
	// The client authenticates as to nimbus (nimbus.client.*): a token,
	// TLS, a client certificate.
	creds, err := auth.ClientSettingsFromConfig(conf)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	var opts []grpc.DialOption
	if servers, _ := conf[drpc.KeyServers].([]any); len(servers) > 0 {
		port := drpc.DefaultPort
		if p, ok := conf[drpc.KeyPort].(int); ok {
			port = p
		}
		target := net.JoinHostPort(fmt.Sprint(servers[0]), strconv.Itoa(port))
		if opts, err = creds.DialOptions(target); err != nil {
			return err
		}
	}
	c, err := drpc.DialConfigured(ctx, conf, o.connect, opts...)
	if err != nil {
		return err
	}
	defer c.Close()
	for _, cl := range calls {
		result, err := c.Execute(ctx, cl.function, cl.args)
		if err != nil {
			return fmt.Errorf("%s %q on %s: %w", cl.function, cl.args, c.Addr(), err)
		}
		fmt.Fprintf(stdout, "%s \"%s\" => \"%s\"\n", cl.function, cl.args, result)
	}
	return nil
}
