package cli

import (
	"io"

	"github.com/squallstream/squall/drpc"
	"github.com/squallstream/squall/kafka"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/topology/builtin"
)

// stockRegistry returns the registry of the stock squall binary: the
// built-in Go components and Storm's class names that map to them, the
// printing ones writing to stdout.
func stockRegistry(stdout io.Writer) *topology.Registry {
	r := topology.NewRegistry()
	builtin.RegisterWith(r, builtin.Options{Stdout: stdout})
	drpc.Register(r)
	kafka.Register(r)
	return r
}
