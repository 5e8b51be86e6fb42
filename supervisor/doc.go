// Package supervisor is squall's per-node agent, Storm's supervisor. It
// registers the node and its worker ports (supervisor.slots.ports) in the
// cluster state, watches the assignments for slots on this node, fetches
// each assigned topology's package from the leading nimbus, and runs one
// worker process per assigned slot (`squall worker …`, or the topology's own
// Go binary), following the on-disk contract of internal/layout.
//
// One goroutine, the sync loop, owns all of the supervisor's state. It runs
// on every assignment change, on a ticker (supervisor.monitor.frequency.secs)
// and on the events of the goroutines it started (a worker exited, a worker
// was stopped, a download finished), and converges on what the assignments
// ask for:
//
//   - a worker that exits is restarted, after a backoff that grows with
//     consecutive failures;
//   - a worker that writes no heartbeat within the start timeout
//     (supervisor.worker.start.timeout.secs), or whose heartbeat gets older
//     than supervisor.worker.timeout.secs, is killed and restarted;
//   - a worker whose slot is no longer assigned to it, or is assigned other
//     executors, is killed: SIGTERM to its process group, a grace period,
//     SIGKILL to the group, then SIGKILL to whatever its pid directory still
//     names (shell children run in process groups of their own), and its
//     worker directory is removed;
//   - packages no longer assigned are removed.
//
// Workers are not children in the usual sense: each leads its own process
// group, writes its output to a file and shares no pipe with the
// supervisor, so it survives the supervisor's death, kill -9 included. As in
// Storm, stopping the supervisor leaves its workers running (unless
// Config.KillWorkersOnStop is set), and the next supervisor started on the
// same storm.local.dir adopts those still alive, still assigned and still
// heartbeating, and kills and cleans up everything else.
package supervisor
