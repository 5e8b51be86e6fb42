package workerd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/squallstream/squall/metrics"
	"github.com/squallstream/squall/metrics/prom"
	"github.com/squallstream/squall/topology"
)

// observe starts what exposes the worker's metrics: /metrics on a
// loopback port (the supervisor serves it to Prometheus on its own port,
// so a worker never listens elsewhere) and the console reporters of
// topology.metrics.reporters. It returns the /metrics address; what it
// started stops when ctx ends, and wg waits for it.
func (p *process) observe(ctx context.Context, wg *sync.WaitGroup, conf topology.Config) (string, error) {
	reporters, err := metrics.ParseReporters(conf)
	if err != nil {
		return "", err
	}
	perTask := true
	for _, r := range reporters {
		if r.Kind == metrics.ReporterPrometheus {
			perTask = r.PerTask
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		prom.NewCollector(p.w.Metrics(), prom.Options{Host: p.cfg.Host, Port: p.cfg.Port, PerTask: perTask}),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("listen for /metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", prom.Handler(reg))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	wg.Go(func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.log.Warn("serve /metrics", "err", err)
		}
	})
	wg.Go(func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	})
	for _, r := range reporters {
		if r.Kind != metrics.ReporterConsole {
			continue
		}
		c := metrics.NewConsoleReporter(p.w.Metrics(), r, p.cfg.Host, p.cfg.Port, p.log)
		wg.Go(func() { c.Run(ctx) })
	}
	return l.Addr().String(), nil
}
