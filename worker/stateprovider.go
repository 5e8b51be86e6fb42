package worker

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/squallstream/squall/metrics"
	"github.com/squallstream/squall/shell"
	"github.com/squallstream/squall/state"
	"github.com/squallstream/squall/state/checkpoint"
	"github.com/squallstream/squall/state/provider"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/topology/builtin"
)

// stateProviders are the state backends of one worker process: one per
// distinct provider configuration (the topology's, and a component's own
// `state:` provider), opened at the first state a task opens and closed
// once every executor stopped.
type stateProviders struct {
	// embeddedPath is the file of the embedded backend.
	embeddedPath string

	mu sync.Mutex
	// byConfig holds the open providers, keyed by their configuration.
	byConfig map[string]*provider.Provider
	closed   bool
}

// embeddedStatePath is where the worker's embedded state lives:
// storm.local.dir/state/<topology>/worker-<port>.db, or local.db for a
// worker without a listener (local mode).
func (w *Worker) embeddedStatePath() string {
	name := "local.db"
	if l := w.cfg.Listener; l != nil {
		if a, ok := l.Addr().(*net.TCPAddr); ok {
			name = "worker-" + strconv.Itoa(a.Port) + ".db"
		}
	}
	dir := w.conf.String(topology.KeyLocalDir, "squall-local")
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return filepath.Join(dir, "state", w.topo.Name, name)
}

// openState opens the key-value state of a task of comp, in the provider
// its configuration names.
func (w *Worker) openState(comp *topology.Component, task int) (*state.State, error) {
	cfg, err := provider.ParseConfig(w.componentConfig(comp))
	if err != nil {
		return nil, err
	}
	p, err := w.providers.get(cfg)
	if err != nil {
		return nil, err
	}
	st, err := p.State(provider.Namespace(w.topo.Name, comp.ID, task))
	if err != nil {
		return nil, err
	}
	if p.Kind() != provider.Memory {
		// Reads of committed values served from memory on a hit (a Redis
		// read is a round trip), bounded as the child's cache is.
		st.CacheCommitted(w.componentConfig(comp).Int(shell.KeyStateCacheMaxKeys, state.DefaultCacheKeys), state.DefaultCacheBytes)
	}
	return st, nil
}

func (s *stateProviders) get(cfg provider.Config) (*provider.Provider, error) {
	key := fmt.Sprintf("%#v", cfg)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, state.ErrClosed
	}
	if p := s.byConfig[key]; p != nil {
		return p, nil
	}
	p, err := provider.New(cfg, provider.Options{EmbeddedPath: s.embeddedPath})
	if err != nil {
		return nil, err
	}
	if s.byConfig == nil {
		s.byConfig = map[string]*provider.Provider{}
	}
	s.byConfig[key] = p
	return p, nil
}

// close closes every provider; states opened on them fail afterwards.
func (s *stateProviders) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	var errs []error
	for _, p := range s.byConfig {
		errs = append(errs, p.Close())
	}
	s.byConfig = nil
	return errors.Join(errs...)
}

// checkStateConfig checks the checkpointing and provider keys of a
// stateful topology, as nimbus does at submission (local mode has no
// nimbus).
func (w *Worker) checkStateConfig() (checkpoint.Config, error) {
	cc, err := checkpoint.ParseConfig(w.conf)
	if err != nil {
		return cc, err
	}
	for _, c := range w.topo.Components {
		if c.Stateful {
			if _, err := provider.ParseConfig(w.componentConfig(c)); err != nil {
				return cc, fmt.Errorf("component %q: %w", c.ID, err)
			}
		}
	}
	return cc, nil
}

// checkpointSpout is the checkpoint spout of a task, which opens its state
// when the task opens, and publishes where the protocol is.
type checkpointSpout struct {
	w    *Worker
	comp *topology.Component
	task int
	*builtin.CheckpointSpout
	// phase and txid are the spout's transaction state, recovering whether
	// it recovers, for metrics and tests (the spout's executor writes them).
	phase      atomic.Value // checkpoint.Phase
	txid       atomic.Int64
	recovering atomic.Bool
	// hold, once set, lets the spout finish its transaction and start no
	// other (tests read the state at rest); holdMu orders it with Next.
	holdMu sync.Mutex
	hold   bool
	// txidGauge and committedGauge are the task's metrics.
	txidGauge, committedGauge *metrics.Gauge
	// lastTxidGauge and lastAtGauge are the last committed transaction
	// and when the spout saw it committed (unix ms; when it opened, if it
	// has not committed since): nimbus's checkpoint view. Written by
	// publish, on the spout's executor.
	lastTxidGauge, lastAtGauge *metrics.Gauge
	lastTxid                   int64
	lastSet                    bool
}

