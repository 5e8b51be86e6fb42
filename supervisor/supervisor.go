package supervisor

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/squallstream/squall/auth/runas"
	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/internal/buildinfo"
	"github.com/squallstream/squall/internal/layout"
)

// Supervisor is one node's agent. Create it with New and run it with Run;
// its other methods are safe for concurrent use.
type Supervisor struct {
	cfg   Config
	state cluster.State
	log   *slog.Logger
	ran   atomic.Bool
	ready chan struct{}

	// mu guards the fields below, written by Run's loop.
	mu      sync.Mutex
	nodeID  string
	workers []WorkerStatus
	// logViewerAddr is where the logviewer listens, "" without one.
	logViewerAddr string
}

// New checks cfg and returns a supervisor using state (its own session:
// the registration lives as long as it) for coordination. It starts
// nothing and touches no file.
func New(cfg Config, state cluster.State) (*Supervisor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if state == nil {
		return nil, fmt.Errorf("%w: nil cluster state", ErrInvalidConfig)
	}
	var err error
	if cfg.LocalDir, err = filepath.Abs(cfg.LocalDir); err != nil {
		return nil, fmt.Errorf("%w: LocalDir: %v", ErrInvalidConfig, err)
	}
	// Workers run in their own directory: a relative path would not
	// reach the binary from there.
	if strings.ContainsRune(cfg.WorkerBinary, filepath.Separator) {
		if cfg.WorkerBinary, err = filepath.Abs(cfg.WorkerBinary); err != nil {
			return nil, fmt.Errorf("%w: WorkerBinary: %v", ErrInvalidConfig, err)
		}
	}
	if cfg.RunAsUser.Enabled {
		if err := runas.CheckCanSwitch(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
		}
	}
	cfg.Ports = append([]int(nil), cfg.Ports...)
	cfg.WorkerArgs = append([]string(nil), cfg.WorkerArgs...)
	if cfg.Version == "" {
		cfg.Version = buildinfo.String()
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Supervisor{
		cfg:   cfg,
		state: state,
		log:   log.With("component", "supervisor"),
		ready: make(chan struct{}),
	}, nil
}

// Run runs the supervisor until ctx ends: it settles the node id, adopts or
// cleans up the workers found in the local directory, registers the node,
// and keeps the workers in line with the assignments. It returns nil once
// ctx ends, or an error if it cannot start or the cluster state is closed
// under it, and only after every goroutine it started has returned.
//
// Workers are left running when Run returns, as Storm's supervisor leaves
// them, for the next supervisor on the same local directory to adopt,
// unless Config.KillWorkersOnStop is set. While a worker it started runs,
// os/exec's reaper for it (one goroutine in procgroup) remains, so the
// worker is not left a zombie should it exit before this process does.
// Run may be called once.
func (s *Supervisor) Run(ctx context.Context) error {
	if !s.ran.CompareAndSwap(false, true) {
		return ErrRunning
	}
	nodeID, err := s.prepare()
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.nodeID = nodeID
	s.mu.Unlock()
	if s.cfg.LogViewer != nil {
		lvCtx, stopLogViewer := context.WithCancel(ctx)
		wait, err := s.startLogViewer(lvCtx)
		if err != nil {
			// As Storm's, the logviewer is a daemon of its own: the node
			// runs its workers without it.
			stopLogViewer()
			s.log.Error("logviewer not started: the node's logs and metrics are not served", "err", err)
			wait = func() error { return nil }
		}
		defer func() {
			stopLogViewer()
			if err := wait(); err != nil {
				s.log.Warn("logviewer stopped", "err", err)
			}
		}()
	}
	l := newLoop(ctx, s, nodeID)
	l.scan(time.Now())
	err = l.run()
	if s.cfg.KillWorkersOnStop {
		l.stopAll()
	}
	l.wg.Wait()
	l.closeConns()
	return err
}

// prepare makes the local directory and settles the node id.
func (s *Supervisor) prepare() (string, error) {
	dir := s.cfg.LocalDir
	for _, d := range []string{layout.StormDistRoot(dir), layout.WorkersRoot(dir)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return "", fmt.Errorf("supervisor local dir: %w", err)
		}
	}
	if s.cfg.RunAsUser.Enabled {
		if err := prepareRunAs(dir); err != nil {
			return "", err
		}
	}
	if s.cfg.NodeID != "" {
		return s.cfg.NodeID, nil
	}
	return loadNodeID(layout.NodeIDFile(dir))
}

// Ready is closed once the supervisor has registered its node for the
// first time.
func (s *Supervisor) Ready() <-chan struct{} { return s.ready }

// NodeID returns the node id, known once Run has started (when Ready is
// closed at the latest); empty before.
func (s *Supervisor) NodeID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nodeID
}

// Ports returns the worker ports the node offers.
func (s *Supervisor) Ports() []int { return append([]int(nil), s.cfg.Ports...) }

// LocalDir returns the absolute local directory.
func (s *Supervisor) LocalDir() string { return s.cfg.LocalDir }

// WorkerState is where a worker is in its life.
type WorkerState string

// Worker states.
const (
	// WorkerStarting: launched (or adopted), no heartbeat seen yet.
	WorkerStarting WorkerState = "starting"
	// WorkerRunning: heartbeating.
	WorkerRunning WorkerState = "running"
	// WorkerStopping: being stopped and cleaned up, its port still taken.
	WorkerStopping WorkerState = "stopping"
)

// WorkerStatus describes one worker process the supervisor manages.
type WorkerStatus struct {
	WorkerID string
	StormID  string
	Port     int
	// Pid is the worker's pid, also its process group id; 0 if unknown.
	Pid   int
	State WorkerState
	// Adopted is set for a worker a previous supervisor launched.
	Adopted bool
	// Ready is set once the worker's heartbeat said all its tasks started.
	Ready      bool
	LaunchedAt time.Time
	// LastHeartbeat is the time of its last heartbeat read, zero if none.
	LastHeartbeat time.Time
	// Restarts counts the consecutive failures of the worker of this slot
	// (exits, heartbeat timeouts) that led to a restart.
	Restarts int
}

// Workers returns the workers the supervisor manages, sorted by port and
// worker id: what its loop last published.
func (s *Supervisor) Workers() []WorkerStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]WorkerStatus(nil), s.workers...)
}

func (s *Supervisor) publish(ws []WorkerStatus) {
	s.mu.Lock()
	s.workers = ws
	s.mu.Unlock()
}

// loadNodeID reads the node id from path, or makes one and writes it there.
func loadNodeID(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if id := strings.TrimSpace(string(b)); id != "" {
			return id, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("node id: %w", err)
	}
	id := newID()
	if err := writeFileAtomic(path, []byte(id+"\n")); err != nil {
		return "", fmt.Errorf("node id: %w", err)
	}
	return id, nil
}

// newID returns a random UUID (version 4), as Storm names supervisors and
// workers.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// writeFileAtomic writes data to path through a temporary file and a
// rename.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
