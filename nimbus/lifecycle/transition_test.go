package lifecycle

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/squallstream/squall/topology"
)

var t0 = time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)

// at returns t0 plus secs seconds.
func at(secs int) time.Time { return t0.Add(time.Duration(secs) * time.Second) }

var opts = RebalanceOptions{NumWorkers: 4, ComponentExecutors: map[string]int{"split": 3}}

var (
	active      = State{Status: StatusActive}
	inactive    = State{Status: StatusInactive}
	killed      = State{Status: StatusKilled, Pending: &PendingAction{Kind: PendingKill, At: at(10)}}
	rebalancing = State{Status: StatusRebalancing, PrevStatus: StatusActive,
		Pending: &PendingAction{Kind: PendingRebalance, At: at(10), Rebalance: opts}}
	rebalancingInactive = State{Status: StatusRebalancing, PrevStatus: StatusInactive,
		Pending: &PendingAction{Kind: PendingRebalance, At: at(10), Rebalance: opts}}
)

var (
	activate    = Event{Kind: EventActivate}
	deactivate  = Event{Kind: EventDeactivate}
	rebalance5  = Event{Kind: EventRebalance, WaitSecs: 5, Rebalance: opts}
	kill5       = Event{Kind: EventKill, WaitSecs: 5}
	startup     = Event{Kind: EventStartup}
	remove      = Event{Kind: EventRemove}
	doRebalance = Event{Kind: EventDoRebalance}
)

func timer(secs int) Action { return Action{Kind: ActionSetTimer, At: at(secs)} }

var (
	doActivate   = Action{Kind: ActionActivate}
	doDeactivate = Action{Kind: ActionDeactivate}
	doRemove     = Action{Kind: ActionRemove}
	doRebalanced = Action{Kind: ActionRebalance, Rebalance: opts}
)

func killedAt(secs int) State {
	return State{Status: StatusKilled, Pending: &PendingAction{Kind: PendingKill, At: at(secs)}}
}

func rebalancingAt(prev Status, secs int, o RebalanceOptions) State {
	return State{Status: StatusRebalancing, PrevStatus: prev,
		Pending: &PendingAction{Kind: PendingRebalance, At: at(secs), Rebalance: o}}
}

