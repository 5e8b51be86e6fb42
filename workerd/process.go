package workerd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/squallstream/squall/adapters"
	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/internal/layout"
	"github.com/squallstream/squall/internal/submission"
	"github.com/squallstream/squall/shell"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/worker"
)

// ProcessConfig describes a worker process: one slot of one topology on
// one node, as a supervisor launches it (see package internal/layout for
// the files they share).
type ProcessConfig struct {
	StormID  string
	NodeID   string
	Port     int
	WorkerID string
	// LocalDir is storm.local.dir: the topology's package is unpacked under
	// it, and the worker's directory is there.
	LocalDir string
	// Conf is the cluster's configuration.
	Conf topology.Config
	// Registry resolves the topology's Go components.
	Registry *topology.Registry
	// State is the cluster state the assignment is read from.
	State cluster.State
	// Host is this node's name, reported with errors.
	Host   string
	Logger *slog.Logger
	// Level, if set, is the level of Logger's handler: the worker sets it
	// as the topology's log config says (Storm's set_log_level), and back
	// to the level it had at start when a setting ends.
	Level *slog.LevelVar
	// EventLog, if set, is the path of the worker's event log (Storm's
	// events.log), where the tuples sampled under debug go; otherwise
	// they go to Logger.
	EventLog string
}

// ErrReassigned is returned by RunProcess when the worker's slot no longer
// runs the executors it started with: its supervisor restarts or removes
// it.
var ErrReassigned = errors.New("the worker's assignment changed")

