package workerd

import (
	"crypto/tls"
	"fmt"

	"github.com/squallstream/squall/auth"
	"github.com/squallstream/squall/internal/layout"
	"github.com/squallstream/squall/topology"
)

// KeyBindHost (squall) is the address a worker listens on for the
// topology's other workers. Every connection must pass the HMAC handshake
// on the topology's secret, so another address exposes nothing to whoever
// lacks it; a cluster of several nodes sets it (0.0.0.0, or the node's
// address) so that workers on other nodes can connect.
const KeyBindHost = "worker.bind.host"

// DefaultBindHost is where a worker listens unless configured: loopback.
const DefaultBindHost = "127.0.0.1"

// peerSecurity is what authenticates a worker to the topology's others.
type peerSecurity struct {
	secret         []byte
	server, client *tls.Config // nil: plain TCP
}

// peerSecurityOf reads the topology's secret, which the supervisor wrote
// into the worker's directory (layout.SecretFile), and the TLS between
// workers (storm.messaging.netty.tls.*).
func peerSecurityOf(conf topology.Config, workerDir string) (peerSecurity, error) {
	var p peerSecurity
	var err error
	if p.secret, err = auth.ReadTopologySecret(layout.SecretFile(workerDir)); err != nil {
		return p, fmt.Errorf("worker: %w", err)
	}
	pt, on, err := auth.WorkerTLSFromConfig(conf)
	if err != nil {
		return p, fmt.Errorf("worker: %w", err)
	}
	if !on {
		return p, nil
	}
	if p.server, err = pt.ServerConfig(); err != nil {
		return p, fmt.Errorf("worker: TLS: %w", err)
	}
	if p.client, err = pt.ClientConfig(); err != nil {
		return p, fmt.Errorf("worker: TLS: %w", err)
	}
	return p, nil
}
