// Package shell hosts a spout or bolt written in another language as a
// child process speaking Storm's multilang protocol (see package multilang).
//
// A Bolt or Spout implements topology.Bolt or topology.Spout, so the worker
// runs shell components exactly like Go ones. Each task owns one child:
//
//   - launch: argv without a shell, in the resources directory, in its own
//     process group, stderr drained into the task log, at most
//     KeyStderrLinesPerSec lines a second with a count of those dropped;
//   - handshake: the full Storm context, with a startup timeout;
//   - bolts: at most topology.shellbolt.max.pending tuples waiting to be
//     written, as in Storm, and a bounded number held unacked by the child
//     (KeyShellBoltMaxHeld), task-id replies written ahead of queued
//     tuples, heartbeats every second;
//   - writing: a goroutine writes to a child only what the pipe has room
//     for at once; the rest goes to the child's writer goroutine, so the
//     goroutine reading a child never waits for it;
//   - spouts: the synchronous next/ack/fail/activate/deactivate cycle, each
//     ending in sync;
//   - liveness: a child that says nothing for topology.subprocess.timeout.secs
//     while the host waits on it is killed; the clock stops while the host
//     itself is blocked delivering the child's emits downstream.
//
// Stopping is immediate in every phase (launch, handshake, a spout's round
// trip, restart backoff): SIGTERM to the child's process group and to its
// descendants that left it (found through the pid directory), SIGKILL
// after the grace period; what the child reports once the stop began is
// no error.
//
// When a child dies, hangs or breaks the protocol, the task reports an
// error with the cause, exit status, last messages each way and last stderr
// lines, fails every tuple the child held, and restarts only that child
// with exponential backoff, marking it crash-looping when it keeps dying.
// Sibling tasks are not affected.
package shell
