package nimbus

import (
	"github.com/squallstream/squall/internal/backoff"

	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"sync"
	"time"

	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/nimbus/lifecycle"
	"github.com/squallstream/squall/nimbus/scheduler"
	"github.com/squallstream/squall/topology"
)

// leader is the leader loop: the one goroutine that, while this nimbus
// leads, writes topology records and assignments, owns the kill and
// rebalance timers and judges heartbeats. Other goroutines hand it work
// with do. It runs from winning the election until the leadership is lost
// or nimbus stops (run).
type leader struct {
	n     *Nimbus
	lead  *cluster.Leadership
	calls chan call
	fired chan string          // topology ids whose timer fired
	ticks chan struct{}        // monitor ticks
	sups  chan supervisorsRead // from Nimbus.readSupervisorsOnChange
	done  chan struct{}        // closed when run returns

	// Owned by run's goroutine:
	timers      map[string]Timer // kill and rebalance timers by topology
	tick        Timer
	live        *liveness
	lastSups    []cluster.SupervisorInfo // as the last pass read them
	unscheduled map[string]string        // topologies that could not be scheduled, and why (to log changes only)
}

// call is work for the leader loop.
type call struct {
	f     func(ctx context.Context) error
	reply chan error
}

func newLeader(n *Nimbus, lead *cluster.Leadership) *leader {
	return &leader{
		n:           n,
		lead:        lead,
		calls:       make(chan call),
		fired:       make(chan string),
		ticks:       make(chan struct{}),
		sups:        make(chan supervisorsRead, 1),
		done:        make(chan struct{}),
		timers:      make(map[string]Timer),
		live:        newLiveness(n.timing),
		unscheduled: make(map[string]string),
	}
}

// do runs f in the leader loop, with the loop's context, and returns its
// error. If the loop ends first it fails with ErrUnavailable; if ctx ends
// first it returns ctx's error (f may still run).
func (l *leader) do(ctx context.Context, f func(ctx context.Context) error) error {
	c := call{f: f, reply: make(chan error, 1)}
	select {
	case l.calls <- c:
	case <-l.done:
		return unavailablef("this nimbus lost the leadership; retry")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-c.reply:
		return err
	case <-l.done:
		select {
		case err := <-c.reply:
			return err
		default:
		}
		return unavailablef("this nimbus lost the leadership during the request, which may or may not have been applied")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run is the leader loop. It returns when ctx ends or the leadership is
// lost, with every timer stopped.
func (l *leader) run(ctx context.Context) {
	defer close(l.done)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel() // before wg.Wait
	wg.Go(func() {
		select {
		case <-l.lead.Lost():
			cancel()
		case <-ctx.Done():
		}
	})
	defer l.stopTimers()
	wg.Go(func() { l.n.secureZooKeeper(ctx) })

	// The watches fan into one coalescing signal: a pass reads all of
	// the state, so which one fired does not matter. The supervisors are
	// read apart, by the reader that keeps the last known state (l.sups):
	// a supervisor rewriting its record with a new Time only tells
	// liveness it is alive, and needs no pass. A pass reads them afresh,
	// so that a new leader never schedules on a reading older than its
	// leadership.
	changed := make(chan struct{}, 1)
	st := l.n.state
	for _, w := range []<-chan struct{}{st.WatchTopologies(ctx), st.WatchAssignments(ctx)} {
		wg.Go(func() {
			for range w {
				select {
				case changed <- struct{}{}:
				default: // a signal is pending already
				}
			}
		})
	}
	if !l.startup(ctx) {
		return
	}
	l.armTick(l.n.timing.monitorFreq)
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-l.ticks:
		case r := <-l.sups:
			if r.err == nil && !supervisorsChanged(l.lastSups, r.infos) {
				l.live.saw(r.infos, r.at)
				continue
			}
		case id := <-l.fired:
			l.fire(ctx, id)
		case c := <-l.calls:
			c.reply <- c.f(ctx)
			continue // the writes of calls signal the watches
		}
		// One pass covers every signal pending now.
		select {
		case <-changed:
		default:
		}
		select {
		case <-l.ticks:
		default:
		}
		if ctx.Err() != nil {
			return
		}
		if err := l.pass(ctx); err != nil && ctx.Err() == nil {
			l.n.log.Warn("schedule", "err", err)
			l.armTick(min(time.Second, l.n.timing.monitorFreq))
		} else {
			l.armTick(l.live.nextJudgement(l.n.clock.Now(), l.n.timing.monitorFreq))
		}
		l.n.passes.Add(1)
	}
}

