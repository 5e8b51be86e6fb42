package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/spf13/pflag"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/auth"
	"github.com/squallstream/squall/topology"
)

// clientFlags say how a client command reaches nimbus: --nimbus, else
// nimbus.seeds from the configuration (--config, else the first found of
// ./squall.yaml, a running dev-cluster's, ~/.squall/squall.yaml), with
// nimbus.grpc.port; else 127.0.0.1.
type clientFlags struct {
	configFlags
	nimbus  string
	timeout time.Duration
	// source says where the configuration came from, for errors.
	source string
	// stderr receives warnings, such as a stale answer's; nil is os.Stderr.
	stderr io.Writer
}

func (f *clientFlags) register(fs *pflag.FlagSet) {
	f.configFlags.register(fs)
	f.registerNimbus(fs)
}

// registerNimbus registers the flags without the configuration ones, for
// commands that define -c themselves (submit).
func (f *clientFlags) registerNimbus(fs *pflag.FlagSet) {
	fs.StringVar(&f.nimbus, "nimbus", "", "nimbus gRPC `address` (host:port); default: nimbus.seeds from the configuration, else 127.0.0.1")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "how long to wait for nimbus")
}

// defaultNimbusHost is where nimbus is looked for when nothing says.
const defaultNimbusHost = "127.0.0.1"

// seeds lists the nimbus addresses to try, in order.
func (f *clientFlags) seeds(conf topology.Config) []string {
	port := strconv.Itoa(conf.Int(topology.KeyNimbusGRPCPort, 6627))
	withPort := func(h string) string {
		if _, _, err := net.SplitHostPort(h); err == nil {
			return h
		}
		return net.JoinHostPort(h, port)
	}
	if f.nimbus != "" {
		return []string{withPort(f.nimbus)}
	}
	var seeds []string
	list, _ := conf[topology.KeyNimbusSeeds].([]any)
	for _, s := range list {
		seeds = append(seeds, withPort(fmt.Sprint(s)))
	}
	if len(seeds) == 0 {
		seeds = []string{withPort(defaultNimbusHost)}
	}
	return seeds
}

// call runs fn against the first nimbus that answers, trying the next
// seed on connection failures. Errors from nimbus are made readable.
func (f *clientFlags) call(ctx context.Context, conf topology.Config, fn func(ctx context.Context, c api.NimbusClient) error) error {
	seeds := f.seeds(conf)
	var last error
	for _, addr := range seeds {
		var stale []string // the api.StaleMetadataKey header of the last answer
		creds, err := dialCredentials(conf, addr)
		if err != nil {
			return err
		}
		conn, err := grpc.NewClient(addr, append(creds,
			grpc.WithUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
				var header metadata.MD
				err := invoker(ctx, method, req, reply, cc, append(opts, grpc.Header(&header))...)
				stale = header.Get(api.StaleMetadataKey)
				return err
			}),
			grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(api.MaxMessageBytes(api.DefaultMaxSubmitBytes)), grpc.MaxCallRecvMsgSize(api.MaxMessageBytes(api.DefaultMaxSubmitBytes))))...)
		if err != nil {
			return fmt.Errorf("nimbus %s: %w", addr, err)
		}
		cctx, cancel := context.WithTimeout(ctx, f.timeout)
		err = fn(cctx, api.NewNimbusClient(conn))
		cancel()
		conn.Close()
		if status.Code(err) == codes.Unavailable {
			where := addr
			if f.nimbus == "" && f.source != "" {
				where += " (" + f.source + ")"
			}
			last = fmt.Errorf("nimbus %s: %w", where, api.CLIError(err))
			continue
		}
		if err != nil {
			return api.CLIError(err)
		}
		if len(stale) > 0 {
			w := f.stderr
			if w == nil {
				w = os.Stderr
			}
			fmt.Fprintf(w, "warning: ZooKeeper is unreachable: nimbus %s answered from its last known state, %ss old; it may be out of date\n", addr, stale[0])
		}
		return nil
	}
	return last
}

// clientConfig loads the client's configuration: --config, else the
// first found by findClientConfig.
func (f *clientFlags) clientConfig() (topology.Config, error) {
	file := f.file
	f.source = file
	if file == "" {
		file, f.source = findClientConfig()
	}
	return f.loadFile(file)
}

// dialCredentials returns how a client authenticates to nimbus at addr:
// nimbus.client.use.tls, nimbus.client.tls.* and nimbus.client.token.file
// (see docs/security.md).
func dialCredentials(conf topology.Config, addr string) ([]grpc.DialOption, error) {
	cs, err := auth.ClientSettingsFromConfig(conf)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	opts, err := cs.DialOptions(addr)
	if err != nil {
		return nil, fmt.Errorf("nimbus %s: %w", addr, err)
	}
	return opts, nil
}
