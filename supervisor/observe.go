package supervisor

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"

	"github.com/squallstream/squall/auth"
	"github.com/squallstream/squall/internal/layout"
	"github.com/squallstream/squall/logviewer"
	"github.com/squallstream/squall/metrics/prom"
)

// startLogViewer runs the node's logviewer (Config.LogViewer) until ctx
// ends: Storm's logviewer paths over the workers' logs, and /metrics with
// the supervisor's own health metrics and those of every worker it runs
// (workers serve theirs on loopback only). It returns once the server
// listens, with a function that waits for it to stop; its address is
// published in the node's registration.
func (s *Supervisor) startLogViewer(ctx context.Context) (wait func() error, err error) {
	cfg := *s.cfg.LogViewer
	if cfg.LogRoot == "" {
		cfg.LogRoot = layout.LogsRoot(s.cfg.LocalDir)
	}
	if cfg.Logger == nil {
		cfg.Logger = s.log.With("daemon", "logviewer")
	}
	cfg.Metrics = prom.Handler(s.gatherer())
	if a := s.cfg.LogViewerAuth; a != nil {
		pol := a.Policy
		pol.Enforce = a.Authenticator.Enabled()
		cfg.Authorize = logviewer.AuthorizeWith(a.Authenticator, pol, s.topologyACL)
	}

	srv, err := logviewer.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("logviewer: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	select {
	case <-srv.Ready():
	case err := <-done:
		return nil, err
	}
	var watching sync.WaitGroup
	if a := s.cfg.LogViewerAuth; a != nil && a.Tokens != nil {
		watching.Go(func() { a.Tokens.Watch(ctx, 5*time.Second, nil, cfg.Logger) })
	}
	s.mu.Lock()
	s.logViewerAddr = srv.Addr()
	s.mu.Unlock()
	return func() error {
		err := <-done
		watching.Wait()
		return err
	}, nil
}

// LogViewerAddr returns where the node serves its logs and /metrics, ""
// if it does not (or not yet).
func (s *Supervisor) LogViewerAddr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logViewerAddr
}

// gatherer gathers the supervisor's health metrics and, at each scrape,
// those of the workers whose heartbeat file gives a /metrics address. A
// worker that does not answer is left out of the scrape.
func (s *Supervisor) gatherer() prometheus.Gatherer {
	own := prometheus.NewRegistry()
	own.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "squall_supervisor_slots", Help: "Worker slots (ports) the node offers."},
			func() float64 { return float64(len(s.cfg.Ports)) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "squall_supervisor_slots_used", Help: "Worker slots running a worker."},
			func() float64 { return float64(len(s.Workers())) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "squall_supervisor_worker_restarts", Help: "Consecutive restarts of the node's workers, summed."},
			func() float64 {
				n := 0
				for _, w := range s.Workers() {
					n += w.Restarts
				}
				return float64(n)
			}),
	)
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		gs := prometheus.Gatherers{own}
		for _, w := range s.Workers() {
			hb, err := readHeartbeat(layout.WorkerDir(s.cfg.LocalDir, w.WorkerID))
			if err != nil || hb == nil || hb.MetricsAddr == "" || !auth.IsLoopback(hb.MetricsAddr) {
				// A worker serves /metrics on loopback; its heartbeat
				// (its user's file) must not send the scrape elsewhere.
				continue
			}
			gs = append(gs, prom.Remote{URL: "http://" + hb.MetricsAddr + "/metrics"})
		}
		return gs.Gather()
	})
}
