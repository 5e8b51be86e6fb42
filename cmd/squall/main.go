// Command squall runs Storm topologies whose components are written in
// Python, Ruby, Node or Go, locally or on a cluster. See the README.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/squallstream/squall/cmd/squall/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal, the default handling returns: a second
	// Ctrl-C kills a stop that takes too long.
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
