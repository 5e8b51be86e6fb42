package nimbus

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/topology"
)

// This file holds how the API reads the cluster state: fresh from
// ZooKeeper when it answers, else from what nimbus last read, marked stale.
// An operator asking what runs while ZooKeeper is down gets an answer
// within freshBudget, with its age, rather than a call that hangs until
// ZooKeeper returns.

// freshBudget bounds the time one API read spends waiting for the cluster
// state; past it, the request is answered from the last known state.
const freshBudget = time.Second

// writeBudget bounds the time a write's reads wait for the cluster state
// before it answers ErrUnavailable.
const writeBudget = 10 * time.Second

// knownKind names a piece of the cluster state the API shows.
type knownKind int

const (
	knownTopologyIDs knownKind = iota
	knownTopology
	knownAssignmentIDs
	knownAssignment
	knownSupervisorIDs
	knownSupervisor
	knownHeartbeats
	knownErrors
	knownNimbuses
)

// knownKey is one piece of the cluster state; id is the topology's or the
// supervisor's, empty for the lists.
type knownKey struct {
	kind knownKind
	id   string
}

// perTopology reports whether k belongs to one topology, and is dropped
// with it.
func (k knownKey) perTopology() bool {
	switch k.kind {
	case knownTopology, knownAssignment, knownHeartbeats, knownErrors:
		return true
	}
	return false
}

// lastKnown holds the last value read of each piece of the cluster state
// the API shows, and when it was read. Its memory is bounded by the
// cluster's size: what is found gone is dropped, and so are the pieces of
// topologies and supervisors no longer listed. It is safe for concurrent
// use.
type lastKnown struct {
	mu sync.Mutex
	// entries is guarded by mu.
	entries map[knownKey]knownValue
}

type knownValue struct {
	v  any
	at time.Time
}

func newLastKnown() *lastKnown { return &lastKnown{entries: make(map[knownKey]knownValue)} }

// put records v, read at at, unless a later read is recorded already.
func (k *lastKnown) put(key knownKey, v any, at time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if old, ok := k.entries[key]; ok && old.at.After(at) {
		return
	}
	k.entries[key] = knownValue{v, at}
	var keep func(string) bool
	switch key.kind {
	case knownTopologyIDs:
		ids := v.([]string)
		keep = func(id string) bool { _, found := slices.BinarySearch(ids, id); return found }
		for kk := range k.entries {
			if kk.perTopology() && !keep(kk.id) {
				delete(k.entries, kk)
			}
		}
	case knownSupervisorIDs:
		ids := v.([]string)
		for kk := range k.entries {
			if _, found := slices.BinarySearch(ids, kk.id); kk.kind == knownSupervisor && !found {
				delete(k.entries, kk)
			}
		}
	}
}

// drop forgets key: it was found gone.
func (k *lastKnown) drop(key knownKey) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.entries, key)
}

func (k *lastKnown) get(key knownKey) (knownValue, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.entries[key]
	return v, ok
}

// keepKnown keeps the last known state fresh on every nimbus, leader or
// not, so that the API can answer for what no request asked yet when
// ZooKeeper stops answering: it reads all the API shows when topologies,
// assignments or supervisors change (a supervisor's Time alone is not a
// change: see readSupervisorsOnChange), and every nimbus.monitor.freq.secs
// for the heartbeats, errors and nimbuses, which no watch covers. It runs
// until ctx ends.
func (n *Nimbus) keepKnown(ctx context.Context) {
	changed := make(chan struct{}, 1)
	signal := func() {
		select {
		case changed <- struct{}{}:
		default: // a signal is pending already
		}
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, w := range []<-chan struct{}{n.state.WatchTopologies(ctx), n.state.WatchAssignments(ctx)} {
		wg.Go(func() {
			for range w {
				signal()
			}
		})
	}
	// A supervisor's periodic rewrite of its record is read (and known)
	// by readSupervisorsOnChange alone; only a real change reads the rest.
	sups := make(chan supervisorsRead, 1)
	wg.Go(func() { n.readSupervisorsOnChange(ctx, sups) })
	wg.Go(func() {
		var last []cluster.SupervisorInfo
		for {
			select {
			case <-ctx.Done():
				return
			case r := <-sups:
				if r.err != nil || supervisorsChanged(last, r.infos) {
					last = r.infos
					signal()
				}
			}
		}
	})
	tick := n.clock.AfterFunc(n.timing.monitorFreq, signal)
	defer func() { tick.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
		tick.Stop()
		if err := n.freshView(ctx).learnAll(); err != nil && ctx.Err() == nil {
			n.log.Debug("refresh the last known state", "err", err)
		}
		tick = n.clock.AfterFunc(n.timing.monitorFreq, signal)
	}
}

// learnAll reads everything the API shows, each read recorded as the
// last known state.
func (v *view) learnAll() error {
	ids, err := v.topologyIDs()
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		if _, err := v.topology(id); err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, err)
		}
		_, err1 := v.heartbeats(id)
		_, err2 := v.errors(id)
		errs = append(errs, err1, err2)
	}
	_, _, err1 := v.assignments()
	_, err2 := v.supervisors()
	_, err3 := v.nimbuses(false)
	return errors.Join(append(errs, err1, err2, err3)...)
}