// armTick schedules the next monitor tick in d, replacing the pending one.
func (l *leader) armTick(d time.Duration) {
	if l.tick != nil {
		l.tick.Stop()
	}
	l.tick = l.n.clock.AfterFunc(d, func() {
		select {
		case l.ticks <- struct{}{}:
		case <-l.done:
		}
	})
}

// arm sets topology id's timer to fire at at, replacing its pending one.
func (l *leader) arm(id string, at time.Time) {
	if t, ok := l.timers[id]; ok {
		t.Stop()
	}
	d := max(at.Sub(l.n.clock.Now()), 0)
	l.timers[id] = l.n.clock.AfterFunc(d, func() {
		select {
		case l.fired <- id:
		case <-l.done:
		}
	})
}

func (l *leader) stopTimers() {
	for id, t := range l.timers {
		t.Stop()
		delete(l.timers, id)
	}
	if l.tick != nil {
		l.tick.Stop()
	}
}

// startup re-arms the timers of pending kills and rebalances, as
// lifecycle's EventStartup says. It retries until it has read every
// topology, and returns false if ctx ends first.
func (l *leader) startup(ctx context.Context) bool {
	b := backoff.New(backoff.Policy{Min: 100 * time.Millisecond, Max: 5 * time.Second})
	for {
		ids, err := l.n.state.ListTopologies(ctx)
		if err == nil {
			for _, id := range ids {
				aerr := l.apply(ctx, id, lifecycle.Event{Kind: lifecycle.EventStartup}, nil)
				if !errors.Is(aerr, ErrNotFound) { // removed meanwhile
					err = errors.Join(err, aerr)
				}
			}
		}
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		l.n.log.Warn("leader startup", "err", err)
		if !b.Wait(ctx) {
			return false
		}
	}
}

// fire handles topology id's timer.
func (l *leader) fire(ctx context.Context, id string) {
	rec, err := l.n.state.GetTopology(ctx, id)
	if err != nil {
		if !errors.Is(err, cluster.ErrNotFound) {
			l.n.log.Warn("timer", "topology", id, "err", err)
			l.arm(id, l.n.clock.Now().Add(time.Second))
		}
		return
	}
	var ev lifecycle.Event
	switch rec.Status {
	case cluster.StatusKilled:
		ev.Kind = lifecycle.EventRemove
	case cluster.StatusRebalancing:
		ev.Kind = lifecycle.EventDoRebalance
	default:
		return
	}
	if err := l.apply(ctx, id, ev, nil); err != nil && ctx.Err() == nil {
		l.n.log.Warn("timer", "topology", id, "event", ev.Kind, "err", err)
		l.arm(id, l.n.clock.Now().Add(time.Second))
	}
}

