package worker

import (
	"github.com/squallstream/squall/shell"
	"github.com/squallstream/squall/topology"
)

// What the engine needs of a task hosted in a child process (package
// shell's spouts and bolts), beyond what every Go component offers.

// healthReporter is a task that reports on the child it hosts.
type healthReporter interface {
	Health() shell.Health
}

// interruptibleBolt is a bolt whose Cleanup may be called while Execute
// waits for its child, and then makes Execute return: the executor uses it
// to see its stop at once. A Go bolt's Cleanup runs only after its last
// Execute.
type interruptibleBolt interface {
	topology.Bolt
	healthReporter
}