// connectivity is implemented by cluster states that know whether they
// can reach their store now (cluster.ZooKeeper); the in-memory one always
// can.
type connectivity interface{ Connected() bool }

// stateReachable reports whether the cluster state can answer now.
func (n *Nimbus) stateReachable() bool {
	c, ok := n.state.(connectivity)
	return !ok || c.Connected()
}

// view is one API request's reading of the cluster state. It reads fresh
// while the state answers within the request's budget; from the first
// read that does not, every read comes from the last known state, and the
// answer is marked stale with the age of the oldest value used. Only the
// request's goroutine uses it.
type view struct {
	n   *Nimbus
	ctx context.Context
	// fallback: answer from the last known state when the state does not
	// answer by deadline. Without it (a write's reads), reads fail with
	// ErrUnavailable then.
	fallback bool
	deadline time.Time
	stale    bool
	oldest   time.Time // of the last known values used
}

// newView returns the view of a read request.
func (n *Nimbus) newView(ctx context.Context) *view {
	return &view{n: n, ctx: ctx, fallback: true, deadline: time.Now().Add(freshBudget), stale: !n.stateReachable()}
}

// freshView returns the view of a write, which must not act on stale
// state.
func (n *Nimbus) freshView(ctx context.Context) *view {
	return &view{n: n, ctx: ctx, deadline: time.Now().Add(writeBudget)}
}

// writable fails with ErrUnavailable, at once, when the cluster state
// cannot be changed now: a write would only hang until ZooKeeper returns.
func (n *Nimbus) writable() error {
	if !n.stateReachable() {
		return unavailablef("ZooKeeper is unreachable: nimbus cannot change the cluster's state until it is back; " +
			"retry in a few seconds (reads still answer, from nimbus's last known state)")
	}
	return nil
}

// read returns key's value: fresh from fetch while the view is not stale,
// else (or if fetch fails without the request having ended) the last one
// known. what names it in errors. A fresh ErrNotFound is returned as is,
// and forgets key.
func read[T any](v *view, key knownKey, what string, fetch func(ctx context.Context) (T, error)) (T, error) {
	var zero T
	if !v.stale {
		ctx, cancel := context.WithDeadline(v.ctx, v.deadline)
		at := v.n.clock.Now()
		val, err := fetch(ctx)
		cancel()
		switch {
		case err == nil:
			v.n.known.put(key, val, at)
			return val, nil
		case errors.Is(err, cluster.ErrNotFound):
			v.n.known.drop(key)
			return zero, err
		case errors.Is(err, cluster.ErrInvalid):
			return zero, withKind(ErrInvalid, err)
		case v.ctx.Err() != nil:
			return zero, v.ctx.Err()
		case !v.fallback:
			return zero, unavailablef("read %s: %v", what, err)
		}
		v.stale = true
	}
	kv, ok := v.n.known.get(key)
	if !ok {
		return zero, unavailablef("the cluster state (ZooKeeper) does not answer, and this nimbus has no earlier copy of %s; retry when ZooKeeper is back", what)
	}
	if v.oldest.IsZero() || kv.at.Before(v.oldest) {
		v.oldest = kv.at
	}
	return kv.v.(T), nil
}

// orNone is read for a part of an answer that may be left out when
// stale and never read before (errors shown beside a topology, the
// nimbuses counted for replication): then it returns the zero value.
func orNone[T any](v *view, key knownKey, what string, fetch func(ctx context.Context) (T, error)) (T, error) {
	val, err := read(v, key, what, fetch)
	if err != nil && v.stale && errors.Is(err, ErrUnavailable) {
		return val, nil
	}
	return val, err
}

// finish marks the answer stale, if it is, with the age in whole seconds
// of the oldest value used: the gRPC header api.StaleMetadataKey, which
// the REST gateway sends as api.StaleHeader.
func (v *view) finish() {
	if !v.stale {
		return
	}
	age := 0
	if !v.oldest.IsZero() {
		age = int(max(v.n.clock.Now().Sub(v.oldest), 0) / time.Second)
	}
	// Fails only outside a gRPC call (a direct call in a test).
	_ = grpc.SetHeader(v.ctx, metadata.Pairs(api.StaleMetadataKey, strconv.Itoa(age)))
}

