package nimbus

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/squallstream/squall/metrics/prom"
)

// metricsHandler serves nimbus's own /metrics beside the REST API, on its
// port: whether this nimbus leads, how many topologies and supervisors the
// cluster state holds, and the Go runtime's and process's figures.
// Topologies' metrics are served by each node (the supervisors' /metrics).
func (n *Nimbus) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	count := func(list func(*view) (int, error)) func() float64 {
		return func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			v := n.newView(ctx)
			k, err := list(v)
			if err != nil {
				return -1
			}
			return float64(k)
		}
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "squall_nimbus_leader", Help: "1 while this nimbus leads."},
			func() float64 {
				if n.currentLeader() != nil {
					return 1
				}
				return 0
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "squall_zookeeper_connected", Help: "1 while the cluster state is reachable."},
			func() float64 {
				if n.stateReachable() {
					return 1
				}
				return 0
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "squall_nimbus_topologies", Help: "Topologies in the cluster state; -1 if it cannot be read."},
			count(func(v *view) (int, error) { ids, err := v.topologyIDs(); return len(ids), err })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "squall_nimbus_supervisors", Help: "Live supervisors; -1 if the cluster state cannot be read."},
			count(func(v *view) (int, error) { s, err := v.supervisors(); return len(s), err })),
	)
	return prom.Handler(reg)
}
