package worker

import (
	"github.com/squallstream/squall/shell"
)

// What the engine needs of a task hosted in a child process (package
// shell's spouts and bolts), beyond what every Go component offers.

// healthReporter is a task that reports on the child it hosts.
type healthReporter interface {
	Health() shell.Health
}

// stopper is a task that can begin stopping without waiting, whatever
// it is doing (its child is told to stop at once, and a bolt's Execute
// waiting for its child returns); its Cleanup or Close then waits. The
// engine stops every such task at once, so they stop in parallel. A Go
// bolt's Cleanup runs only after its last Execute.
type stopper interface {
	Stop()
}