func TestTransition(t *testing.T) {
	tests := []struct {
		name    string
		state   State
		event   Event
		now     int // seconds after t0
		want    State
		actions []Action
		err     error
	}{
		// ACTIVE
		{name: "active/activate", state: active, event: activate, want: active},
		{name: "active/deactivate", state: active, event: deactivate, want: inactive, actions: []Action{doDeactivate}},
		{name: "active/rebalance", state: active, event: rebalance5, want: rebalancingAt(StatusActive, 5, opts),
			actions: []Action{doDeactivate, timer(5)}},
		{name: "active/kill", state: active, event: kill5, want: killedAt(5), actions: []Action{doDeactivate, timer(5)}},
		{name: "active/kill now", state: active, event: Event{Kind: EventKill}, now: 3, want: killedAt(3),
			actions: []Action{doDeactivate, timer(3)}},
		{name: "active/kill after message timeout", state: active, event: Event{Kind: EventKill, WaitSecs: -1, MessageTimeoutSecs: 60},
			want: killedAt(60), actions: []Action{doDeactivate, timer(60)}},
		{name: "active/kill after default message timeout", state: active, event: Event{Kind: EventKill, WaitSecs: -1},
			want: killedAt(30), actions: []Action{doDeactivate, timer(30)}},
		{name: "active/startup", state: active, event: startup, want: active},
		{name: "active/remove", state: active, event: remove, want: active},
		{name: "active/do-rebalance", state: active, event: doRebalance, want: active},

		// INACTIVE
		{name: "inactive/activate", state: inactive, event: activate, want: active, actions: []Action{doActivate}},
		{name: "inactive/deactivate", state: inactive, event: deactivate, want: inactive},
		{name: "inactive/rebalance", state: inactive, event: rebalance5, want: rebalancingAt(StatusInactive, 5, opts),
			actions: []Action{timer(5)}},
		{name: "inactive/rebalance after message timeout", state: inactive,
			event: Event{Kind: EventRebalance, WaitSecs: -1, MessageTimeoutSecs: 45},
			want:  rebalancingAt(StatusInactive, 45, RebalanceOptions{}), actions: []Action{timer(45)}},
		{name: "inactive/kill", state: inactive, event: kill5, want: killedAt(5), actions: []Action{timer(5)}},
		{name: "inactive/startup", state: inactive, event: startup, want: inactive},
		{name: "inactive/remove", state: inactive, event: remove, want: inactive},
		{name: "inactive/do-rebalance", state: inactive, event: doRebalance, want: inactive},

		// KILLED, removal due at 10
		{name: "killed/activate", state: killed, event: activate, want: killed, err: ErrInvalidTransition},
		{name: "killed/deactivate", state: killed, event: deactivate, want: killed, err: ErrInvalidTransition},
		{name: "killed/rebalance", state: killed, event: rebalance5, want: killed, err: ErrInvalidTransition},
		{name: "killed/kill sooner", state: killed, event: kill5, want: killedAt(5), actions: []Action{timer(5)}},
		{name: "killed/kill now", state: killed, event: Event{Kind: EventKill}, now: 2, want: killedAt(2), actions: []Action{timer(2)}},
		{name: "killed/kill later keeps the earlier removal", state: killed, event: Event{Kind: EventKill, WaitSecs: 60},
			want: killed, actions: []Action{timer(10)}},
		{name: "killed/startup", state: killed, event: startup, want: killed, actions: []Action{timer(10)}},
		{name: "killed/startup when overdue", state: killed, event: startup, now: 25, want: killed, actions: []Action{timer(10)}},
		{name: "killed/remove early", state: killed, event: remove, now: 9, want: killed, actions: []Action{timer(10)}},
		{name: "killed/remove", state: killed, event: remove, now: 10, want: killed, actions: []Action{doRemove}},
		{name: "killed/remove late", state: killed, event: remove, now: 99, want: killed, actions: []Action{doRemove}},
		{name: "killed/do-rebalance", state: killed, event: doRebalance, now: 10, want: killed},
		{name: "killed without pending/startup", state: State{Status: StatusKilled}, event: startup, now: 7,
			want: killedAt(7), actions: []Action{timer(7)}},
		{name: "killed without pending/remove", state: State{Status: StatusKilled}, event: remove, now: 7,
			want: killedAt(7), actions: []Action{doRemove}},

		// REBALANCING, rebalance due at 10
		{name: "rebalancing/activate", state: rebalancing, event: activate, want: rebalancing, err: ErrInvalidTransition},
		{name: "rebalancing/deactivate", state: rebalancing, event: deactivate, want: rebalancing, err: ErrInvalidTransition},
		{name: "rebalancing/rebalance", state: rebalancing, event: rebalance5, want: rebalancing, err: ErrInvalidTransition},
		{name: "rebalancing/kill", state: rebalancing, event: kill5, want: killedAt(5), actions: []Action{timer(5)}},
		{name: "rebalancing/startup", state: rebalancing, event: startup, want: rebalancing, actions: []Action{timer(10)}},
		{name: "rebalancing/remove", state: rebalancing, event: remove, now: 10, want: rebalancing},
		{name: "rebalancing/do-rebalance early", state: rebalancing, event: doRebalance, now: 9, want: rebalancing,
			actions: []Action{timer(10)}},
		{name: "rebalancing/do-rebalance", state: rebalancing, event: doRebalance, now: 10, want: active,
			actions: []Action{doRebalanced, doActivate}},
		{name: "rebalancing from inactive/do-rebalance", state: rebalancingInactive, event: doRebalance, now: 10, want: inactive,
			actions: []Action{doRebalanced}},
		{name: "rebalancing without pending/do-rebalance", state: State{Status: StatusRebalancing, PrevStatus: StatusActive},
			event: doRebalance, now: 4, want: active, actions: []Action{{Kind: ActionRebalance}, doActivate}},
		{name: "rebalancing without previous status/do-rebalance", state: rebalancingAt("", 10, opts),
			event: doRebalance, now: 10, want: active, actions: []Action{doRebalanced, doActivate}},

		// Malformed input
		{name: "unknown status", state: State{Status: "RUNNING"}, event: activate, want: State{Status: "RUNNING"}, err: ErrBadState},
		{name: "no status", state: State{}, event: kill5, want: State{}, err: ErrBadState},
		{name: "unknown event", state: active, event: Event{Kind: "restart"}, want: active, err: ErrBadEvent},
		{name: "rebalance to negative workers", state: active,
			event: Event{Kind: EventRebalance, Rebalance: RebalanceOptions{NumWorkers: -1}}, want: active, err: ErrBadEvent},
		{name: "rebalance to no executors", state: active,
			event: Event{Kind: EventRebalance, Rebalance: RebalanceOptions{ComponentExecutors: map[string]int{"a": 2, "b": 0}}},
			want:  active, err: ErrBadEvent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, actions, err := Transition(tc.state, tc.event, at(tc.now))
			if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Fatalf("Transition(%v, %v) error = %v, want %v", tc.state, tc.event.Kind, err, tc.err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Transition(%v, %v) = %v, want %v", tc.state, tc.event.Kind, show(got), show(tc.want))
			}
			if !reflect.DeepEqual(actions, tc.actions) {
				t.Errorf("Transition(%v, %v) actions = %v, want %v", tc.state, tc.event.Kind, actions, tc.actions)
			}
		})
	}
}

