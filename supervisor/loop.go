package supervisor

import (
	"github.com/squallstream/squall/internal/backoff"

	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"

	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/internal/layout"
	"github.com/squallstream/squall/internal/procgroup"
)

// worker is a worker process the loop manages.
type worker struct {
	id   string
	dir  string
	meta layout.WorkerMeta
	// proc is our child; nil for an adopted worker, which is watched by
	// polling pid.
	proc *procgroup.Process
	pid  procID
	// adopted: launched by an earlier supervisor. verified: an adopted
	// worker found to run what the assignments ask; until then, nothing
	// is decided about it but its health.
	adopted, verified bool
	stopping          bool
	ready             bool
	// beat is the time of the last heartbeat read.
	beat time.Time
}

// Events the loop's goroutines send it.
type (
	exitedEvent struct {
		id     string
		status procgroup.Status
	}
	stoppedEvent struct {
		id     string
		killed []int // leftover pids killed
	}
	downloadedEvent struct {
		stormID, digest string
		took            time.Duration
		err             error
	}
)

// loop is the supervisor's state and the one goroutine that owns it (Run's
// goroutine). The goroutines it starts (process watchers, stoppers,
// downloads) share nothing with it: they get copies and send events back.
type loop struct {
	ctx    context.Context
	s      *Supervisor
	cfg    Config
	log    *slog.Logger
	state  cluster.State
	nodeID string
	began  time.Time
	events chan any
	wg     sync.WaitGroup

	workers map[string]*worker
	// desired is what the assignments last read ask for, by port;
	// haveDesired is set after the first successful read.
	desired     map[int]desiredWorker
	haveDesired bool
	// readOK: the last reading of the assignments succeeded and found
	// the record and secret of every topology they place here; until
	// then the monitor tick reads them again (the watch tells of
	// changes, not of a read that failed or came too early).
	readOK   bool
	problems string
	// digests holds the package digest of each topology assigned here.
	digests map[string]string
	// secrets holds the worker secret of each topology assigned here;
	// nil for one that has none.
	secrets map[string][]byte
	// owners holds the owner of each topology assigned here; runAsErrs
	// the last reason a topology's worker could not run as its owner.
	owners    map[string]string
	runAsErrs map[string]string
	// dists holds the digest of each package on disk, by topology id.
	dists     map[string]string
	downloads map[string]bool
	// dlBackoff spaces failed downloads; refused holds the digest of a
	// topology's refused package, not downloaded again.
	dlBackoff map[string]*restartTracker
	refused   map[string]string
	restarts  map[slotKey]*restartTracker
	conns     map[string]*grpc.ClientConn

	registered bool
	usedPorts  []int
	// logsPruned is when pruneLogs last ran.
	logsPruned time.Time
}

func newLoop(ctx context.Context, s *Supervisor, nodeID string) *loop {
	return &loop{
		ctx:       ctx,
		s:         s,
		cfg:       s.cfg,
		log:       s.log.With("node", nodeID),
		state:     s.state,
		nodeID:    nodeID,
		began:     time.Now(),
		events:    make(chan any),
		workers:   make(map[string]*worker),
		digests:   make(map[string]string),
		secrets:   make(map[string][]byte),
		owners:    make(map[string]string),
		runAsErrs: make(map[string]string),
		dists:     make(map[string]string),
		downloads: make(map[string]bool),
		dlBackoff: make(map[string]*restartTracker),
		refused:   make(map[string]string),
		restarts:  make(map[slotKey]*restartTracker),
		conns:     make(map[string]*grpc.ClientConn),
	}
}

