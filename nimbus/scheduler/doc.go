// Package scheduler decides which worker slot runs each executor of a
// topology: Storm's even scheduler (EvenScheduler and DefaultScheduler), as
// a pure function of the cluster's state.
//
// A slot is a worker port on a supervisor's node. Schedule keeps every
// healthy worker of a topology where it is, so that it is not restarted,
// even on a supervisor that stopped heartbeating (a worker outlives its
// supervisor); it moves as few executors as an even split allows, and
// places the others on new slots of live supervisors. It spreads a
// topology's workers over the supervisors round-robin (the node running
// fewest of the topology's workers first, then the one with most free
// slots) and its executors over its workers round-robin, so that worker
// sizes differ by at most one executor. Rebalance does the same from scratch, preferring
// the slots the topology holds already.
//
// The package is deterministic and has no side effects: no goroutines, no
// I/O, no clock. The same input always gives the same assignment, whatever
// the order of slices and maps in it. nimbus calls it with the cluster's
// state and writes the result; supervisors and workers read assignments
// through Workers and NodeWorkers.
package scheduler
