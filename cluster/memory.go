package cluster

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
)

// Memory is cluster state kept in process, for local mode and tests. It
// follows the contract of State, which its sessions implement: create one
// Session per participant (nimbus, supervisor, worker), as each would open
// its own ZooKeeper session. Values are stored JSON-encoded, so they come
// back exactly as from ZooKeeper. Memory starts no goroutines; it is safe for
// concurrent use.
type Memory struct {
	mu sync.Mutex
	// Guarded by mu:
	topologies  map[string][]byte
	assignments map[string][]byte
	supervisors map[string]memEphemeral
	nimbuses    map[string]memEphemeral
	beats       map[string]map[Slot][]byte                   // topology → worker → heartbeat
	errs        map[string]map[string][][]byte               // topology → component → errors, oldest first
	secrets     map[string][]byte                            // topology → worker secret
	candidates  []*memCandidate                              // election queue; the first leads
	watchers    map[watchKind]map[*memWatcher]*MemorySession // watchers and their sessions
}

type memEphemeral struct {
	data  []byte
	owner *MemorySession
}

// memCandidate is a Campaign's place in the election queue; its fields
// other than sess and info are guarded by Memory.mu.
type memCandidate struct {
	sess   *MemorySession
	info   NimbusInfo
	turn   chan struct{} // closed when it comes first
	gone   chan struct{} // closed when removed from the queue
	first  bool          // turn is closed
	leader *Leadership   // set once Campaign has taken its turn
}

type watchKind int

const (
	watchTopologies watchKind = iota
	watchAssignments
	watchSupervisors
)

type memWatcher struct {
	ch   chan struct{}
	stop func() bool // stops the context.AfterFunc that drops the watcher
}

// NewMemory returns an empty store.
func NewMemory() *Memory {
	return &Memory{
		topologies:  make(map[string][]byte),
		assignments: make(map[string][]byte),
		supervisors: make(map[string]memEphemeral),
		nimbuses:    make(map[string]memEphemeral),
		beats:       make(map[string]map[Slot][]byte),
		errs:        make(map[string]map[string][][]byte),
		secrets:     make(map[string][]byte),
		watchers: map[watchKind]map[*memWatcher]*MemorySession{
			watchTopologies:  {},
			watchAssignments: {},
			watchSupervisors: {},
		},
	}
}

// Session opens a session on the store: a State whose ephemeral entries,
// candidacies and watches belong to it.
func (m *Memory) Session() *MemorySession {
	return &MemorySession{
		m:           m,
		done:        make(chan struct{}),
		supervisors: make(map[string][]byte),
		nimbuses:    make(map[string][]byte),
	}
}

// MemorySession is one session on a Memory store, implementing State. Its
// methods are safe for concurrent use.
type MemorySession struct {
	m    *Memory
	done chan struct{} // closed by Close

	// Guarded by m.mu:
	closed      bool
	supervisors map[string][]byte // registrations, re-created after Expire
	nimbuses    map[string][]byte
}

var _ State = (*MemorySession)(nil)

// lock locks the store and reports ErrClosed (unlocking) if s is closed or
// ctx has ended. On success the caller unlocks.
func (s *MemorySession) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.m.mu.Lock()
	if s.closed {
		s.m.mu.Unlock()
		return ErrClosed
	}
	return nil
}

// Close ends the session: its supervisors and nimbuses are unregistered, its
// leadership lost and its candidacies withdrawn, its watch channels closed.
func (s *MemorySession) Close() error {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	close(s.done)
	s.m.dropSession(s)
	for kind, ws := range s.m.watchers {
		for w, owner := range ws {
			if owner == s {
				w.stop()
				s.m.dropWatcher(kind, w)
			}
		}
	}
	return nil
}

// Expire simulates the expiry of a ZooKeeper session: the session's
// ephemeral entries vanish and its leadership is lost, then, as the
// ZooKeeper implementation does in its new session, its supervisors and
// nimbuses are registered again. A Campaign waiting in this session renews
// its candidacy at the back of the queue.
func (s *MemorySession) Expire() {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	if s.closed {
		return
	}
	s.m.dropSession(s)
	for id, data := range s.supervisors {
		s.m.supervisors[id] = memEphemeral{data, s}
	}
	for addr, data := range s.nimbuses {
		s.m.nimbuses[addr] = memEphemeral{data, s}
	}
	s.m.notify(watchSupervisors)
}