// run is the sync loop. It returns when ctx ends, or with an error when
// the cluster state closes under it.
func (l *loop) run() error {
	assignments := l.state.WatchAssignments(l.ctx)
	tick := time.NewTicker(l.cfg.MonitorInterval)
	defer tick.Stop()
	wake := time.NewTimer(time.Hour)
	defer wake.Stop()
	for {
		refresh := false
		select {
		case <-l.ctx.Done():
			return nil
		case _, ok := <-assignments:
			if !ok {
				if l.ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("watch assignments: %w", cluster.ErrClosed)
			}
			l.readAssignments()
		case <-tick.C:
			if !l.readOK { // the watch tells of every change
				l.readAssignments()
			}
			l.checkHealth(time.Now())
			l.pruneLogs(time.Now())
			refresh = true
		case ev := <-l.events:
			l.handle(ev)
		case <-wake.C:
		}
		now := time.Now()
		l.reconcile(now)
		l.publish()
		l.register(refresh)
		if next, ok := l.nextWake(now); ok {
			wake.Reset(next.Sub(now))
		} else {
			wake.Stop()
		}
	}
}

// send hands an event to the loop, or drops it once the loop has ended.
func (l *loop) send(ev any) {
	select {
	case l.events <- ev:
	case <-l.ctx.Done():
	}
}

// scan loads the packages and the workers found on disk, as a previous
// supervisor left them. Workers that still run, were launched for this
// node and heartbeat are kept as candidates for adoption, decided by the
// first read of the assignments; everything else is stopped and cleaned
// up.
func (l *loop) scan(now time.Time) {
	root := layout.StormDistRoot(l.cfg.LocalDir)
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		dist := layout.StormDist(l.cfg.LocalDir, e.Name())
		if strings.HasPrefix(e.Name(), ".") {
			os.RemoveAll(dist) // an interrupted download or replacement
			continue
		}
		digest, err := readDigest(dist)
		if err != nil {
			l.log.Warn("removing incomplete package", "topology", e.Name(), "err", err)
			os.RemoveAll(dist)
			continue
		}
		l.dists[e.Name()] = digest
	}

	entries, _ = os.ReadDir(layout.WorkersRoot(l.cfg.LocalDir))
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		w := &worker{id: e.Name(), dir: layout.WorkerDir(l.cfg.LocalDir, e.Name()), adopted: true}
		l.workers[w.id] = w
		hb, _ := readHeartbeat(w.dir)
		err := layout.ReadJSON(layout.MetaFile(w.dir), &w.meta)
		if err != nil || w.meta.WorkerID != w.id || w.meta.Pid == 0 {
			// The previous supervisor died while launching it, or the
			// directory is not ours: find its process, if any, by its
			// working directory. A readable meta file keeps its port
			// taken until the process is gone.
			if err != nil || w.meta.WorkerID != w.id {
				w.meta = layout.WorkerMeta{WorkerID: w.id}
			}
			var hint int
			if hb != nil {
				hint = hb.Pid
			}
			w.pid, _ = processIn(w.dir, hint)
			l.stop(w, "incomplete worker directory")
			continue
		}
		w.pid = procID{w.meta.Pid, w.meta.StartTime}
		if !w.pid.alive() {
			l.log.Warn("worker died while no supervisor ran", l.attrs(w, "log_tail", workerLogTail(l.cfg.LocalDir, w.meta.StormID, w.meta.Port, w.meta.LaunchedAt))...)
			l.stop(w, "died while no supervisor ran")
			continue
		}
		if w.meta.NodeID != l.nodeID {
			l.stop(w, "launched for node "+w.meta.NodeID)
			continue
		}
		switch v := judge(w.meta.LaunchedAt, hb, now, l.cfg.WorkerStartTimeout, l.cfg.WorkerTimeout); v {
		case healthy, starting:
			if hb != nil {
				w.beat, w.ready = hb.Time, hb.Ready
			}
			l.log.Info("found running worker", l.attrs(w)...)
		default:
			l.stop(w, v.String())
		}
	}
	l.publish()
}

