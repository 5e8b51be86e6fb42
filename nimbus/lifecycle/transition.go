package lifecycle

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// Submit returns the state of a newly submitted topology, ACTIVE or (for
// a topology submitted inactive) INACTIVE, and the action that starts it:
// schedule it. Its spouts emit once its workers run if it is ACTIVE.
func Submit(active bool) (State, []Action) {
	s := State{Status: StatusInactive}
	if active {
		s.Status = StatusActive
	}
	return s, []Action{{Kind: ActionSchedule}}
}

// Transition applies ev to a topology in state s at time now, as Storm's
// nimbus does, and returns the next state and what nimbus must do. s is
// not modified.
//
//	status       activate     deactivate   rebalance    kill         startup      remove       do-rebalance
//	ACTIVE       -            INACTIVE     REBALANCING  KILLED       -            -            -
//	INACTIVE     ACTIVE       -            REBALANCING  KILLED       -            -            -
//	KILLED       error        error        error        KILLED       re-arm       removed      -
//	REBALANCING  error        error        error        KILLED       re-arm       -            previous
//
// "-" changes nothing. A kill or rebalance is due WaitSecs after now; a
// second kill can bring the removal forward but not put it off (in Storm
// both timers run, and the first to fire removes). A rebalance is done
// when due, and the topology returns to the status it had before.
// EventRemove and EventDoRebalance that fire before the pending action is
// due, as a timer armed for a superseded wait would, re-arm the timer.
// Startup re-arms the timer of a pending action from the time stored in
// the state, which may be past.
func Transition(s State, ev Event, now time.Time) (State, []Action, error) {
	if !s.Status.valid() {
		return s, nil, fmt.Errorf("%s topology: unknown status %q: %w", ev.Kind, s.Status, ErrBadState)
	}
	switch ev.Kind {
	case EventActivate:
		switch s.Status {
		case StatusActive:
			return s, nil, nil
		case StatusInactive:
			return State{Status: StatusActive}, []Action{{Kind: ActionActivate}}, nil
		}
		return s, nil, refuse(ev, s)

	case EventDeactivate:
		switch s.Status {
		case StatusActive:
			return State{Status: StatusInactive}, []Action{{Kind: ActionDeactivate}}, nil
		case StatusInactive:
			return s, nil, nil
		}
		return s, nil, refuse(ev, s)

	case EventRebalance:
		if err := ev.Rebalance.validate(); err != nil {
			return s, nil, err
		}
		if s.Status != StatusActive && s.Status != StatusInactive {
			return s, nil, refuse(ev, s)
		}
		at := now.Add(ev.wait())
		next := State{
			Status:     StatusRebalancing,
			PrevStatus: s.Status,
			Pending:    &PendingAction{Kind: PendingRebalance, At: at, Rebalance: ev.Rebalance.clone()},
		}
		return next, append(stopSpouts(s), Action{Kind: ActionSetTimer, At: at}), nil

	case EventKill:
		at := now.Add(ev.wait())
		if s.Status == StatusKilled && s.Pending != nil && s.Pending.Kind == PendingKill && s.Pending.At.Before(at) {
			at = s.Pending.At
		}
		next := State{Status: StatusKilled, Pending: &PendingAction{Kind: PendingKill, At: at}}
		return next, append(stopSpouts(s), Action{Kind: ActionSetTimer, At: at}), nil

	case EventStartup:
		switch s.Status {
		case StatusKilled, StatusRebalancing:
			s = withPending(s, now)
			return s, []Action{{Kind: ActionSetTimer, At: s.Pending.At}}, nil
		}
		return s, nil, nil

	case EventRemove:
		if s.Status != StatusKilled {
			return s, nil, nil
		}
		s = withPending(s, now)
		if now.Before(s.Pending.At) {
			return s, []Action{{Kind: ActionSetTimer, At: s.Pending.At}}, nil
		}
		return s, []Action{{Kind: ActionRemove}}, nil

	case EventDoRebalance:
		if s.Status != StatusRebalancing {
			return s, nil, nil
		}
		s = withPending(s, now)
		if now.Before(s.Pending.At) {
			return s, []Action{{Kind: ActionSetTimer, At: s.Pending.At}}, nil
		}
		actions := []Action{{Kind: ActionRebalance, Rebalance: s.Pending.Rebalance.clone()}}
		next := State{Status: StatusActive}
		if s.PrevStatus == StatusInactive {
			next.Status = StatusInactive
		} else {
			actions = append(actions, Action{Kind: ActionActivate})
		}
		return next, actions, nil
	}
	return s, nil, fmt.Errorf("unknown event %q: %w", ev.Kind, ErrBadEvent)
}

// stopSpouts returns the action that stops the spouts of a topology in
// state s when it leaves it for KILLED or REBALANCING: only an ACTIVE
// topology's spouts are running.
func stopSpouts(s State) []Action {
	if s.Status == StatusActive {
		return []Action{{Kind: ActionDeactivate}}
	}
	return nil
}

// withPending returns s with a copy of its pending action, or, for a
// KILLED or REBALANCING state stored without one, with the action its
// status implies due now, so that the topology does not stay stuck.
func withPending(s State, now time.Time) State {
	kind := PendingKill
	if s.Status == StatusRebalancing {
		kind = PendingRebalance
	}
	if s.Pending == nil || s.Pending.Kind != kind {
		s.Pending = &PendingAction{Kind: kind, At: now}
		return s
	}
	p := *s.Pending
	p.Rebalance = p.Rebalance.clone()
	s.Pending = &p
	return s
}

func refuse(ev Event, s State) error {
	return fmt.Errorf("cannot %s a %s topology: %w", ev.Kind, s.Status, ErrInvalidTransition)
}

func (o RebalanceOptions) validate() error {
	if o.NumWorkers < 0 {
		return fmt.Errorf("rebalance to %d workers: %w", o.NumWorkers, ErrBadEvent)
	}
	for _, comp := range slices.Sorted(maps.Keys(o.ComponentExecutors)) {
		if n := o.ComponentExecutors[comp]; n < 1 {
			return fmt.Errorf("rebalance component %s to %d executors: %w", comp, n, ErrBadEvent)
		}
	}
	return nil
}