// apply runs ev on topology id: the transition, its actions, and the new
// state written with compare-and-set (read again and redone on a
// conflict). check, when not nil, vets the event against the topology
// first. A kill or rebalance without a wait time waits the topology's
// topology.message.timeout.secs.
func (l *leader) apply(ctx context.Context, id string, ev lifecycle.Event, check func(*model, cluster.TopologyRecord) error) error {
	for attempt := 0; ; attempt++ {
		rec, err := l.n.state.GetTopology(ctx, id)
		if errors.Is(err, cluster.ErrNotFound) {
			return notFoundf("topology %q not found", id)
		}
		if err != nil {
			return unavailablef("read topology %s: %v", id, err)
		}
		if check != nil || ev.Kind == lifecycle.EventKill || ev.Kind == lifecycle.EventRebalance {
			m, err := l.n.model(ctx, rec)
			switch {
			case err == nil:
				// The wait of a kill or rebalance that gives none.
				ev.MessageTimeoutSecs = m.conf.Int(topology.KeyMessageTimeoutSecs, 30)
			case check == nil:
				// A topology nimbus cannot load can still be killed,
				// with the cluster's message timeout.
				ev.MessageTimeoutSecs = l.n.cfg.Cluster.Int(topology.KeyMessageTimeoutSecs, 30)
			default:
				return err
			}
			if check != nil {
				if err := check(m, rec); err != nil {
					return err
				}
			}
		}
		now := l.n.clock.Now()
		next, actions, err := lifecycle.Transition(stateOf(rec), ev, now)
		switch {
		case errors.Is(err, lifecycle.ErrInvalidTransition):
			return withKind(ErrRefused, fmt.Errorf("topology %s: %w", id, err))
		case errors.Is(err, lifecycle.ErrBadEvent):
			return withKind(ErrInvalid, fmt.Errorf("topology %s: %w", id, err))
		case err != nil:
			return fmt.Errorf("topology %s: %w", id, err)
		}
		out := withState(rec, next)
		for _, a := range actions {
			switch a.Kind {
			case lifecycle.ActionRebalance:
				if err := l.rebalance(ctx, &out, a.Rebalance, now); err != nil {
					return err
				}
			case lifecycle.ActionSetTimer:
				l.arm(id, a.At)
			case lifecycle.ActionRemove:
				return l.remove(ctx, rec)
			case lifecycle.ActionSchedule, lifecycle.ActionActivate, lifecycle.ActionDeactivate:
				// Scheduling is the passes' job; (de)activation takes
				// effect through the status written below, which workers
				// watch.
			}
		}
		if reflect.DeepEqual(rec, out) {
			return nil
		}
		_, err = l.n.state.SetTopology(ctx, out)
		if errors.Is(err, cluster.ErrVersionConflict) && attempt < 10 {
			continue
		}
		if err != nil {
			return unavailablef("write topology %s: %v", id, err)
		}
		l.n.log.Info("topology transition", "topology", id, "event", ev.Kind, "from", rec.Status, "to", out.Status)
		return nil
	}
}

// stateOf returns a record's place in the state machine.
func stateOf(rec cluster.TopologyRecord) lifecycle.State {
	s := lifecycle.State{Status: lifecycle.Status(rec.Status), PrevStatus: lifecycle.Status(rec.PrevStatus)}
	if p := rec.Pending; p != nil {
		s.Pending = &lifecycle.PendingAction{
			Kind: lifecycle.PendingKind(p.Kind),
			At:   p.At,
			Rebalance: lifecycle.RebalanceOptions{
				NumWorkers:         p.NumWorkers,
				ComponentExecutors: maps.Clone(p.ComponentExecutors),
			},
		}
	}
	return s
}

// withState returns rec in state s.
func withState(rec cluster.TopologyRecord, s lifecycle.State) cluster.TopologyRecord {
	rec.Status = cluster.TopologyStatus(s.Status)
	rec.PrevStatus = cluster.TopologyStatus(s.PrevStatus)
	rec.Pending = nil
	if p := s.Pending; p != nil {
		rec.Pending = &cluster.PendingAction{
			Kind:               cluster.ActionKind(p.Kind),
			At:                 p.At,
			NumWorkers:         p.Rebalance.NumWorkers,
			ComponentExecutors: maps.Clone(p.Rebalance.ComponentExecutors),
		}
	}
	return rec
}