// RunProcess runs a worker process until ctx ends (SIGTERM) or its
// assignment changes. It reads the assignment and topology from the
// cluster state and the package, listens on its port for the other
// workers, keeps a heartbeat file for its supervisor and heartbeats with
// statistics in the cluster state for nimbus, reports component errors
// there, and follows activation and reassignment of the others.
func RunProcess(ctx context.Context, cfg ProcessConfig) error {
	log := cfg.Logger.With("topology", cfg.StormID, "port", cfg.Port)
	dist := layout.StormDist(cfg.LocalDir, cfg.StormID)
	data, err := os.ReadFile(layout.SubmissionFile(dist))
	if err != nil {
		return fmt.Errorf("read the topology package: %w", err)
	}
	var req api.SubmitTopologyRequest
	if err := protojson.Unmarshal(data, &req); err != nil {
		return fmt.Errorf("read %s: %w", layout.SubmissionFile(dist), err)
	}
	topo, err := submission.Load(&req, cfg.Registry, layout.ResourcesDir(dist))
	if err != nil {
		return fmt.Errorf("load topology %s: %w", cfg.StormID, err)
	}
	if sent := req.GetGoBinaryOutline(); sent != "" {
		if err := checkOutline(topo, sent); err != nil {
			return fmt.Errorf("topology %s: %w", cfg.StormID, err)
		}
	}
	rec, err := cfg.State.GetTopology(ctx, cfg.StormID)
	if err != nil {
		return fmt.Errorf("topology %s: %w", cfg.StormID, err)
	}
	asg, err := cfg.State.GetAssignment(ctx, cfg.StormID)
	if err != nil {
		return fmt.Errorf("assignment of %s: %w", cfg.StormID, err)
	}
	p, err := placement(topo, asg, cfg.NodeID, cfg.Port)
	if err != nil {
		return err
	}
	if len(p.mine) == 0 {
		return fmt.Errorf("%w: no executor of %s is assigned to %s:%d", ErrReassigned, cfg.StormID, cfg.NodeID, cfg.Port)
	}
	// The acker count comes from the assignment, so every worker numbers
	// tasks as nimbus did, whatever its local configuration says.
	topo.Config = topo.Config.Merge(topology.Config{topology.KeyAckerExecutors: p.ackers})
	env, err := adapters.Install(adaptersDir(cfg.LocalDir))
	if err != nil {
		return err
	}
	// The adapters' keys merged with this process's own values: the
	// children, and their dependency environments, keep the NODE_OPTIONS,
	// RUBYOPT and search paths squall runs with.
	childEnv := env.Over(os.Environ())
	if err := prepareDeps(ctx, cfg, topo, layout.ResourcesDir(dist), childEnv, log); err != nil {
		return err
	}
	workerDir := layout.WorkerDir(cfg.LocalDir, cfg.WorkerID)
	peers, err := peerSecurityOf(cfg.Conf, workerDir)
	if err != nil {
		return err
	}
	bind := cfg.Conf.String(KeyBindHost, DefaultBindHost)
	l, err := net.Listen("tcp", net.JoinHostPort(bind, strconv.Itoa(cfg.Port)))
	if err != nil {
		return fmt.Errorf("listen for the topology's other workers: %w", err)
	}
	var events *slog.Logger
	if cfg.EventLog != "" {
		el, closer, err := OpenEventLog(cfg.EventLog, cfg.Conf.Merge(topo.Config), cfg.StormID, cfg.Port)
		if err != nil {
			l.Close()
			return fmt.Errorf("event log: %w", err)
		}
		defer closer.Close()
		events = el
	}
	rep := &errorReporter{state: cfg.State, stormID: cfg.StormID, host: cfg.Host, port: cfg.Port, log: log,
		pending: make(chan worker.ErrorReport, 64)}
	w, err := worker.New(worker.Config{
		Topology:      topo,
		Conf:          cfg.Conf,
		StormID:       cfg.StormID,
		Executors:     p.mine,
		RemoteTasks:   p.remote,
		Listener:      l,
		PeerSecret:    peers.secret,
		PeerServerTLS: peers.server,
		PeerClientTLS: peers.client,
		ResourcesDir:  layout.ResourcesDir(dist),
		PidDir:        layout.PidDir(workerDir),
		Shell:         shell.Options{Env: childEnv},
		Inactive:      rec.Status != cluster.StatusActive,
		Logger:        cfg.Logger,
		OnError:       rep.report,
		Events:        events,
	})
	if err != nil {
		l.Close()
		return err
	}
	w.SetDebug(debugOptions(rec))
	log.Info("worker starting", "executors", len(p.mine), "peers", len(p.peerSlots()))

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	pr := &process{cfg: cfg, w: w, log: log, workerDir: workerDir, mine: p, started: time.Now(), version: asg.Version}
	var wg sync.WaitGroup
	if pr.metricsAddr, err = pr.observe(ctx, &wg, cfg.Conf.Merge(topo.Config)); err != nil {
		// The topology runs without: its metrics still reach nimbus.
		log.Warn("metrics exposition and reporters not started", "err", err)
	}
	wg.Go(func() { rep.run(ctx) })
	wg.Go(func() { pr.fileHeartbeats(ctx) })
	wg.Go(func() { pr.stateHeartbeats(ctx) })
	wg.Go(func() { pr.followTopology(ctx) })
	wg.Go(func() {
		if err := pr.followAssignment(ctx, topo); err != nil {
			cancel(err)
		}
	})
	runErr := w.Run(ctx)
	cancel(nil)
	wg.Wait()
	if cause := context.Cause(ctx); errors.Is(cause, ErrReassigned) {
		return errors.Join(cause, runErr)
	}
	return runErr
}

// slotPlacement is where a worker's topology runs: its own executors, the
// address of every other task, and the number of acker tasks.
type slotPlacement struct {
	mine      []topology.Executor
	executors []cluster.ExecutorID
	remote    map[int]string
	ackers    int
}

func (p slotPlacement) peerSlots() map[string]bool {
	peers := map[string]bool{}
	for _, addr := range p.remote {
		peers[addr] = true
	}
	return peers
}