// TestTransitionCoverage makes sure TestTransition's table covers every
// status × event pair.
func TestTransitionCoverage(t *testing.T) {
	statuses := []Status{StatusActive, StatusInactive, StatusKilled, StatusRebalancing}
	events := []Event{activate, deactivate, rebalance5, kill5, startup, remove, doRebalance}
	for _, st := range statuses {
		for _, ev := range events {
			s := State{Status: st}
			if st == StatusRebalancing {
				s.PrevStatus = StatusActive
			}
			next, _, err := Transition(s, ev, t0)
			if err != nil && !errors.Is(err, ErrInvalidTransition) {
				t.Errorf("Transition(%s, %s) error = %v, want nil or ErrInvalidTransition", st, ev.Kind, err)
			}
			if !next.Status.valid() {
				t.Errorf("Transition(%s, %s) = status %q", st, ev.Kind, next.Status)
			}
			refused := st == StatusKilled || st == StatusRebalancing
			switch ev.Kind {
			case EventActivate, EventDeactivate, EventRebalance:
				if refused != (err != nil) {
					t.Errorf("Transition(%s, %s) error = %v, want refused = %v", st, ev.Kind, err, refused)
				}
			}
		}
	}
}

// TestLifecycle walks a topology through its life, a nimbus restart
// included, feeding each state to the next event.
func TestLifecycle(t *testing.T) {
	conf := topology.Config{topology.KeyMessageTimeoutSecs: 20}
	s, actions := Submit(false)
	if want := inactive; !reflect.DeepEqual(s, want) || !reflect.DeepEqual(actions, []Action{{Kind: ActionSchedule}}) {
		t.Fatalf("Submit(false) = %v, %v", show(s), actions)
	}
	steps := []struct {
		event   Event
		now     int
		status  Status
		actions []Action
	}{
		{activate, 1, StatusActive, []Action{doActivate}},
		{RebalanceEvent(-1, opts, conf), 2, StatusRebalancing, []Action{doDeactivate, timer(22)}},
		{startup, 5, StatusRebalancing, []Action{timer(22)}}, // nimbus restarted
		{doRebalance, 22, StatusActive, []Action{doRebalanced, doActivate}},
		{deactivate, 30, StatusInactive, []Action{doDeactivate}},
		{KillEvent(-1, conf), 40, StatusKilled, []Action{timer(60)}},
		{KillEvent(5, conf), 41, StatusKilled, []Action{timer(46)}}, // sooner
		{remove, 46, StatusKilled, []Action{doRemove}},
	}
	for _, step := range steps {
		next, actions, err := Transition(s, step.event, at(step.now))
		if err != nil {
			t.Fatalf("Transition(%v, %s) error = %v", show(s), step.event.Kind, err)
		}
		if next.Status != step.status || !reflect.DeepEqual(actions, step.actions) {
			t.Fatalf("Transition(%v, %s) = %v, %v; want %s, %v", show(s), step.event.Kind, show(next), actions, step.status, step.actions)
		}
		s = next
	}
}

