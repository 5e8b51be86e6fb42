package worker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/squallstream/squall/metrics"
	"github.com/squallstream/squall/shell"
	"github.com/squallstream/squall/state/checkpoint"
	"github.com/squallstream/squall/topology"
)

// Config configures a Worker.
type Config struct {
	// Topology is the validated topology to run.
	Topology *topology.Topology
	// Conf is the cluster's configuration (defaults, storm.yaml, -c
	// overrides); the topology's own configuration is laid over it.
	Conf topology.Config
	// StormID is the running topology's id (name-counter-epochsecs).
	StormID string
	// Executors are the executors this worker runs; nil means all of them
	// (local mode).
	Executors []topology.Executor
	// ResourcesDir is the unpacked resources/ directory: shell components
	// run there.
	ResourcesDir string
	// PidDir is where shell children record their pids; made if missing.
	// Empty: Run makes a temporary one and removes it when it returns.
	PidDir string
	// Shell tunes shell components (e.g. the adapters' environment).
	Shell shell.Options
	// Inactive starts the topology deactivated.
	Inactive bool
	// Logger receives the worker's and its tasks' logs.
	Logger *slog.Logger
	// OnError, if set, receives every error a component reports that is
	// not throttled.
	OnError func(ErrorReport)
	// RemoteTasks gives, for every task of the topology that runs in
	// another worker, that worker's address (host:port).
	RemoteTasks map[int]string
	// Listener, if set, accepts connections from the topology's other
	// workers; the worker closes it when it stops.
	Listener net.Listener
	// PeerSecret is the topology's worker secret: every connection
	// between its workers starts with auth's HMAC handshake on it, so
	// nobody without it can send this worker a tuple. Required with a
	// Listener or RemoteTasks.
	PeerSecret []byte
	// PeerServerTLS and PeerClientTLS, if set, wrap the connections
	// between workers in TLS (storm.messaging.netty.tls.*), accepted and
	// dialed; the handshake is then bound to the TLS session.
	PeerServerTLS, PeerClientTLS *tls.Config
	// Events receives the tuples sampled while debug is on (Storm's event
	// logger, SetDebug); nil: Logger.
	Events *slog.Logger
}

// Worker runs executors of one topology. Create it with New, run it with
// Run. Activate, Deactivate, Stats and Errors are safe for concurrent use.
type Worker struct {
	cfg   Config
	topo  *topology.Topology
	tasks *topology.TaskMap
	conf  topology.Config
	log   *slog.Logger
	// tmpPidDir is the pid directory Run made, when given none.
	tmpPidDir string

	// ackerTasks are the __acker tasks; ackers is their number, 0 when
	// acking is disabled.
	ackerTasks []int
	ackers     int
	// routing holds, by task id, the queues messages for the task go to:
	// its executor's inbox, or the lanes of the peer worker running it. It
	// is replaced whole when peers change.
	routing atomic.Pointer[[]route]
	// local holds the inbox of each task of this worker, nil for others.
	local []*queue
	recv  *receiver
	// peersMu guards peers and running: the peers in use, keyed by
	// address, and whether their goroutines have been started.
	peersMu sync.Mutex
	peers   map[string]*peer
	running bool
	// started is closed once every task started.
	started chan struct{}
	// streamIndex numbers every (component, stream) pair, the tick stream
	// last; streams describes each by its number.
	streamIndex map[[2]string]int
	streams     []streamInfo
	numStreams  int
	tickSource  *topology.Source

	spouts []*spoutExecutor
	bolts  []*boltExecutor
	ackerX []*ackerExecutor

	active atomic.Bool
	// activationMu guards activation, which is closed, and replaced, when
	// active changes: parked spout executors wake.
	activationMu sync.Mutex
	activation   chan struct{}
	// boltWait and backpressure are the wait strategies of the worker's
	// own consumers and producers (ackers, transfer); executors have
	// their component's.
	boltWait, backpressure waitStrategy
	timedOut               atomic.Int64
	errors                 *errorLog
	startTime              time.Time
	// localAckers are the indexes in ackerTasks of the ackers running in
	// this worker.
	localAckers []uint64
	// writeTimeout bounds every write to another worker.
	writeTimeout time.Duration
	// metrics holds every task's built-in and user metrics.
	metrics *metrics.Registry
	// backlogs holds, by task id, the bolts that hold tuples of their own
	// (taskLoad), indexed once by backlogsOnce.
	backlogsOnce sync.Once
	backlogs     []backlogger
	// events writes what tasks emit while debug is on; debugMu guards
	// debugOpts, the options SetDebug set.
	events    *eventLog
	debugMu   sync.Mutex
	debugOpts map[string]DebugOption
	// checkpoints configures the checkpointing of a stateful topology;
	// providers are its state backends (stateprovider.go).
	checkpoints checkpoint.Config
	providers   stateProviders
	// exactlyOnce is set in exactly-once topologies: tuples carry
	// lineages (lineage.go).
	exactlyOnce bool

	// barrierLanes holds, in a stateful topology, each local bolt task's
	// lane for the checkpoint spout's barriers (barrierlane.go).
	barrierLanes []*queue
}