// dropSession removes the ephemeral entries and candidacies of s. Callers
// hold mu.
func (m *Memory) dropSession(s *MemorySession) {
	dropped := false
	for id, e := range m.supervisors {
		if e.owner == s {
			delete(m.supervisors, id)
			dropped = true
		}
	}
	for addr, e := range m.nimbuses {
		if e.owner == s {
			delete(m.nimbuses, addr)
		}
	}
	for _, c := range slices.Clone(m.candidates) {
		if c.sess == s {
			m.removeCandidate(c)
		}
	}
	if dropped {
		m.notify(watchSupervisors)
	}
}

// notify signals the watchers of kind without blocking. Callers hold mu.
func (m *Memory) notify(kind watchKind) {
	for w := range m.watchers[kind] {
		select {
		case w.ch <- struct{}{}:
		default:
		}
	}
}

// watch registers a watcher of kind for s; see State.
func (s *MemorySession) watch(ctx context.Context, kind watchKind) <-chan struct{} {
	ch := make(chan struct{}, 1)
	if s.lock(ctx) != nil {
		close(ch)
		return ch
	}
	defer s.m.mu.Unlock()
	ch <- struct{}{}
	w := &memWatcher{ch: ch}
	s.m.watchers[kind][w] = s
	w.stop = context.AfterFunc(ctx, func() {
		s.m.mu.Lock()
		defer s.m.mu.Unlock()
		s.m.dropWatcher(kind, w)
	})
	return ch
}

// dropWatcher unregisters w and closes its channel, once. Callers hold mu.
func (m *Memory) dropWatcher(kind watchKind, w *memWatcher) {
	if _, ok := m.watchers[kind][w]; ok {
		delete(m.watchers[kind], w)
		close(w.ch)
	}
}

// setVersioned is the compare-and-set write of State into table.
func (s *MemorySession) setVersioned(ctx context.Context, table map[string][]byte, kind watchKind, id string, expect int64, data []byte) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.m.mu.Unlock()
	cur, ok := table[id]
	switch {
	case expect == 0 && ok:
		return ErrExists
	case expect != 0 && !ok:
		return ErrNotFound
	case ok:
		v, err := recordVersion(cur)
		if err != nil {
			return err
		}
		if v != expect {
			return ErrVersionConflict
		}
	}
	table[id] = data
	s.m.notify(kind)
	return nil
}

// getJSON decodes table[id] into v.
func (s *MemorySession) getJSON(ctx context.Context, table map[string][]byte, id string, v any) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	data, ok := table[id]
	s.m.mu.Unlock()
	if !ok {
		return ErrNotFound
	}
	return json.Unmarshal(data, v)
}

// deleteKey deletes table[id].
func (s *MemorySession) deleteKey(ctx context.Context, table map[string][]byte, kind watchKind, id string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.m.mu.Unlock()
	if _, ok := table[id]; !ok {
		return ErrNotFound
	}
	delete(table, id)
	s.m.notify(kind)
	return nil
}

// keys returns the sorted keys of table.
func (s *MemorySession) keys(ctx context.Context, table map[string][]byte) ([]string, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.m.mu.Unlock()
	return slices.Sorted(maps.Keys(table)), nil
}

// SetTopology implements State.
func (s *MemorySession) SetTopology(ctx context.Context, rec TopologyRecord) (TopologyRecord, error) {
	if err := checkID("topology", rec.ID); err != nil {
		return TopologyRecord{}, fmt.Errorf("set topology: %w", err)
	}
	expect := rec.Version
	rec.Version++
	data, err := json.Marshal(rec)
	if err == nil {
		err = s.setVersioned(ctx, s.m.topologies, watchTopologies, rec.ID, expect, data)
	}
	if err != nil {
		return TopologyRecord{}, fmt.Errorf("set topology %s: %w", rec.ID, err)
	}
	return rec, nil
}