// placement reads an assignment for the worker of node:port.
func placement(topo *topology.Topology, asg cluster.Assignment, node string, port int) (slotPlacement, error) {
	total, user := 0, 0
	for ex := range asg.Executors {
		total += ex.End - ex.Start + 1
	}
	for _, c := range topo.Components {
		user += c.NumTasks
	}
	p := slotPlacement{ackers: total - user, remote: map[int]string{}}
	if p.ackers < 0 {
		return p, fmt.Errorf("assignment of %s covers %d tasks, the topology has %d", asg.TopologyID, total, user)
	}
	tasks := topology.TopologyTasks(topo, p.ackers)
	if tasks.NumTasks() != total {
		return p, fmt.Errorf("assignment of %s covers %d tasks, the topology numbers %d", asg.TopologyID, total, tasks.NumTasks())
	}
	for ex, slot := range asg.Executors {
		comp := tasks.Component(ex.Start)
		if comp == "" || tasks.Component(ex.End) != comp {
			return p, fmt.Errorf("assignment of %s: executor [%d %d] is not a task range of one component", asg.TopologyID, ex.Start, ex.End)
		}
		if slot.NodeID == node && slot.Port == port {
			p.mine = append(p.mine, topology.Executor{Component: comp, Start: ex.Start, End: ex.End})
			p.executors = append(p.executors, ex)
			continue
		}
		host := asg.NodeHost[slot.NodeID]
		if host == "" {
			return p, fmt.Errorf("assignment of %s: no host for node %s", asg.TopologyID, slot.NodeID)
		}
		for t := ex.Start; t <= ex.End; t++ {
			p.remote[t] = net.JoinHostPort(host, strconv.Itoa(slot.Port))
		}
	}
	slices.SortFunc(p.mine, func(a, b topology.Executor) int { return a.Start - b.Start })
	slices.SortFunc(p.executors, func(a, b cluster.ExecutorID) int { return a.Start - b.Start })
	return p, nil
}

// process holds what a running worker process does besides running its
// executors.
type process struct {
	cfg       ProcessConfig
	w         *worker.Worker
	log       *slog.Logger
	workerDir string
	mine      slotPlacement
	started   time.Time
	version   int64
	// metricsAddr is where the worker serves /metrics, on loopback.
	metricsAddr string
}

// fileHeartbeats keeps the heartbeat file the supervisor watches fresh.
// A beat that would change nothing but the Time in it only sets the
// file's modification time, which the supervisor reads as the beat's
// time (a rewrite costs a new file, its data and a rename every second).
// The beats fall on the grid of onBeatGrid, and the statistics heartbeats
// of a worker past its youth on the same instants: one wake-up for both.
func (p *process) fileHeartbeats(ctx context.Context) {
	every := p.fileBeatEvery()
	timer := time.NewTimer(every)
	defer timer.Stop()
	path := layout.HeartbeatFile(p.workerDir)
	var written layout.Heartbeat // the content last written, its Time aside
	for {
		ready := false
		select {
		case <-p.w.Started():
			ready = true
		default:
		}
		now := time.Now()
		hb := layout.Heartbeat{StormID: p.cfg.StormID, Port: p.cfg.Port, Pid: os.Getpid(), Ready: ready,
			MetricsAddr: p.metricsAddr}
		if hb != written || os.Chtimes(path, now, now) != nil {
			written = layout.Heartbeat{}
			hb.Time = now
			if err := layout.WriteJSON(path, hb); err != nil {
				p.log.Warn("write heartbeat file", "err", err)
			} else {
				hb.Time = time.Time{}
				written = hb
			}
		}
		timer.Reset(time.Until(onBeatGrid(p.started, now.Add(every/2), every)))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-p.w.Started():
			if !ready {
				continue // tell the supervisor at once
			}
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		}
	}
}

// fileBeatEvery is worker.heartbeat.frequency.secs.
func (p *process) fileBeatEvery() time.Duration {
	return p.cfg.Conf.Seconds(topology.KeyWorkerHeartbeatFreqSecs, time.Second)
}

// onBeatGrid returns the first instant at or after t of the grid that
// starts at anchor and has a point every every.
func onBeatGrid(anchor, t time.Time, every time.Duration) time.Time {
	if every <= 0 || !t.After(anchor) {
		return t
	}
	k := (t.Sub(anchor) + every - 1) / every
	return anchor.Add(k * every)
}