// rebalance carries out a due rebalance: rec gets the new worker and
// executor counts, and the topology is reassigned from scratch.
func (l *leader) rebalance(ctx context.Context, rec *cluster.TopologyRecord, opts lifecycle.RebalanceOptions, now time.Time) error {
	if opts.NumWorkers > 0 {
		rec.NumWorkers = opts.NumWorkers
	}
	if len(opts.ComponentExecutors) > 0 {
		ce := maps.Clone(rec.ComponentExecutors)
		if ce == nil {
			ce = make(map[string]int)
		}
		maps.Copy(ce, opts.ComponentExecutors)
		rec.ComponentExecutors = ce
	}
	m, err := l.n.model(ctx, *rec)
	if err != nil {
		return err
	}
	snap, err := l.snapshot(ctx, now)
	if err != nil {
		return err
	}
	cur := snap.assignments[rec.ID]
	snap.cluster.Assignments[rec.ID] = toScheduler(cur, m.tasks)
	res, err := scheduler.Rebalance(snap.cluster, scheduler.Request{
		TopologyID: rec.ID,
		Executors:  m.executors(*rec),
		NumWorkers: rec.NumWorkers,
	})
	if errors.Is(err, scheduler.ErrNoSlots) {
		l.n.log.Warn("rebalance: no free slots; the topology will be scheduled when slots appear", "topology", rec.ID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("rebalance %s: %w", rec.ID, err)
	}
	_, err = l.writeAssignment(ctx, cur, assignmentOf(rec.ID, cur, res, now))
	return err
}

// remove removes topology id: its assignment (its workers stop), its
// heartbeats, errors, record and package. What is already gone is
// skipped, so a remove interrupted by a leader change is redone whole.
func (l *leader) remove(ctx context.Context, rec cluster.TopologyRecord) error {
	id := rec.ID
	if t, ok := l.timers[id]; ok {
		t.Stop()
		delete(l.timers, id)
	}
	st := l.n.state
	steps := []func() error{
		func() error { return st.DeleteAssignment(ctx, id) },
		func() error { return st.DeleteWorkerHeartbeats(ctx, id) },
		func() error { return st.DeleteErrors(ctx, id) },
		func() error { return st.DeleteTopology(ctx, id) },
	}
	for _, step := range steps {
		if err := step(); err != nil && !errors.Is(err, cluster.ErrNotFound) {
			return unavailablef("remove topology %s: %v", id, err)
		}
	}
	if err := l.n.store.remove(id); err != nil {
		l.n.log.Warn("remove package", "topology", id, "err", err)
	}
	l.n.models.forget(id)
	l.n.forgetReplicas(rec.PackageDigest)
	l.live.forget(id)
	delete(l.unscheduled, id)
	l.n.log.Info("topology removed", "topology", id)
	return nil
}

// snapshot is the cluster as one pass sees it.
type snapshot struct {
	ids         []string
	records     map[string]cluster.TopologyRecord
	assignments map[string]cluster.Assignment
	aliveNodes  map[string]bool
	cluster     scheduler.Cluster
	// registered are the supervisors' records as read.
	registered []cluster.SupervisorInfo
}

// snapshot reads the topologies, assignments and supervisors, and judges
// the supervisors' liveness (see liveness.supervisors).
func (l *leader) snapshot(ctx context.Context, now time.Time) (*snapshot, error) {
	st := l.n.state
	s := &snapshot{
		records:     make(map[string]cluster.TopologyRecord),
		assignments: make(map[string]cluster.Assignment),
		aliveNodes:  make(map[string]bool),
		cluster:     scheduler.Cluster{Assignments: make(map[string]scheduler.Assignment)},
	}
	supIDs, err := st.ListSupervisors(ctx)
	if err != nil {
		return nil, err
	}
	for _, id := range supIDs {
		info, err := st.GetSupervisor(ctx, id)
		if errors.Is(err, cluster.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		s.registered = append(s.registered, info)
	}
	if s.ids, err = st.ListTopologies(ctx); err != nil {
		return nil, err
	}
	for _, id := range s.ids {
		rec, err := st.GetTopology(ctx, id)
		if errors.Is(err, cluster.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		s.records[id] = rec
	}
	asgIDs, err := st.ListAssignments(ctx)
	if err != nil {
		return nil, err
	}
	for _, id := range asgIDs {
		a, err := st.GetAssignment(ctx, id)
		if errors.Is(err, cluster.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		s.assignments[id] = a
		s.cluster.Assignments[id] = toScheduler(a, nil)
	}
	s.cluster.Supervisors = l.live.supervisors(s.registered, s.assignments, now)
	for _, sup := range s.cluster.Supervisors {
		s.aliveNodes[sup.ID] = sup.Alive
	}
	return s, nil
}

// pass brings every assignment up to date: each topology, in id order,
// is scheduled over the live supervisors, with the slots of its dead
// executors marked bad. It removes assignments left without a topology.
func (l *leader) pass(ctx context.Context) error {
	now := l.n.clock.Now()
	snap, err := l.snapshot(ctx, now)
	if err != nil {
		return err
	}
	l.lastSups = snap.registered
	var errs []error
	for id := range snap.assignments {
		if _, ok := snap.records[id]; ok {
			continue
		}
		if err := l.n.state.DeleteAssignment(ctx, id); err != nil && !errors.Is(err, cluster.ErrNotFound) {
			errs = append(errs, err)
		}
		delete(snap.assignments, id)
		delete(snap.cluster.Assignments, id)
	}
	for _, id := range snap.ids {
		rec, ok := snap.records[id]
		if !ok {
			continue
		}
		if err := l.schedule(ctx, snap, rec, now); err != nil {
			errs = append(errs, err)
		}
	}
	l.live.retainTopologies(snap.ids)
	return errors.Join(errs...)
}

// schedule assigns one topology of snap, updating snap with the result.
// KILLED and REBALANCING topologies keep their assignment until their
// pending action.
func (l *leader) schedule(ctx context.Context, snap *snapshot, rec cluster.TopologyRecord, now time.Time) error {
	if rec.Status == cluster.StatusKilled || rec.Status == cluster.StatusRebalancing {
		return nil
	}
	m, err := l.n.model(ctx, rec)
	if err != nil {
		l.noteUnscheduled(rec.ID, err.Error())
		return nil // logged; retried every pass
	}
	if !rec.Stateful && outlineStateful(m.outline) {
		l.markStateful(ctx, rec)
	}
	cur := snap.assignments[rec.ID]
	beats, err := l.n.state.ListWorkerHeartbeats(ctx, rec.ID)
	if err != nil {
		return err
	}
	bad := l.live.badSlots(rec.ID, cur, beats, snap.aliveNodes, now)
	snap.cluster.Assignments[rec.ID] = toScheduler(cur, m.tasks)
	res, err := scheduler.Schedule(snap.cluster, scheduler.Request{
		TopologyID: rec.ID,
		Executors:  m.executors(rec),
		NumWorkers: rec.NumWorkers,
		BadSlots:   bad,
	})
	if errors.Is(err, scheduler.ErrNoSlots) {
		l.noteUnscheduled(rec.ID, "no free slots")
		return nil
	}
	if err != nil {
		return err
	}
	l.noteUnscheduled(rec.ID, "")
	next := assignmentOf(rec.ID, cur, res, now)
	stored, err := l.writeAssignment(ctx, cur, next)
	if err != nil {
		return err
	}
	if len(bad) > 0 && stored.Version != cur.Version {
		l.n.log.Info("executors moved off workers that stopped heartbeating", "topology", rec.ID, "slots", fmt.Sprint(bad))
	}
	snap.assignments[rec.ID] = stored
	snap.cluster.Assignments[rec.ID] = res.Assignment
	return nil
}

// markStateful sets the Stateful flag of a stateful topology's record
// written before nimbus set it at submission, so that listing shows the
// topology's checkpoint. A write that conflicts is left to the next pass.
func (l *leader) markStateful(ctx context.Context, rec cluster.TopologyRecord) {
	rec.Stateful = true
	if _, err := l.n.state.SetTopology(ctx, rec); err != nil && !errors.Is(err, cluster.ErrVersionConflict) {
		l.n.log.Warn("flag a stateful topology's record", "topology", rec.ID, "err", err)
	}
}

// noteUnscheduled logs why a topology cannot be scheduled, once per
// reason; reason "" clears it.
func (l *leader) noteUnscheduled(id, reason string) {
	if l.unscheduled[id] == reason {
		return
	}
	if reason == "" {
		delete(l.unscheduled, id)
		l.n.log.Info("topology scheduled again", "topology", id)
		return
	}
	l.unscheduled[id] = reason
	l.n.log.Warn("topology cannot be scheduled", "topology", id, "reason", reason)
}

// writeAssignment writes next over cur if it differs, and returns what is
// stored.
func (l *leader) writeAssignment(ctx context.Context, cur, next cluster.Assignment) (cluster.Assignment, error) {
	if maps.Equal(cur.Executors, next.Executors) && maps.Equal(cur.NodeHost, next.NodeHost) {
		return cur, nil
	}
	stored, err := l.n.state.SetAssignment(ctx, next)
	if err != nil {
		return cur, fmt.Errorf("write assignment %s: %w", next.TopologyID, err)
	}
	l.n.log.Info("assignment written", "topology", next.TopologyID, "workers", len(stored.Slots()),
		"executors", len(stored.Executors), "version", stored.Version)
	return stored, nil
}

// assignmentOf turns a scheduling result into the assignment that follows
// cur. Executors keep their start time if their worker keeps its slot and
// its executors; every executor of a new or changed worker starts now,
// since the supervisor starts that worker anew.
func assignmentOf(id string, cur cluster.Assignment, res scheduler.Result, now time.Time) cluster.Assignment {
	a := cluster.Assignment{
		TopologyID:        id,
		Executors:         make(map[cluster.ExecutorID]cluster.Slot, len(res.Assignment)),
		NodeHost:          maps.Clone(res.NodeHost),
		ExecutorStartTime: make(map[cluster.ExecutorID]time.Time, len(res.Assignment)),
		Version:           cur.Version,
	}
	for e, s := range res.Assignment {
		a.Executors[cluster.ExecutorID{Start: e.Start, End: e.End}] = cluster.Slot{NodeID: s.Node, Port: s.Port}
	}
	for _, slot := range a.Slots() {
		execs := a.ExecutorsOn(slot)
		same := slicesEqual(execs, cur.ExecutorsOn(slot))
		for _, e := range execs {
			start, ok := cur.ExecutorStartTime[e]
			if !same || !ok {
				start = now
			}
			a.ExecutorStartTime[e] = start
		}
	}
	return a
}

func slicesEqual(a, b []cluster.ExecutorID) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// toScheduler converts an assignment for the scheduler, naming each
// executor's component from tasks (nil leaves them unnamed, enough for
// another topology's assignment, of which only the slots matter).
func toScheduler(a cluster.Assignment, tasks *topology.TaskMap) scheduler.Assignment {
	if len(a.Executors) == 0 {
		return nil
	}
	out := make(scheduler.Assignment, len(a.Executors))
	for e, s := range a.Executors {
		comp := ""
		if tasks != nil {
			comp = tasks.Component(e.Start)
		}
		out[topology.Executor{Component: comp, Start: e.Start, End: e.End}] = scheduler.Slot{Node: s.NodeID, Port: s.Port}
	}
	return out
}
