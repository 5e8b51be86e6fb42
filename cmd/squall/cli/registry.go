package cli

import (
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/topology/builtin"
)

// stockRegistry returns the registry of the stock squall binary: the
// built-in Go components and Storm's class names that map to them.
func stockRegistry() *topology.Registry {
	r := topology.NewRegistry()
	builtin.Register(r)
	return r
}