// GetTopology implements State.
func (s *MemorySession) GetTopology(ctx context.Context, id string) (TopologyRecord, error) {
	var rec TopologyRecord
	if err := checkID("topology", id); err != nil {
		return rec, fmt.Errorf("get topology: %w", err)
	}
	if err := s.getJSON(ctx, s.m.topologies, id, &rec); err != nil {
		return TopologyRecord{}, fmt.Errorf("get topology %s: %w", id, err)
	}
	return rec, nil
}

// DeleteTopology implements State.
func (s *MemorySession) DeleteTopology(ctx context.Context, id string) error {
	if err := checkID("topology", id); err != nil {
		return fmt.Errorf("delete topology: %w", err)
	}
	if err := s.deleteKey(ctx, s.m.topologies, watchTopologies, id); err != nil {
		return fmt.Errorf("delete topology %s: %w", id, err)
	}
	s.m.mu.Lock()
	delete(s.m.secrets, id)
	s.m.mu.Unlock()
	return nil
}

// ListTopologies implements State.
func (s *MemorySession) ListTopologies(ctx context.Context) ([]string, error) {
	ids, err := s.keys(ctx, s.m.topologies)
	if err != nil {
		return nil, fmt.Errorf("list topologies: %w", err)
	}
	return ids, nil
}

// WatchTopologies implements State.
func (s *MemorySession) WatchTopologies(ctx context.Context) <-chan struct{} {
	return s.watch(ctx, watchTopologies)
}

// WatchTopology implements State: it signals every topology's change.
func (s *MemorySession) WatchTopology(ctx context.Context, _ string) <-chan struct{} {
	return s.watch(ctx, watchTopologies)
}

// SetAssignment implements State.
func (s *MemorySession) SetAssignment(ctx context.Context, a Assignment) (Assignment, error) {
	if err := checkID("topology", a.TopologyID); err != nil {
		return Assignment{}, fmt.Errorf("set assignment: %w", err)
	}
	expect := a.Version
	a.Version++
	data, err := json.Marshal(a)
	if err == nil {
		err = s.setVersioned(ctx, s.m.assignments, watchAssignments, a.TopologyID, expect, data)
	}
	if err != nil {
		return Assignment{}, fmt.Errorf("set assignment %s: %w", a.TopologyID, err)
	}
	return a, nil
}

// GetAssignment implements State.
func (s *MemorySession) GetAssignment(ctx context.Context, topologyID string) (Assignment, error) {
	var a Assignment
	if err := checkID("topology", topologyID); err != nil {
		return a, fmt.Errorf("get assignment: %w", err)
	}
	if err := s.getJSON(ctx, s.m.assignments, topologyID, &a); err != nil {
		return Assignment{}, fmt.Errorf("get assignment %s: %w", topologyID, err)
	}
	return a, nil
}

// DeleteAssignment implements State.
func (s *MemorySession) DeleteAssignment(ctx context.Context, topologyID string) error {
	if err := checkID("topology", topologyID); err != nil {
		return fmt.Errorf("delete assignment: %w", err)
	}
	if err := s.deleteKey(ctx, s.m.assignments, watchAssignments, topologyID); err != nil {
		return fmt.Errorf("delete assignment %s: %w", topologyID, err)
	}
	return nil
}

// ListAssignments implements State.
func (s *MemorySession) ListAssignments(ctx context.Context) ([]string, error) {
	ids, err := s.keys(ctx, s.m.assignments)
	if err != nil {
		return nil, fmt.Errorf("list assignments: %w", err)
	}
	return ids, nil
}

// WatchAssignments implements State.
func (s *MemorySession) WatchAssignments(ctx context.Context) <-chan struct{} {
	return s.watch(ctx, watchAssignments)
}

// WatchAssignment implements State: it signals every assignment's change.
func (s *MemorySession) WatchAssignment(ctx context.Context, _ string) <-chan struct{} {
	return s.watch(ctx, watchAssignments)
}