// readAssignments reads the assignments and the package digests of the
// topologies assigned here. On an error nothing changes: the loop goes on
// with what it read last and reads again at the next tick.
func (l *loop) readAssignments() {
	ctx := l.ctx
	l.readOK = false
	ids, err := l.state.ListAssignments(ctx)
	if err != nil {
		l.readFailed(err)
		return
	}
	var all []cluster.Assignment
	for _, id := range ids {
		a, err := l.state.GetAssignment(ctx, id)
		if errors.Is(err, cluster.ErrNotFound) {
			continue
		}
		if err != nil {
			l.readFailed(err)
			return
		}
		if !validStormID(a.TopologyID) {
			l.log.Error("ignoring the assignment of an unusable topology id", "topology", a.TopologyID)
			continue
		}
		all = append(all, a)
	}
	desired, problems := desiredWorkers(l.nodeID, l.cfg.Ports, all)
	digests := make(map[string]string)
	secrets := make(map[string][]byte)
	owners := make(map[string]string)
	for _, d := range desired {
		if _, done := digests[d.StormID]; done {
			continue
		}
		rec, err := l.state.GetTopology(ctx, d.StormID)
		if errors.Is(err, cluster.ErrNotFound) {
			continue // being removed: keep what runs, launch nothing
		}
		if err != nil {
			l.readFailed(err)
			return
		}
		digests[d.StormID] = rec.PackageDigest
		owners[d.StormID] = rec.Owner
		secret, err := l.state.GetTopologySecret(ctx, d.StormID)
		if err != nil && !errors.Is(err, cluster.ErrNotFound) {
			l.readFailed(err)
			return
		}
		secrets[d.StormID] = secret
	}
	if p := strings.Join(problems, "; "); p != l.problems {
		l.problems = p
		for _, p := range problems {
			l.log.Error("assignment not run", "problem", p)
		}
	}
	l.desired, l.digests, l.secrets, l.owners, l.haveDesired = desired, digests, secrets, owners, true
	l.readOK = true
	for _, d := range desired {
		if _, ok := digests[d.StormID]; !ok || secrets[d.StormID] == nil {
			l.readOK = false
		}
	}
}

func (l *loop) readFailed(err error) {
	if l.ctx.Err() == nil {
		l.log.Warn("reading assignments", "err", err)
	}
}

// checkHealth reads every worker's heartbeat, polls adopted workers'
// processes, and stops the workers that failed.
func (l *loop) checkHealth(now time.Time) {
	for _, w := range l.sortedWorkers() {
		if w.stopping {
			continue
		}
		if w.proc == nil && !w.pid.alive() {
			l.exited(w, now, "process gone")
			continue
		}
		hb, err := readHeartbeat(w.dir)
		if err != nil {
			l.log.Debug("reading heartbeat", l.attrs(w, "err", err)...)
		}
		if hb != nil {
			w.beat = hb.Time
			if hb.Ready && !w.ready {
				w.ready = true
				l.log.Info("worker ready", l.attrs(w, "after", now.Sub(w.meta.LaunchedAt).Round(time.Millisecond))...)
			}
		}
		switch v := judge(w.meta.LaunchedAt, hb, now, l.cfg.WorkerStartTimeout, l.cfg.WorkerTimeout); v {
		case neverStarted, timedOut:
			l.failed(w, now, v.String())
			l.stop(w, v.String())
		}
	}
}

// handle applies an event from one of the loop's goroutines.
func (l *loop) handle(ev any) {
	now := time.Now()
	switch ev := ev.(type) {
	case exitedEvent:
		w := l.workers[ev.id]
		if w == nil || w.stopping {
			return
		}
		if ev.status.Success() {
			// A worker exits cleanly on its own when it sees its
			// assignment change, maybe before the supervisor does: not a
			// failure if the assignments say so.
			l.readAssignments()
			if d, ok := l.desired[w.meta.Port]; !ok || !d.runs(w.meta) {
				l.log.Info("worker exited after its assignment changed", l.attrs(w)...)
				l.stop(w, "exited")
				return
			}
		}
		l.exited(w, now, ev.status.String())
	case stoppedEvent:
		w := l.workers[ev.id]
		if w == nil {
			return
		}
		delete(l.workers, ev.id)
		if len(ev.killed) > 0 {
			l.log.Warn("killed processes the worker left behind", l.attrs(w, "pids", ev.killed)...)
		}
		l.log.Info("worker stopped", l.attrs(w)...)
	case downloadedEvent:
		delete(l.downloads, ev.stormID)
		l.downloaded(ev, now)
	}
}