// stateHeartbeats reports the worker's statistics to nimbus, more often
// while the worker is young (statsEvery).
func (p *process) stateHeartbeats(ctx context.Context) {
	every := p.cfg.Conf.Seconds(topology.KeyTaskHeartbeatFreqSecs, 3*time.Second)
	timer := time.NewTimer(0)
	defer timer.Stop()
	warned := false
	for {
		now := time.Now()
		stats, dropped := capStats(p.w.ExecutorSnapshots(now), MaxHeartbeatStatsBytes)
		if dropped != "" && !warned {
			warned = true
			p.log.Warn("heartbeat stats too large: left out of heartbeats, still in /metrics", "left_out", dropped, "limit_bytes", MaxHeartbeatStatsBytes)
		}
		hb := cluster.WorkerHeartbeat{
			TopologyID:    p.cfg.StormID,
			NodeID:        p.cfg.NodeID,
			Port:          p.cfg.Port,
			Executors:     p.mine.executors,
			Time:          now,
			UptimeSecs:    int64(now.Sub(p.started).Seconds()),
			ExecutorStats: stats,
		}
		if err := p.cfg.State.PutWorkerHeartbeat(ctx, hb); err != nil && ctx.Err() == nil {
			p.log.Warn("write worker heartbeat", "err", err)
		}
		wait := statsEvery(time.Since(p.started), every)
		if file := p.fileBeatEvery(); wait >= file {
			// On a file heartbeat's instant, which wakes the process anyway.
			wait = time.Until(onBeatGrid(p.started, now.Add(wait-file/2), file))
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
	}
}

// followTopology activates and deactivates the spouts as the topology's
// status changes.
func (p *process) followTopology(ctx context.Context) {
	levels := newLevelFollower(p.cfg.Level, p.log)
	defer levels.stop()
	for range p.cfg.State.WatchTopology(ctx, p.cfg.StormID) {
		rec, err := p.cfg.State.GetTopology(ctx, p.cfg.StormID)
		if err == nil {
			levels.follow(rec.LogConfig)
			p.w.SetDebug(debugOptions(rec))
		}
		switch {
		case errors.Is(err, cluster.ErrNotFound):
			p.w.Deactivate() // removed: the supervisor stops this worker
		case err != nil:
			if ctx.Err() == nil {
				p.log.Warn("read topology status", "err", err)
			}
		case rec.Status == cluster.StatusActive:
			p.w.Activate()
		default:
			p.w.Deactivate()
		}
	}
}

// followAssignment points the worker at moved peers and returns
// ErrReassigned when its own executors change.
func (p *process) followAssignment(ctx context.Context, topo *topology.Topology) error {
	for range p.cfg.State.WatchAssignment(ctx, p.cfg.StormID) {
		asg, err := p.cfg.State.GetAssignment(ctx, p.cfg.StormID)
		if errors.Is(err, cluster.ErrNotFound) {
			return fmt.Errorf("%w: the topology has no assignment any more", ErrReassigned)
		}
		if err != nil {
			if ctx.Err() == nil {
				p.log.Warn("read assignment", "err", err)
			}
			continue
		}
		if asg.Version == p.version {
			continue
		}
		np, err := placement(topo, asg, p.cfg.NodeID, p.cfg.Port)
		if err != nil {
			p.log.Error("unusable assignment", "err", err)
			continue
		}
		if !slices.Equal(np.mine, p.mine.mine) {
			return fmt.Errorf("%w: executors %v became %v", ErrReassigned, p.mine.mine, np.mine)
		}
		if err := p.w.UpdateRemote(np.remote); err != nil {
			p.log.Error("follow reassignment", "err", err)
			continue
		}
		p.version = asg.Version
		p.log.Info("peers reassigned", "version", asg.Version)
	}
	return nil
}

// errorReporter records component errors in the cluster state, where the
// API and CLI read them, from its own goroutine so that a component never
// waits on ZooKeeper. Errors are already throttled per task; if even so
// they come faster than ZooKeeper takes them, the excess is only logged.
type errorReporter struct {
	state   cluster.State
	stormID string
	host    string
	port    int
	log     *slog.Logger
	pending chan worker.ErrorReport
}

func (r *errorReporter) report(e worker.ErrorReport) {
	select {
	case r.pending <- e:
	default:
		r.log.Warn("too many component errors to record", "component", e.Component, "err", e.Err)
	}
}

func (r *errorReporter) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-r.pending:
			info := cluster.ErrorInfo{Component: e.Component, Task: e.Task, Host: r.host, Port: r.port, Time: e.Time, Message: e.Err.Error()}
			if err := r.state.ReportError(ctx, r.stormID, info); err != nil && ctx.Err() == nil {
				r.log.Warn("record component error", "err", err)
			}
		}
	}
}