// RegisterSupervisor implements State.
func (s *MemorySession) RegisterSupervisor(ctx context.Context, info SupervisorInfo) error {
	if err := checkID("supervisor", info.ID); err != nil {
		return fmt.Errorf("register supervisor: %w", err)
	}
	data, err := json.Marshal(info)
	if err != nil {
		return fmt.Errorf("register supervisor %s: %w", info.ID, err)
	}
	if err := s.lock(ctx); err != nil {
		return fmt.Errorf("register supervisor %s: %w", info.ID, err)
	}
	defer s.m.mu.Unlock()
	s.supervisors[info.ID] = data
	s.m.supervisors[info.ID] = memEphemeral{data, s}
	s.m.notify(watchSupervisors)
	return nil
}

// GetSupervisor implements State.
func (s *MemorySession) GetSupervisor(ctx context.Context, id string) (SupervisorInfo, error) {
	if err := checkID("supervisor", id); err != nil {
		return SupervisorInfo{}, fmt.Errorf("get supervisor: %w", err)
	}
	if err := s.lock(ctx); err != nil {
		return SupervisorInfo{}, fmt.Errorf("get supervisor %s: %w", id, err)
	}
	e, ok := s.m.supervisors[id]
	s.m.mu.Unlock()
	if !ok {
		return SupervisorInfo{}, fmt.Errorf("get supervisor %s: %w", id, ErrNotFound)
	}
	var info SupervisorInfo
	if err := json.Unmarshal(e.data, &info); err != nil {
		return SupervisorInfo{}, fmt.Errorf("get supervisor %s: %w", id, err)
	}
	return info, nil
}

// ListSupervisors implements State.
func (s *MemorySession) ListSupervisors(ctx context.Context) ([]string, error) {
	if err := s.lock(ctx); err != nil {
		return nil, fmt.Errorf("list supervisors: %w", err)
	}
	defer s.m.mu.Unlock()
	return slices.Sorted(maps.Keys(s.m.supervisors)), nil
}

// WatchSupervisors implements State.
func (s *MemorySession) WatchSupervisors(ctx context.Context) <-chan struct{} {
	return s.watch(ctx, watchSupervisors)
}

// PutWorkerHeartbeat implements State.
func (s *MemorySession) PutWorkerHeartbeat(ctx context.Context, hb WorkerHeartbeat) error {
	if err := checkBeat(hb.TopologyID, hb.NodeID, hb.Port); err != nil {
		return fmt.Errorf("put worker heartbeat: %w", err)
	}
	data, err := json.Marshal(hb)
	if err != nil {
		return fmt.Errorf("put worker heartbeat %s %s:%d: %w", hb.TopologyID, hb.NodeID, hb.Port, err)
	}
	if err := s.lock(ctx); err != nil {
		return fmt.Errorf("put worker heartbeat %s %s:%d: %w", hb.TopologyID, hb.NodeID, hb.Port, err)
	}
	defer s.m.mu.Unlock()
	beats := s.m.beats[hb.TopologyID]
	if beats == nil {
		beats = make(map[Slot][]byte)
		s.m.beats[hb.TopologyID] = beats
	}
	beats[Slot{hb.NodeID, hb.Port}] = data
	return nil
}

// ListWorkerHeartbeats implements State.
func (s *MemorySession) ListWorkerHeartbeats(ctx context.Context, topologyID string) ([]WorkerHeartbeat, error) {
	if err := checkID("topology", topologyID); err != nil {
		return nil, fmt.Errorf("list worker heartbeats: %w", err)
	}
	if err := s.lock(ctx); err != nil {
		return nil, fmt.Errorf("list worker heartbeats %s: %w", topologyID, err)
	}
	var all [][]byte
	for _, data := range s.m.beats[topologyID] {
		all = append(all, data)
	}
	s.m.mu.Unlock()
	var out []WorkerHeartbeat
	for _, data := range all {
		var hb WorkerHeartbeat
		if err := json.Unmarshal(data, &hb); err != nil {
			return nil, fmt.Errorf("list worker heartbeats %s: %w", topologyID, err)
		}
		out = append(out, hb)
	}
	sortBeats(out)
	return out, nil
}