// exited handles a worker that ended on its own.
func (l *loop) exited(w *worker, now time.Time, how string) {
	l.log.Warn("worker exited", l.attrs(w, "status", how, "log_tail", workerLogTail(l.cfg.LocalDir, w.meta.StormID, w.meta.Port, w.meta.LaunchedAt))...)
	l.failed(w, now, "exited: "+how)
	l.stop(w, "exited")
}

// failed counts a failure of w's slot and says when it restarts.
func (l *loop) failed(w *worker, now time.Time, reason string) {
	key := metaKey(w.meta)
	r := l.restarts[key]
	if r == nil {
		r = l.newRestartTracker()
		l.restarts[key] = r
	}
	delay := r.failed(now, now.Sub(w.meta.LaunchedAt))
	l.log.Warn("worker failed", l.attrs(w, "reason", reason, "restarts", r.failures(), "restart_in", delay)...)
}

// reconcile converges on the assignments last read: it stops the workers
// not assigned, launches the missing ones whose package is here and whose
// port is free, starts downloads, and removes packages no longer needed.
func (l *loop) reconcile(now time.Time) {
	if !l.haveDesired {
		return
	}
	kept := make(map[int]bool)
	for _, w := range l.sortedWorkers() {
		if w.stopping {
			continue
		}
		d, assigned := l.desired[w.meta.Port]
		switch {
		case !assigned:
			l.stop(w, "not assigned")
		case !d.runs(w.meta):
			l.stop(w, "assignment changed")
		case kept[w.meta.Port]:
			l.stop(w, "another worker runs this slot")
		case w.adopted && !w.verified && l.lacksZooKeeperCredential(w):
			l.stop(w, "started without its topology's zookeeper credential")
		default:
			kept[w.meta.Port] = true
			if w.adopted && !w.verified {
				w.verified = true
				l.log.Info("adopted worker", l.attrs(w)...)
			}
		}
	}
	for _, port := range slices.Sorted(maps.Keys(l.desired)) {
		d := l.desired[port]
		if kept[port] || l.portBusy(port) {
			continue
		}
		if !l.packageReady(d.StormID) {
			l.download(d.StormID, now)
			continue
		}
		if r := l.restarts[d.key()]; r != nil && !r.due(now) {
			continue
		}
		l.launch(d, now)
	}
	for key := range l.restarts {
		if d, ok := l.desired[key.port]; !ok || d.key() != key {
			delete(l.restarts, key)
		}
	}
	l.removeUnusedPackages()
}

// portBusy reports whether a worker process, running or being stopped,
// holds port.
func (l *loop) portBusy(port int) bool {
	for _, w := range l.workers {
		if w.meta.Port == port {
			return true
		}
	}
	return false
}

func (l *loop) packageReady(stormID string) bool {
	want, known := l.digests[stormID]
	have, here := l.dists[stormID]
	return known && here && have == want
}

// removeUnusedPackages removes the packages of topologies neither assigned
// here nor run by a worker still here.
func (l *loop) removeUnusedPackages() {
	used := make(map[string]bool)
	for _, d := range l.desired {
		used[d.StormID] = true
	}
	for _, w := range l.workers {
		used[w.meta.StormID] = true
	}
	for id := range l.dists {
		if used[id] || l.downloads[id] {
			continue
		}
		if err := os.RemoveAll(layout.StormDist(l.cfg.LocalDir, id)); err != nil {
			l.log.Warn("removing package", "topology", id, "err", err)
			continue
		}
		delete(l.dists, id)
		l.log.Info("removed package", "topology", id)
	}
	for id := range l.refused {
		if !used[id] {
			delete(l.refused, id)
		}
	}
	for id := range l.dlBackoff {
		if !used[id] {
			delete(l.dlBackoff, id)
		}
	}
}

