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
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