// DeleteWorkerHeartbeat implements State.
func (s *MemorySession) DeleteWorkerHeartbeat(ctx context.Context, topologyID, nodeID string, port int) error {
	if err := checkBeat(topologyID, nodeID, port); err != nil {
		return fmt.Errorf("delete worker heartbeat: %w", err)
	}
	if err := s.lock(ctx); err != nil {
		return fmt.Errorf("delete worker heartbeat %s %s:%d: %w", topologyID, nodeID, port, err)
	}
	defer s.m.mu.Unlock()
	slot := Slot{nodeID, port}
	if _, ok := s.m.beats[topologyID][slot]; !ok {
		return fmt.Errorf("delete worker heartbeat %s %s:%d: %w", topologyID, nodeID, port, ErrNotFound)
	}
	delete(s.m.beats[topologyID], slot)
	if len(s.m.beats[topologyID]) == 0 {
		delete(s.m.beats, topologyID)
	}
	return nil
}

// DeleteWorkerHeartbeats implements State.
func (s *MemorySession) DeleteWorkerHeartbeats(ctx context.Context, topologyID string) error {
	if err := checkID("topology", topologyID); err != nil {
		return fmt.Errorf("delete worker heartbeats: %w", err)
	}
	if err := s.lock(ctx); err != nil {
		return fmt.Errorf("delete worker heartbeats %s: %w", topologyID, err)
	}
	defer s.m.mu.Unlock()
	delete(s.m.beats, topologyID)
	return nil
}

// ReportError implements State.
func (s *MemorySession) ReportError(ctx context.Context, topologyID string, e ErrorInfo) error {
	if topologyID == "" || e.Component == "" {
		return fmt.Errorf("report error: empty topology or component id: %w", ErrInvalid)
	}
	data, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("report error %s %s: %w", topologyID, e.Component, err)
	}
	if err := s.lock(ctx); err != nil {
		return fmt.Errorf("report error %s %s: %w", topologyID, e.Component, err)
	}
	defer s.m.mu.Unlock()
	comps := s.m.errs[topologyID]
	if comps == nil {
		comps = make(map[string][][]byte)
		s.m.errs[topologyID] = comps
	}
	list := append(comps[e.Component], data)
	if n := len(list) - MaxErrorsPerComponent; n > 0 {
		list = slices.Delete(list, 0, n)
	}
	comps[e.Component] = list
	return nil
}

