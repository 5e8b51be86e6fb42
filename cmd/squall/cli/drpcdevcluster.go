package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/pflag"

	"github.com/squallstream/squall/drpc"
	"github.com/squallstream/squall/topology"
)

// The dev cluster's DRPC server: `squall drpc` as a child, its ports
// written into the cluster's squall.yaml so that workers' DRPCSpouts and
// `squall drpc-client` find it.

type devDRPCFlags struct {
	port, invocationsPort, httpPort int
	// explicit is set when any port was given on the command line.
	explicit bool
}

func (f *devDRPCFlags) register(fs *pflag.FlagSet) {
	fs.IntVar(&f.port, "drpc-port", drpc.DefaultPort, "the DRPC server's client gRPC port (drpc.port; 0: any free port)")
	fs.IntVar(&f.invocationsPort, "drpc-invocations-port", drpc.DefaultInvocationsPort, "the DRPC server's port for topologies (drpc.invocations.port; 0: any free port)")
	fs.IntVar(&f.httpPort, "drpc-http-port", drpc.DefaultHTTPPort, "the DRPC server's HTTP port (drpc.http.port; 0: any free port)")
}

// startDevDRPC starts the DRPC server with the ports of f and, once it
// listens, records in conf (and confFile) the ports it chose and
// drpc.servers. It returns the daemon and its HTTP address. When Storm's
// default ports were not asked for explicitly and the server cannot
// start on them (another DRPC server, another dev cluster), it starts on
// free ports instead: the DRPC server is an extra that should not keep
// the cluster from starting.
func startDevDRPC(ctx context.Context, f devDRPCFlags, exe, logLevel string, stderr io.Writer, conf topology.Config, confFile string) (*daemon, string, error) {
	d, addr, err := startDevDRPCOn(ctx, f, exe, logLevel, stderr, conf, confFile)
	if err == nil || f.explicit || ctx.Err() != nil {
		return d, addr, err
	}
	fmt.Fprintf(stderr, "dev-cluster: the DRPC server did not start on ports %d-%d (%v); using free ports\n", f.port, f.httpPort, err)
	return startDevDRPCOn(ctx, devDRPCFlags{}, exe, logLevel, stderr, conf, confFile)
}

func startDevDRPCOn(ctx context.Context, f devDRPCFlags, exe, logLevel string, stderr io.Writer, conf topology.Config, confFile string) (*daemon, string, error) {
	conf[drpc.KeyPort] = f.port
	conf[drpc.KeyInvocationsPort] = f.invocationsPort
	conf[drpc.KeyHTTPPort] = f.httpPort
	if err := writeYAML(confFile, conf); err != nil {
		return nil, "", err
	}
	d, err := startDaemon(exe, "drpc", stderr, "drpc client=", "drpc", "--config", confFile, "--log-level", logLevel)
	if err != nil {
		return nil, "", err
	}
	ready, err := d.wait(ctx, 60*time.Second)
	if err != nil {
		d.stop()
		return nil, "", err
	}
	fields := readyFields(ready)
	for key, field := range map[string]string{drpc.KeyPort: "client", drpc.KeyInvocationsPort: "invocations", drpc.KeyHTTPPort: "http"} {
		if _, port, err := splitHostPort(fields[field]); err == nil {
			conf[key] = mustAtoi(port)
		}
	}
	conf[drpc.KeyServers] = []any{"127.0.0.1"}
	if err := writeYAML(confFile, conf); err != nil {
		d.stop()
		return nil, "", err
	}
	return d, fields["http"], nil
}