// pruneLogs removes old logs of slots this node no longer runs, once per
// LogCleanupInterval.
func (l *loop) pruneLogs(now time.Time) {
	if now.Sub(l.logsPruned) < l.cfg.LogCleanupInterval || !l.haveDesired {
		return
	}
	l.logsPruned = now
	live := func(stormID string, port int) bool {
		if d, ok := l.desired[port]; ok && d.StormID == stormID {
			return true
		}
		for _, w := range l.workers {
			if w.meta.StormID == stormID && w.meta.Port == port {
				return true
			}
		}
		return false
	}
	removed, err := pruneLogs(layout.LogsRoot(l.cfg.LocalDir), live, now, logLimits{
		maxAge: l.cfg.LogMaxAge, maxPerWorker: l.cfg.LogMaxPerWorkerBytes, maxTotal: l.cfg.LogMaxBytes})
	for _, dir := range removed {
		l.log.Info("removed old worker log", "dir", dir)
	}
	if err != nil {
		l.log.Warn("removing old worker logs", "err", err)
	}
	l.pruneEnvs(now)
}

// nextWake returns when the loop must next run for a restart or a download
// retry falling due, if ever.
func (l *loop) nextWake(now time.Time) (time.Time, bool) {
	var next time.Time
	consider := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, r := range l.restarts {
		consider(r.notBefore)
	}
	for _, r := range l.dlBackoff {
		consider(r.notBefore)
	}
	return next, !next.IsZero()
}

// register writes the node's registration when it changed, or always if
// refresh is set (its Time says the supervisor is alive).
func (l *loop) register(refresh bool) {
	var used []int
	for _, w := range l.workers {
		if w.meta.Port > 0 {
			used = append(used, w.meta.Port)
		}
	}
	slices.Sort(used)
	used = slices.Compact(used)
	if l.registered && !refresh && slices.Equal(used, l.usedPorts) {
		return
	}
	info := cluster.SupervisorInfo{
		ID:        l.nodeID,
		Host:      l.cfg.Host,
		Ports:     l.cfg.Ports,
		UsedPorts: used,
		StartTime: l.began,
		Time:      time.Now(),
		Version:   l.cfg.Version,
		Address:   l.s.LogViewerAddr(),
	}
	if err := l.state.RegisterSupervisor(l.ctx, info); err != nil {
		if l.ctx.Err() == nil {
			l.log.Warn("registering supervisor", "err", err)
		}
		return
	}
	l.usedPorts = used
	if !l.registered {
		l.registered = true
		l.log.Info("registered supervisor", "host", l.cfg.Host, "ports", l.cfg.Ports)
		close(l.s.ready)
	}
}

// publish makes the workers' status visible to Supervisor.Workers.
func (l *loop) publish() {
	out := make([]WorkerStatus, 0, len(l.workers))
	for _, w := range l.workers {
		st := WorkerStatus{
			WorkerID:      w.id,
			StormID:       w.meta.StormID,
			Port:          w.meta.Port,
			Pid:           w.pid.pid,
			State:         WorkerRunning,
			Adopted:       w.adopted,
			Ready:         w.ready,
			LaunchedAt:    w.meta.LaunchedAt,
			LastHeartbeat: w.beat,
		}
		switch {
		case w.stopping:
			st.State = WorkerStopping
		case w.beat.IsZero():
			st.State = WorkerStarting
		}
		if r := l.restarts[metaKey(w.meta)]; r != nil {
			st.Restarts = r.failures()
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b WorkerStatus) int {
		return cmp.Or(cmp.Compare(a.Port, b.Port), cmp.Compare(a.WorkerID, b.WorkerID))
	})
	l.s.publish(out)
}

// sortedWorkers returns the workers in a stable order: launch time, then
// id, so that of two workers on one port the older is kept.
func (l *loop) sortedWorkers() []*worker {
	ws := slices.Collect(maps.Values(l.workers))
	slices.SortFunc(ws, func(a, b *worker) int {
		return cmp.Or(a.meta.LaunchedAt.Compare(b.meta.LaunchedAt), cmp.Compare(a.id, b.id))
	})
	return ws
}

// attrs are the log attributes naming w, followed by more.
func (l *loop) attrs(w *worker, more ...any) []any {
	return append([]any{"topology", w.meta.StormID, "port", w.meta.Port, "worker", w.id, "pid", w.pid.pid}, more...)
}

// newRestartTracker spaces the retries of a worker launch or a download.
func (l *loop) newRestartTracker() *restartTracker {
	return newRestartTracker(backoff.Policy{Min: l.cfg.RestartBackoff, Max: l.cfg.MaxRestartBackoff})
}