// ListErrors implements State.
func (s *MemorySession) ListErrors(ctx context.Context, topologyID string) ([]ErrorInfo, error) {
	if err := checkID("topology", topologyID); err != nil {
		return nil, fmt.Errorf("list errors: %w", err)
	}
	if err := s.lock(ctx); err != nil {
		return nil, fmt.Errorf("list errors %s: %w", topologyID, err)
	}
	comps := s.m.errs[topologyID]
	var all [][]byte
	for _, c := range slices.Sorted(maps.Keys(comps)) {
		all = append(all, comps[c]...)
	}
	s.m.mu.Unlock()
	var out []ErrorInfo
	for _, data := range all {
		var e ErrorInfo
		if err := json.Unmarshal(data, &e); err != nil {
			return nil, fmt.Errorf("list errors %s: %w", topologyID, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// DeleteErrors implements State.
func (s *MemorySession) DeleteErrors(ctx context.Context, topologyID string) error {
	if err := checkID("topology", topologyID); err != nil {
		return fmt.Errorf("delete errors: %w", err)
	}
	if err := s.lock(ctx); err != nil {
		return fmt.Errorf("delete errors %s: %w", topologyID, err)
	}
	defer s.m.mu.Unlock()
	delete(s.m.errs, topologyID)
	return nil
}

// RegisterNimbus implements State.
func (s *MemorySession) RegisterNimbus(ctx context.Context, info NimbusInfo) error {
	if info.Host == "" || info.Port <= 0 {
		return fmt.Errorf("register nimbus %q: %w", info.Addr(), ErrInvalid)
	}
	info.IsLeader = false
	data, err := json.Marshal(info)
	if err != nil {
		return fmt.Errorf("register nimbus %s: %w", info.Addr(), err)
	}
	if err := s.lock(ctx); err != nil {
		return fmt.Errorf("register nimbus %s: %w", info.Addr(), err)
	}
	defer s.m.mu.Unlock()
	s.nimbuses[info.Addr()] = data
	s.m.nimbuses[info.Addr()] = memEphemeral{data, s}
	return nil
}

// ListNimbuses implements State.
func (s *MemorySession) ListNimbuses(ctx context.Context) ([]NimbusInfo, error) {
	if err := s.lock(ctx); err != nil {
		return nil, fmt.Errorf("list nimbuses: %w", err)
	}
	var leader string
	if len(s.m.candidates) > 0 {
		leader = s.m.candidates[0].info.Addr()
	}
	var all [][]byte
	for _, e := range s.m.nimbuses {
		all = append(all, e.data)
	}
	s.m.mu.Unlock()
	var out []NimbusInfo
	for _, data := range all {
		var info NimbusInfo
		if err := json.Unmarshal(data, &info); err != nil {
			return nil, fmt.Errorf("list nimbuses: %w", err)
		}
		info.IsLeader = info.Addr() == leader
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b NimbusInfo) int { return cmp.Compare(a.Addr(), b.Addr()) })
	return out, nil
}

// Campaign implements State.
func (s *MemorySession) Campaign(ctx context.Context, info NimbusInfo) (*Leadership, error) {
	if info.Host == "" || info.Port <= 0 {
		return nil, fmt.Errorf("campaign as %q: %w", info.Addr(), ErrInvalid)
	}
	info.IsLeader = false
	for {
		if err := s.lock(ctx); err != nil {
			return nil, fmt.Errorf("campaign as %s: %w", info.Addr(), err)
		}
		c := &memCandidate{sess: s, info: info, turn: make(chan struct{}), gone: make(chan struct{})}
		s.m.candidates = append(s.m.candidates, c)
		s.m.promote()
		s.m.mu.Unlock()

		select {
		case <-c.turn:
		case <-c.gone: // expired while waiting: renew
			continue
		case <-ctx.Done():
		case <-s.done:
		}
		s.m.mu.Lock()
		switch {
		case s.closed:
			s.m.mu.Unlock()
			return nil, fmt.Errorf("campaign as %s: %w", info.Addr(), ErrClosed)
		case ctx.Err() != nil:
			s.m.removeCandidate(c)
			s.m.mu.Unlock()
			return nil, fmt.Errorf("campaign as %s: %w", info.Addr(), ctx.Err())
		case !slices.Contains(s.m.candidates, c):
			s.m.mu.Unlock()
			continue // expired just after its turn came
		}
		c.leader = newLeadership(info, func(context.Context) error {
			s.m.mu.Lock()
			defer s.m.mu.Unlock()
			s.m.removeCandidate(c)
			return nil
		})
		s.m.mu.Unlock()
		return c.leader, nil
	}
}

// promote gives the first candidate its turn. Callers hold mu.
func (m *Memory) promote() {
	if len(m.candidates) > 0 && !m.candidates[0].first {
		m.candidates[0].first = true
		close(m.candidates[0].turn)
	}
}

// removeCandidate takes c out of the election, ending its leadership.
// Callers hold mu.
func (m *Memory) removeCandidate(c *memCandidate) {
	i := slices.Index(m.candidates, c)
	if i < 0 {
		return
	}
	m.candidates = slices.Delete(m.candidates, i, i+1)
	close(c.gone)
	if c.leader != nil {
		c.leader.end()
	}
	m.promote()
}

// Leader implements State.
func (s *MemorySession) Leader(ctx context.Context) (NimbusInfo, bool, error) {
	if err := s.lock(ctx); err != nil {
		return NimbusInfo{}, false, fmt.Errorf("read leader: %w", err)
	}
	defer s.m.mu.Unlock()
	if len(s.m.candidates) == 0 {
		return NimbusInfo{}, false, nil
	}
	info := s.m.candidates[0].info
	info.IsLeader = true
	return info, true, nil
}