func TestEvents(t *testing.T) {
	tests := []struct {
		name string
		got  Event
		want Event
	}{
		{"KillEvent", KillEvent(7, topology.Config{topology.KeyMessageTimeoutSecs: 45}),
			Event{Kind: EventKill, WaitSecs: 7, MessageTimeoutSecs: 45}},
		{"KillEvent without timeout", KillEvent(-1, nil),
			Event{Kind: EventKill, WaitSecs: -1, MessageTimeoutSecs: 30}},
		{"RebalanceEvent", RebalanceEvent(-1, opts, topology.Config{topology.KeyMessageTimeoutSecs: 45}),
			Event{Kind: EventRebalance, WaitSecs: -1, MessageTimeoutSecs: 45, Rebalance: opts}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !reflect.DeepEqual(tc.got, tc.want) {
				t.Errorf("%s = %+v, want %+v", tc.name, tc.got, tc.want)
			}
		})
	}
}

func TestSubmit(t *testing.T) {
	for _, active := range []bool{true, false} {
		want := StatusInactive
		if active {
			want = StatusActive
		}
		s, actions := Submit(active)
		if s.Status != want || s.Pending != nil || !reflect.DeepEqual(actions, []Action{{Kind: ActionSchedule}}) {
			t.Errorf("Submit(%v) = %v, %v; want %s, [schedule]", active, show(s), actions, want)
		}
	}
}

// TestTransitionDoesNotShare checks that the returned state and actions
// share no pointer or map with the input state or event.
func TestTransitionDoesNotShare(t *testing.T) {
	ev := Event{Kind: EventRebalance, WaitSecs: 1, Rebalance: RebalanceOptions{ComponentExecutors: map[string]int{"a": 2}}}
	s, _, err := Transition(active, ev, t0)
	if err != nil {
		t.Fatal(err)
	}
	ev.Rebalance.ComponentExecutors["a"] = 9
	if got := s.Pending.Rebalance.ComponentExecutors["a"]; got != 2 {
		t.Errorf("Transition(active, rebalance) pending executors changed with the event's: %d", got)
	}

	before := show(s)
	for _, e := range []Event{startup, doRebalance, {Kind: EventKill}} {
		next, actions, err := Transition(s, e, at(5))
		if err != nil {
			t.Fatal(err)
		}
		if next.Pending != nil {
			next.Pending.At = at(999)
			next.Pending.Rebalance.ComponentExecutors = nil
		}
		for _, a := range actions {
			for k := range a.Rebalance.ComponentExecutors {
				a.Rebalance.ComponentExecutors[k] = 0
			}
		}
		if after := show(s); after != before {
			t.Errorf("Transition(%s) changed its input state to %s", e.Kind, after)
		}
	}
}

func show(s State) string {
	if s.Pending == nil {
		return fmt.Sprintf("{%s prev=%q}", s.Status, s.PrevStatus)
	}
	return fmt.Sprintf("{%s prev=%q pending=%s@%s %+v}", s.Status, s.PrevStatus, s.Pending.Kind,
		s.Pending.At.Sub(t0), s.Pending.Rebalance)
}