// New validates cfg and builds the worker's executors and tasks. It
// starts nothing.
func New(cfg Config) (*Worker, error) {
	if cfg.Topology == nil {
		return nil, errors.New("worker: no topology")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	topo := cfg.Topology
	conf := topology.Defaults().Merge(cfg.Conf).Merge(topo.Config).Merge(topology.Config{
		topology.KeyTopologyName: topo.Name,
		topology.KeyStormID:      cfg.StormID,
	})
	if err := topology.CheckConfig(conf); err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	maxUser, err := metrics.MaxUserMetricsFrom(conf)
	if err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	ackers, set := conf.IntOK(topology.KeyAckerExecutors)
	if !set {
		ackers = conf.Int(topology.KeyWorkers, 1)
	}
	ackers = max(ackers, 0)
	boltWait, err := newWaitStrategy(conf, topology.WaitBolt)
	if err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	backpressure, err := newWaitStrategy(conf, topology.WaitBackpressure)
	if err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	w := &Worker{
		cfg:        cfg,
		topo:       topo,
		tasks:      topology.TopologyTasks(topo, ackers),
		conf:       conf,
		log:        cfg.Logger.With("topology", cfg.StormID),
		ackers:     ackers,
		activation: make(chan struct{}),
		errors:     newErrorLog(conf, cfg.OnError),
		started:    make(chan struct{}),

		writeTimeout: peerWriteTimeout,
		metrics:      metrics.NewRegistry(metrics.Config{Topology: cfg.StormID, MaxUserMetrics: maxUser, Logger: cfg.Logger.With("topology", cfg.StormID)}, time.Now()),
		boltWait:     boltWait,
		backpressure: backpressure,
	}
	w.ackerTasks = w.tasks.Tasks(topology.AckerComponent)
	if topo.Stateful() {
		if w.checkpoints, err = w.checkStateConfig(); err != nil {
			return nil, fmt.Errorf("worker: %w", err)
		}
		w.providers.embeddedPath = w.embeddedStatePath()
		w.exactlyOnce = w.checkpoints.ExactlyOnce
	}
	w.local = make([]*queue, w.tasks.NumTasks()+1)
	w.indexStreams()
	w.active.Store(!cfg.Inactive)
	if w.cfg.PidDir != "" {
		if err := os.MkdirAll(w.cfg.PidDir, 0o755); err != nil {
			return nil, fmt.Errorf("worker: %w", err)
		}
	}

	executors := cfg.Executors
	if executors == nil {
		executors = w.tasks.Executors(topo.Parallelism())
	}
	for _, ex := range executors {
		if ex.Component == topology.AckerComponent {
			w.ackerX = append(w.ackerX, w.newAckerExecutor(ex))
			continue
		}
		comp := topo.Component(ex.Component)
		if comp == nil {
			return nil, fmt.Errorf("worker: executor %v of an unknown component", ex)
		}
		var err error
		if comp.Kind == topology.KindSpout {
			var x *spoutExecutor
			if x, err = w.newSpoutExecutor(comp, ex); err == nil {
				w.spouts = append(w.spouts, x)
			}
		} else {
			var x *boltExecutor
			if x, err = w.newBoltExecutor(comp, ex); err == nil {
				w.bolts = append(w.bolts, x)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("worker: %w", err)
		}
	}
	routing := make([]route, len(w.local))
	w.peers = map[string]*peer{}
	for task := 1; task <= w.tasks.NumTasks(); task++ {
		if q := w.local[task]; q != nil {
			routing[task] = route{data: q, ctl: q}
			continue
		}
		addr, ok := cfg.RemoteTasks[task]
		if !ok {
			return nil, fmt.Errorf("worker: task %d (%s) runs neither in this worker nor in a known other one",
				task, w.tasks.Component(task))
		}
		p := w.peers[addr]
		if p == nil {
			p = w.newPeer(addr)
			w.peers[addr] = p
		}
		routing[task] = route{data: p.data, ctl: p.ctl}
	}
	w.routing.Store(&routing)
	for i, task := range w.ackerTasks {
		if w.isLocal(task) {
			w.localAckers = append(w.localAckers, uint64(i))
		}
	}
	if len(w.peers) > 0 && cfg.Listener == nil {
		return nil, errors.New("worker: tasks run in other workers, but there is no listener for them to send to")
	}
	if (len(w.peers) > 0 || cfg.Listener != nil) && len(cfg.PeerSecret) == 0 {
		return nil, errors.New("worker: connections between workers need the topology's secret (Config.PeerSecret)")
	}
	if cfg.Listener != nil {
		w.recv = w.newReceiver(cfg.Listener)
	}
	w.startEvents()
	return w, nil
}

// streamInfo describes a numbered stream.
type streamInfo struct {
	component, stream string
	fields            *topology.Fields
}

func (w *Worker) addLocal(task int, q *queue) { w.local[task] = q }

// route is where messages for one task go. For a task of this worker both
// are its executor's inbox; for a task of another worker they are the two
// lanes to that worker, so that control never waits behind tuples.
type route struct {
	// data takes tuples, ctl everything else.
	data, ctl *queue
}

// route returns the queue for messages of kind k to task.
func (w *Worker) route(task int, k kind) *queue {
	r := &(*w.routing.Load())[task]
	if k.control() {
		return r.ctl
	}
	return r.data
}

// indexStreams numbers every (component, stream) pair for per-stream
// statistics, with the tick stream last.
func (w *Worker) indexStreams() {
	w.streamIndex = map[[2]string]int{}
	for _, c := range w.topo.Components {
		for _, s := range c.Outputs {
			w.streamIndex[[2]string{c.ID, s.ID}] = len(w.streams)
			w.streams = append(w.streams, streamInfo{c.ID, s.ID, topology.NewFields(s.Fields...)})
		}
	}
	tick := *topology.TickSource
	tick.StreamIndex = len(w.streams)
	w.streamIndex[[2]string{tick.Component, tick.Stream}] = tick.StreamIndex
	w.streams = append(w.streams, streamInfo{tick.Component, tick.Stream, tick.Fields})
	w.tickSource = &tick
	w.numStreams = len(w.streams)
}

func (w *Worker) componentConfig(c *topology.Component) topology.Config {
	if len(c.Config) == 0 {
		return w.conf
	}
	return w.conf.Merge(c.Config)
}

func (w *Worker) taskContext(c *topology.Component, task int) *topology.TaskContext {
	m := w.metrics.Task(c.ID, task)
	return &topology.TaskContext{
		RecordMetric: func(name string, params any) { _ = m.Record(name, params) },
		Topology:     w.topo,
		Tasks:        w.tasks,
		TaskID:       task,
		ComponentID:  c.ID,
		Config:       w.componentConfig(c),
		ResourcesDir: w.cfg.ResourcesDir,
		PidDir:       w.cfg.PidDir,
		Logger:       w.log.With("component", c.ID, "task", task),
	}
}

func (w *Worker) ackerFor(root uint64) int { return w.ackerTasks[root%uint64(len(w.ackerTasks))] }

// newRoot returns the id of a new tuple tree made from id, random and
// non-zero. When some ackers run in this worker the id picks one of them,
// so the tree's init and its completion never cross the network.
func (w *Worker) newRoot(id uint64) uint64 {
	local := uint64(len(w.localAckers))
	n := uint64(len(w.ackerTasks))
	if local == 0 || local == n {
		return id
	}
	want := w.localAckers[(id/n)%local]
	base := id - id%n
	if base > math.MaxUint64-n {
		base -= n
	}
	if base+want == 0 {
		return n
	}
	return base + want
}

// isLocal reports whether a task runs in this worker.
func (w *Worker) isLocal(task int) bool {
	return task > 0 && task < len(w.local) && w.local[task] != nil
}

// Activate and Deactivate switch the topology's spouts on and off.
func (w *Worker) Activate()   { w.setActive(true) }
func (w *Worker) Deactivate() { w.setActive(false) }

func (w *Worker) setActive(a bool) {
	w.activationMu.Lock()
	defer w.activationMu.Unlock()
	w.active.Store(a)
	close(w.activation)
	w.activation = make(chan struct{})
}

// activationChange returns a channel closed at the next Activate or
// Deactivate. Read it before active: a change in between closes it.
func (w *Worker) activationChange() <-chan struct{} {
	w.activationMu.Lock()
	defer w.activationMu.Unlock()
	return w.activation
}

// Tasks returns the topology's task assignment.
func (w *Worker) Tasks() *topology.TaskMap { return w.tasks }

// Conf returns the merged configuration the worker runs with.
func (w *Worker) Conf() topology.Config { return w.conf }

// stopGrace bounds each stage of a stop, beyond the shell children's own
// grace period (Config.Shell.StopGrace), which the stage must outlast.
const stopGrace = 10 * time.Second

// Run opens every task, runs the executors until ctx is done, then stops
// them in order: spouts deactivated and closed first, then bolts and
// ackers. It returns once everything it started has stopped, or with an
// error if a task failed to start or executors did not stop in time.
func (w *Worker) Run(ctx context.Context) error {
	w.startTime = time.Now()
	started, err := w.start()
	if err == nil {
		<-ctx.Done()
	}
	return errors.Join(err, w.shutdown(started))
}

// start opens spouts and prepares bolts, then starts every executor
// goroutine. On failure it returns what it started, to be stopped.
func (w *Worker) start() (startedExecutors, error) {
	var s startedExecutors
	if err := w.makePidDir(); err != nil {
		return s, err
	}
	w.peersMu.Lock()
	w.running = true
	for _, p := range w.peers {
		go p.run()
	}
	w.peersMu.Unlock()
	if w.recv != nil {
		go w.recv.serve()
	}
	w.events.start()
	for _, x := range w.ackerX {
		go x.run()
		s.ackers = append(s.ackers, x)
	}
	for _, x := range w.bolts {
		s.bolts = append(s.bolts, x) // Cleanup must run even if Prepare failed
		if err := x.prepare(); err != nil {
			x.cleanup()
			close(x.done)
			return s, err
		}
		go x.run()
		if x.tick > 0 {
			go x.sendTicks(w.tickSource)
		}
	}
	for _, x := range w.spouts {
		s.spouts = append(s.spouts, x)
		if err := x.open(); err != nil {
			x.closeTasks()
			close(x.done)
			return s, err
		}
		go x.run()
	}
	w.childMetrics()
	close(w.started)
	return s, nil
}

// makePidDir gives the tasks a pid directory of their own when the
// worker was given none. It is made here, not in New, so that a worker
// that never runs leaves nothing behind; shutdown removes it.
func (w *Worker) makePidDir() error {
	if w.cfg.PidDir != "" {
		return nil
	}
	dir, err := os.MkdirTemp("", "squall-pids-")
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	w.cfg.PidDir, w.tmpPidDir = dir, dir
	for _, x := range w.bolts {
		for _, t := range x.tasks {
			t.ctx.PidDir = dir
		}
	}
	for _, x := range w.spouts {
		for _, t := range x.tasks {
			t.ctx.PidDir = dir
		}
	}
	return nil
}

// Started is closed once every task of the worker opened or prepared.
func (w *Worker) Started() <-chan struct{} { return w.started }

// UpdateRemote points the tasks of other workers at new addresses, after
// a reassignment moved them: connections to new peers open, those to
// peers no longer used close (what waits for them is dropped and times
// out). Tasks of this worker cannot move.
func (w *Worker) UpdateRemote(remote map[int]string) error {
	w.peersMu.Lock()
	defer w.peersMu.Unlock()
	routing := make([]route, len(w.local))
	peers := map[string]*peer{}
	for task := 1; task < len(w.local); task++ {
		if q := w.local[task]; q != nil {
			routing[task] = route{data: q, ctl: q}
			continue
		}
		addr, ok := remote[task]
		if !ok {
			return fmt.Errorf("worker: task %d (%s) runs neither in this worker nor in a known other one", task, w.tasks.Component(task))
		}
		p := peers[addr]
		if p == nil {
			if p = w.peers[addr]; p == nil {
				p = w.newPeer(addr)
				if w.running {
					go p.run()
				}
			}
			peers[addr] = p
		}
		routing[task] = route{data: p.data, ctl: p.ctl}
	}
	if len(peers) > 0 && w.recv == nil {
		return errors.New("worker: tasks run in other workers, but there is no listener for them to send to")
	}
	w.routing.Store(&routing)
	for addr, p := range w.peers {
		if peers[addr] == nil {
			p.close()
		}
	}
	w.peers = peers
	return nil
}

type startedExecutors struct {
	spouts []*spoutExecutor
	bolts  []*boltExecutor
	ackers []*ackerExecutor
}

func (w *Worker) shutdown(s startedExecutors) error {
	stage := stopGrace + w.cfg.Shell.StopGrace
	var stuck []string
	wait := func(name string, done <-chan struct{}, deadline time.Time) {
		// Past the deadline, what was just told to stop still gets a moment.
		t := time.NewTimer(max(time.Until(deadline), 100*time.Millisecond))
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
			select {
			case <-done:
			default:
				stuck = append(stuck, name)
			}
		}
	}
	// Spouts first: deactivated and closed while bolts still drain the
	// queues their last emits may be blocked on. Shell tasks, bolts too,
	// stop their children now, all at once: a shell bolt then drains its
	// queue at once, even when its child never got ready.
	deadline := time.Now().Add(stage)
	for _, x := range s.spouts {
		closeOnce(x.stop)
		x.interrupt()
	}
	for _, x := range s.bolts {
		x.interrupt()
	}
	for _, x := range s.spouts {
		wait("spout "+x.comp.ID, x.done, deadline)
	}
	for _, q := range w.local {
		if q != nil {
			q.close()
		}
	}
	// Bolts stop emitting to other workers too: what is queued for them
	// still goes, a producer held back by a congested task returns.
	w.peersMu.Lock()
	for _, p := range w.peers {
		p.ctl.close()
		p.data.close()
	}
	w.peersMu.Unlock()
	deadline = time.Now().Add(stage)
	for _, x := range s.bolts {
		closeOnce(x.stop)
	}
	for _, x := range s.bolts {
		wait("bolt "+x.comp.ID, x.done, deadline)
	}
	for _, x := range s.ackers {
		closeOnce(x.stop)
		wait("acker", x.done, deadline)
	}
	if w.recv != nil {
		w.recv.close()
	}
	w.peersMu.Lock()
	peers := w.peers
	w.peersMu.Unlock()
	for _, p := range peers {
		p.close()
		wait("peer "+p.addr, p.done, deadline)
	}
	w.events.stop()
	if err := w.providers.close(); err != nil {
		w.log.Error("close the state providers", "err", err)
	}
	w.removePidDir()
	if len(stuck) > 0 {
		return fmt.Errorf("worker: executors did not stop within %v: %v", stage, stuck)
	}
	return nil
}

// removePidDir removes the pid directory: the worker's own whatever it
// holds (the pid files of children that did not stop are no use to
// anyone once the worker is gone), a given one only when empty, for the
// supervisor reads what it holds.
func (w *Worker) removePidDir() {
	if w.tmpPidDir != "" {
		os.RemoveAll(w.tmpPidDir)
		return
	}
	if w.cfg.PidDir != "" {
		if entries, _ := os.ReadDir(w.cfg.PidDir); len(entries) == 0 {
			os.Remove(w.cfg.PidDir)
		}
	}
}

var closeMu sync.Mutex

func closeOnce(c chan struct{}) {
	closeMu.Lock()
	defer closeMu.Unlock()
	select {
	case <-c:
	default:
		close(c)
	}
}

// Stats returns cumulative statistics per component of this worker,
// sorted by component id.
func (w *Worker) Stats() []ComponentStats {
	byComp := map[string]*ComponentStats{}
	get := func(c *topology.Component) *ComponentStats {
		s := byComp[c.ID]
		if s == nil {
			s = &ComponentStats{Component: c.ID, Spout: c.Kind == topology.KindSpout, Streams: map[string]*StreamStats{}}
			byComp[c.ID] = s
		}
		return s
	}
	streamName := make([]string, w.numStreams)
	for k, i := range w.streamIndex {
		streamName[i] = k[0] + ":" + k[1]
	}
	addOut := func(s *ComponentStats, routes map[string]*streamOut) {
		for id, so := range routes {
			ss := s.Streams[id]
			if ss == nil {
				ss = &StreamStats{}
				s.Streams[id] = ss
			}
			ss.add(so.stats)
		}
	}
	for _, x := range w.spouts {
		s := get(x.comp)
		for _, t := range x.tasks {
			s.Tasks++
			addOut(s, t.out.routes)
		}
	}
	for _, x := range w.bolts {
		s := get(x.comp)
		s.BusyNanos += x.busy.Load()
		for _, t := range x.tasks {
			s.Tasks++
			addOut(s, t.out.routes)
			for i := range t.out.inputs {
				in := t.out.inputs[i].Load()
				if in == nil || in.executed.Value() == 0 && in.acked.Value() == 0 && in.failed.Value() == 0 {
					continue
				}
				ss := s.Streams[streamName[i]]
				if ss == nil {
					ss = &StreamStats{}
					s.Streams[streamName[i]] = ss
				}
				ss.add(in)
			}
		}
	}
	out := make([]ComponentStats, 0, len(byComp))
	for _, s := range byComp {
		s.Errors = w.errors.count(s.Component)
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b ComponentStats) int {
		switch {
		case a.Component < b.Component:
			return -1
		case a.Component > b.Component:
			return 1
		}
		return 0
	})
	return out
}

// TimedOut returns how many spout tuples timed out.
func (w *Worker) TimedOut() int64 { return w.timedOut.Load() }

// Health returns the health of every shell task, by task id.
func (w *Worker) Health() map[int]shell.Health {
	h := map[int]shell.Health{}
	for _, x := range w.spouts {
		for _, t := range x.tasks {
			if s, ok := t.spout.(healthReporter); ok {
				h[t.id] = s.Health()
			}
		}
	}
	for _, x := range w.bolts {
		for _, t := range x.tasks {
			if b, ok := t.bolt.(healthReporter); ok {
				h[t.id] = b.Health()
			}
		}
	}
	return h
}

// PidDir returns the directory where shell children record their pids:
// Config.PidDir, or once Started, the one Run made.
func (w *Worker) PidDir() string { return filepath.Clean(w.cfg.PidDir) }
