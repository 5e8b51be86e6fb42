package workerd

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	"github.com/squallstream/squall/auth"
	"github.com/squallstream/squall/internal/layout"
	"github.com/squallstream/squall/internal/submission"
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

// ErrOutlineMismatch is returned by RunProcess when the topology's Go
// binary does not define the topology nimbus scheduled.
var ErrOutlineMismatch = errors.New("the Go binary does not define the submitted topology")

// checkOutline compares the topology this worker's binary loaded with the
// outline its submitter sent, which nimbus scheduled without running the
// binary: the components, their parallelism, streams and inputs must be
// the same. The configuration may differ (nimbus adds keys of its own).
func checkOutline(topo *topology.Topology, sent string) error {
	want, err := submission.ParseOutline([]byte(sent))
	if err != nil {
		return fmt.Errorf("%w: the submitted outline: %v", ErrOutlineMismatch, err)
	}
	data, err := json.Marshal(submission.NewOutline(topo))
	if err != nil {
		return err
	}
	got, err := submission.ParseOutline(data)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrOutlineMismatch, err)
	}
	if got.Name != want.Name {
		return fmt.Errorf("%w: it names the topology %q, the submission %q", ErrOutlineMismatch, got.Name, want.Name)
	}
	if !reflect.DeepEqual(got.Components, want.Components) {
		return fmt.Errorf("%w: its components %+v, the submission's %+v", ErrOutlineMismatch, got.Components, want.Components)
	}
	return nil
}
