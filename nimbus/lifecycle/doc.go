// Package lifecycle is Storm's topology state machine, as a pure function:
// Transition takes a topology's State, an Event and the current time, and
// returns the next State and the Actions nimbus must carry out.
//
// A topology is ACTIVE (its spouts emit), INACTIVE (they do not),
// REBALANCING (waiting to be reassigned) or KILLED (waiting to be
// removed). Users activate, deactivate, rebalance and kill; a kill or
// rebalance flips the status at once and acts after a wait time (by
// default the topology's topology.message.timeout.secs), so that tuples in
// flight can finish. nimbus keeps one timer per topology; when it fires,
// nimbus sends EventRemove or EventDoRebalance. The time the action is due
// is part of the State, so a nimbus that restarts or becomes leader sends
// EventStartup and re-arms the timer from it.
//
// Events a status does not accept from users (activate a KILLED topology,
// rebalance one that is already REBALANCING, ...) fail with
// ErrInvalidTransition. System events that no longer apply (a timer that
// fired for a superseded wait, startup of an ACTIVE topology) change
// nothing and are not errors, as in Storm.
//
// The package has no goroutines, I/O or clock: time comes in as an
// argument.
package lifecycle