// Metrics of the checkpoint spout's task: its transaction id and whether
// the transaction is committed (1) or in progress (0).
const (
	MetricCheckpointTxid      = "checkpoint-txid"
	MetricCheckpointCommitted = "checkpoint-committed"
	// The last committed transaction id, and the unix time in ms at which
	// the spout saw it committed (or opened, if none committed since).
	MetricCheckpointLastTxid = "checkpoint-last-committed-txid"
	MetricCheckpointLastAt   = "checkpoint-last-committed-ms"
	// topology.state.checkpoint.interval.ms, for nimbus to tell a stall.
	MetricCheckpointIntervalMs = "checkpoint-interval-ms"
)

func (s *checkpointSpout) publish() {
	cur := s.CheckpointSpout.Current()
	s.phase.Store(cur.Phase)
	s.txid.Store(cur.Txid)
	s.recovering.Store(s.CheckpointSpout.Recovering())
	txid, resting := s.committed()
	if s.txidGauge != nil {
		s.txidGauge.Set(float64(txid))
	}
	if s.committedGauge != nil {
		s.committedGauge.Set(map[bool]float64{true: 1}[resting])
	}
	// Committed(n) is n committed; Preparing(n) and Committing(n) follow
	// Committed(n-1).
	last := cur.Txid
	if cur.Phase != checkpoint.Committed {
		last--
	}
	if !s.lastSet || last != s.lastTxid {
		s.lastSet, s.lastTxid = true, last
		if s.lastTxidGauge != nil {
			s.lastTxidGauge.Set(float64(last))
			s.lastAtGauge.Set(float64(time.Now().UnixMilli()))
		}
	}
}

// committed returns the last committed transaction, and whether the
// spout rests there (not recovering, nothing in progress).
func (s *checkpointSpout) committed() (txid int64, resting bool) {
	p, _ := s.phase.Load().(checkpoint.Phase)
	return s.txid.Load(), p == checkpoint.Committed && !s.recovering.Load()
}

func (s *checkpointSpout) Next() {
	s.holdMu.Lock()
	defer s.holdMu.Unlock()
	if _, resting := s.committed(); resting && s.hold {
		return
	}
	s.CheckpointSpout.Next()
	s.publish()
}

// holdAtRest makes the spout start no new transaction; once it returns,
// committed reports whether the one in progress, if any, is done.
func (s *checkpointSpout) holdAtRest() {
	s.holdMu.Lock()
	s.hold = true
	s.holdMu.Unlock()
}

func (s *checkpointSpout) Ack(id any) {
	s.CheckpointSpout.Ack(id)
	s.publish()
}

func (s *checkpointSpout) Fail(id any) {
	s.CheckpointSpout.Fail(id)
	s.publish()
}

func (s *checkpointSpout) Open(ctx *topology.TaskContext, out topology.SpoutCollector) error {
	st, err := s.w.openState(s.comp, s.task)
	if err != nil {
		return fmt.Errorf("checkpoint spout: %w", err)
	}
	s.CheckpointSpout = builtin.NewCheckpointSpout(st, s.w.checkpoints.Interval)
	if err := s.CheckpointSpout.Open(ctx, out); err != nil {
		return err
	}
	m := s.w.metrics.Task(s.comp.ID, s.task)
	s.txidGauge, _ = m.UserGauge(MetricCheckpointTxid)
	s.committedGauge, _ = m.UserGauge(MetricCheckpointCommitted)
	s.lastTxidGauge, _ = m.UserGauge(MetricCheckpointLastTxid)
	s.lastAtGauge, _ = m.UserGauge(MetricCheckpointLastAt)
	s.lastSet = false
	if g, err := m.UserGauge(MetricCheckpointIntervalMs); err == nil {
		g.Set(float64(s.w.checkpoints.Interval.Milliseconds()))
	}
	s.publish()
	return nil
}

func (s *checkpointSpout) Close() {
	if s.CheckpointSpout != nil {
		s.CheckpointSpout.Close()
	}
}