// The reads of the API.

func (v *view) topologyIDs() ([]string, error) {
	return read(v, knownKey{kind: knownTopologyIDs}, "the topology list", v.n.state.ListTopologies)
}

// topology reads a topology's record; unknown ids are ErrNotFound.
func (v *view) topology(id string) (cluster.TopologyRecord, error) {
	rec, err := read(v, knownKey{knownTopology, id}, "topology "+id, func(ctx context.Context) (cluster.TopologyRecord, error) {
		return v.n.state.GetTopology(ctx, id)
	})
	if errors.Is(err, cluster.ErrNotFound) {
		return rec, notFoundf("topology %q not found", id)
	}
	return rec, err
}

// assignment reads a topology's assignment; none is the zero Assignment.
func (v *view) assignment(id string) (cluster.Assignment, error) {
	a, err := read(v, knownKey{knownAssignment, id}, "the assignment of "+id, func(ctx context.Context) (cluster.Assignment, error) {
		return v.n.state.GetAssignment(ctx, id)
	})
	if errors.Is(err, cluster.ErrNotFound) {
		return cluster.Assignment{}, nil
	}
	return a, err
}

// assignments reads the topology ids and every assignment.
func (v *view) assignments() ([]string, []cluster.Assignment, error) {
	ids, err := v.topologyIDs()
	if err != nil {
		return nil, nil, err
	}
	asgIDs, err := read(v, knownKey{kind: knownAssignmentIDs}, "the assignment list", v.n.state.ListAssignments)
	if err != nil {
		return nil, nil, err
	}
	var out []cluster.Assignment
	for _, id := range asgIDs {
		a, err := v.assignment(id)
		if err != nil {
			return nil, nil, err
		}
		if a.Executors != nil {
			out = append(out, a)
		}
	}
	return ids, out, nil
}

// supervisors reads the registered supervisors' records.
func (v *view) supervisors() ([]cluster.SupervisorInfo, error) {
	ids, err := read(v, knownKey{kind: knownSupervisorIDs}, "the supervisor list", v.n.state.ListSupervisors)
	if err != nil {
		return nil, err
	}
	var out []cluster.SupervisorInfo
	for _, id := range ids {
		info, err := read(v, knownKey{knownSupervisor, id}, "supervisor "+id, func(ctx context.Context) (cluster.SupervisorInfo, error) {
			return v.n.state.GetSupervisor(ctx, id)
		})
		if errors.Is(err, cluster.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

func (v *view) heartbeats(id string) ([]cluster.WorkerHeartbeat, error) {
	return read(v, knownKey{knownHeartbeats, id}, "the heartbeats of "+id, func(ctx context.Context) ([]cluster.WorkerHeartbeat, error) {
		return v.n.state.ListWorkerHeartbeats(ctx, id)
	})
}

func (v *view) errors(id string) ([]cluster.ErrorInfo, error) {
	return orNone(v, knownKey{knownErrors, id}, "the errors of "+id, func(ctx context.Context) ([]cluster.ErrorInfo, error) {
		return v.n.state.ListErrors(ctx, id)
	})
}

// nimbuses reads the registered nimbuses; with optional, an answer that
// only counts them goes on without them when they were never read.
func (v *view) nimbuses(optional bool) ([]cluster.NimbusInfo, error) {
	f := read[[]cluster.NimbusInfo]
	if optional {
		f = orNone[[]cluster.NimbusInfo]
	}
	return f(v, knownKey{kind: knownNimbuses}, "the nimbus list", v.n.state.ListNimbuses)
}

// findByName returns the id of the topology named name.
func (v *view) findByName(name string) (string, bool, error) {
	ids, err := v.topologyIDs()
	if err != nil {
		return "", false, err
	}
	for _, id := range ids {
		// Ids are name-counter-timestamp: only these can be name's.
		if !strings.HasPrefix(id, name+"-") {
			continue
		}
		rec, err := v.topology(id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return "", false, err
		}
		if rec.Name == name {
			return id, true, nil
		}
	}
	return "", false, nil
}

// resolve returns the topology id a request names: id, or the id of the
// topology named name.
func (v *view) resolve(id, name string) (string, error) {
	if id != "" {
		// One that cannot exist is not looked up: ZooKeeper would take
		// some (a NUL) for a broken request rather than an unknown node.
		if err := topology.CheckID(id); err != nil {
			return "", notFoundf("topology %.80q not found: it cannot be a topology id", id)
		}
		return id, nil
	}
	if name == "" {
		return "", invalidf("no topology id or name given")
	}
	id, found, err := v.findByName(name)
	if err != nil {
		return "", err
	}
	if !found {
		return "", notFoundf("no topology named %q", name)
	}
	return id, nil
}
