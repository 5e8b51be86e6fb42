//go:build !linux

package shell

import "os"

// pipeCapacity is unknown here: the host never writes to a child from a
// goroutine that must not block.
func pipeCapacity(*os.File) int { return 0 }
