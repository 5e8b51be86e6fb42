package lifecycle

import (
	"maps"
	"time"

	"github.com/squallstream/squall/topology"
)

// Status is where a topology is in the state machine. The values are
// Storm's, as stored in the topology's record.
type Status string

// Topology statuses.
const (
	// StatusActive: the spouts emit.
	StatusActive Status = "ACTIVE"
	// StatusInactive: the topology runs but its spouts do not emit.
	StatusInactive Status = "INACTIVE"
	// StatusKilled: the spouts stopped; the topology is removed when its
	// pending kill is due.
	StatusKilled Status = "KILLED"
	// StatusRebalancing: the spouts stopped; the topology is reassigned
	// when its pending rebalance is due, then returns to its previous
	// status.
	StatusRebalancing Status = "REBALANCING"
)

func (s Status) valid() bool {
	switch s {
	case StatusActive, StatusInactive, StatusKilled, StatusRebalancing:
		return true
	}
	return false
}

// PendingKind names the delayed action of a kill or a rebalance.
type PendingKind string

// Delayed actions, with Storm's names.
const (
	PendingKill      PendingKind = "KILL"
	PendingRebalance PendingKind = "REBALANCE"
)

// RebalanceOptions are what a rebalance changes.
type RebalanceOptions struct {
	// NumWorkers is the new number of workers; 0 keeps the current one.
	NumWorkers int
	// ComponentExecutors gives components a new number of executors;
	// components not listed keep theirs.
	ComponentExecutors map[string]int
}

func (o RebalanceOptions) clone() RebalanceOptions {
	o.ComponentExecutors = maps.Clone(o.ComponentExecutors)
	return o
}

// PendingAction is the delayed part of a kill or rebalance.
type PendingAction struct {
	Kind PendingKind
	// At is when the action is due.
	At time.Time
	// Rebalance holds a rebalance's options.
	Rebalance RebalanceOptions
}

// State is a topology's place in the state machine, as nimbus stores it.
type State struct {
	Status Status
	// PrevStatus is the status a REBALANCING topology returns to: INACTIVE,
	// or ACTIVE for any other value. It is empty in other statuses.
	PrevStatus Status
	// Pending is the delayed action of a KILLED or REBALANCING topology;
	// nil otherwise.
	Pending *PendingAction
}

// EventKind names an event.
type EventKind string

// Events. The first four come from users; the others from nimbus itself.
const (
	// EventActivate lets an INACTIVE topology's spouts emit again.
	EventActivate EventKind = "activate"
	// EventDeactivate stops an ACTIVE topology's spouts (Storm's
	// "inactivate").
	EventDeactivate EventKind = "deactivate"
	// EventRebalance reassigns an ACTIVE or INACTIVE topology after a
	// wait, possibly with new worker and executor counts.
	EventRebalance EventKind = "rebalance"
	// EventKill removes a topology after a wait.
	EventKill EventKind = "kill"
	// EventStartup: nimbus started or became leader; timers of pending
	// actions must be armed again.
	EventStartup EventKind = "startup"
	// EventRemove: the timer of a kill fired.
	EventRemove EventKind = "remove"
	// EventDoRebalance: the timer of a rebalance fired.
	EventDoRebalance EventKind = "do-rebalance"
)

// Event is something that happens to a topology.
type Event struct {
	Kind EventKind
	// WaitSecs is how long a kill or rebalance waits before acting. A
	// negative value means the topology's message timeout.
	WaitSecs int
	// MessageTimeoutSecs is the topology's topology.message.timeout.secs,
	// the wait when WaitSecs is negative; 0 means Storm's default, 30.
	MessageTimeoutSecs int
	// Rebalance holds a rebalance's options.
	Rebalance RebalanceOptions
}

// defaultMessageTimeoutSecs is Storm's topology.message.timeout.secs.
const defaultMessageTimeoutSecs = 30

// KillEvent returns a kill that waits waitSecs seconds, or, when waitSecs
// is negative, the topology.message.timeout.secs of conf, the topology's
// configuration.
func KillEvent(waitSecs int, conf topology.Config) Event {
	return Event{
		Kind:               EventKill,
		WaitSecs:           waitSecs,
		MessageTimeoutSecs: conf.Int(topology.KeyMessageTimeoutSecs, defaultMessageTimeoutSecs),
	}
}

// RebalanceEvent returns a rebalance with opts that waits waitSecs
// seconds, or, when waitSecs is negative, the topology.message.timeout.secs
// of conf, the topology's configuration.
func RebalanceEvent(waitSecs int, opts RebalanceOptions, conf topology.Config) Event {
	return Event{
		Kind:               EventRebalance,
		WaitSecs:           waitSecs,
		MessageTimeoutSecs: conf.Int(topology.KeyMessageTimeoutSecs, defaultMessageTimeoutSecs),
		Rebalance:          opts,
	}
}

// wait is how long a kill or rebalance waits.
func (e Event) wait() time.Duration {
	secs := e.WaitSecs
	if secs < 0 {
		secs = e.MessageTimeoutSecs
		if secs <= 0 {
			secs = defaultMessageTimeoutSecs
		}
	}
	return time.Duration(secs) * time.Second
}

// ActionKind names what nimbus must do.
type ActionKind string

// Actions, in the order Transition returns them when there are several.
const (
	// ActionSchedule: compute and write the topology's assignment
	// (scheduler.Schedule).
	ActionSchedule ActionKind = "schedule"
	// ActionRebalance: store Action.Rebalance's new worker and executor
	// counts, then reassign the topology from scratch
	// (scheduler.Rebalance).
	ActionRebalance ActionKind = "rebalance"
	// ActionActivate: the spouts start emitting (the workers call their
	// spouts' activate).
	ActionActivate ActionKind = "activate"
	// ActionDeactivate: the spouts stop emitting (the workers call their
	// spouts' deactivate).
	ActionDeactivate ActionKind = "deactivate"
	// ActionSetTimer: arm the topology's timer to fire at Action.At (at
	// once if that is past), replacing any timer armed before for it.
	// When it fires, send the event for State.Pending: EventRemove for a
	// kill, EventDoRebalance for a rebalance.
	ActionSetTimer ActionKind = "set-timer"
	// ActionRemove: remove the topology: its record, assignment,
	// heartbeats, errors and package. Its workers stop when their
	// assignment goes.
	ActionRemove ActionKind = "remove"
)

// Action is one thing nimbus must do after a transition. nimbus carries
// out the actions in order, then stores the new State if it changed: one
// that dies in between still finds the pending action stored, and redoes
// it after EventStartup. ActionActivate and ActionDeactivate take effect
// through the stored status, which the workers watch.
type Action struct {
	Kind ActionKind
	// At is when an ActionSetTimer fires.
	At time.Time
	// Rebalance holds an ActionRebalance's options.
	Rebalance RebalanceOptions
}
