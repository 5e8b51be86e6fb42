package nimbus

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/tap"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/squallstream/squall/auth"
	"github.com/squallstream/squall/auth/zkacl"
	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/internal/backoff"
	"github.com/squallstream/squall/topology"
)

// tokenReloadEvery is how often nimbus looks for a changed token file.
const tokenReloadEvery = 5 * time.Second

// security is what Run builds from Config.Security: the Guard every RPC
// passes, the TLS configurations of both APIs, and what must be closed.
type security struct {
	guard    *auth.Guard
	tokens   *auth.TokenStore // nil without a token file
	grpcTLS  *tls.Config      // nil: plain TCP
	restTLS  *tls.Config
	auditLog io.Closer // nil: the audit goes to the daemon log
}

// checkExposure refuses to listen where anyone could reach an API that
// does not authenticate its callers (see auth.CheckExposure); with
// Config.Insecure it logs what it exposes instead.
func (n *Nimbus) checkExposure() error {
	s := n.cfg.Security
	for _, l := range []struct {
		what, addr string
		tlsOn      bool
	}{
		{"nimbus gRPC", n.cfg.GRPCAddr, s.GRPC.Enabled()},
		{"nimbus REST", n.cfg.HTTPAddr, s.REST.Enabled()},
	} {
		if l.addr == "" {
			continue
		}
		if err := auth.CheckExposure(l.what, l.addr, s.AuthenticationEnabled(), l.tlsOn, false); err != nil {
			if !n.cfg.Insecure {
				return fmt.Errorf("nimbus: %w", err)
			}
			n.log.Warn("insecure: listening beyond loopback without protection (--insecure)",
				"listener", l.what, "addr", l.addr, "authentication", s.AuthenticationEnabled(), "tls", l.tlsOn,
				"exposes", "anyone who reaches it may submit topologies (code that runs on every supervisor), kill and read them")
		}
	}
	return nil
}

// newSecurity builds the API's security from Config.Security.
func (n *Nimbus) newSecurity() (*security, error) {
	s := n.cfg.Security
	sec := &security{}
	var err error
	if s.TokensFile != "" {
		if sec.tokens, err = auth.LoadTokens(s.TokensFile); err != nil {
			return nil, fmt.Errorf("nimbus: %w", err)
		}
	}
	if s.GRPC.Enabled() {
		if sec.grpcTLS, err = s.GRPC.Config(); err != nil {
			return nil, fmt.Errorf("nimbus: gRPC TLS: %w", err)
		}
	}
	if s.REST.Enabled() {
		if sec.restTLS, err = s.REST.Config(); err != nil {
			return nil, fmt.Errorf("nimbus: REST TLS: %w", err)
		}
	}
	audit := auth.NewAudit(n.log.With("component", "audit"))
	if s.AuditLog != "" {
		if audit, sec.auditLog, err = auth.OpenAuditLog(s.AuditLog); err != nil {
			return nil, fmt.Errorf("nimbus: audit log: %w", err)
		}
	}
	policy := s.Policy
	policy.Enforce = s.AuthenticationEnabled()
	sec.guard, err = auth.NewGuard(auth.GuardConfig{
		Authenticator: auth.NewAuthenticator(sec.tokens, s.MutualTLS(), policy),
		Policy:        policy,
		Methods:       auth.NimbusMethods(),
		ACLs:          n.topologyACL,
		Audit:         audit,
		Logger:        n.log.With("component", "guard"),
	})
	if err != nil {
		sec.close()
		return nil, fmt.Errorf("nimbus: %w", err)
	}
	return sec, nil
}

func (s *security) close() {
	if s.auditLog != nil {
		s.auditLog.Close()
	}
}

// listen wraps l in TLS when cfg is set.
func listenTLS(l net.Listener, cfg *tls.Config) net.Listener {
	if cfg == nil {
		return l
	}
	return tls.NewListener(l, cfg)
}

// topologyACL is the Guard's auth.ACLSource: who may see and operate the
// topology a request names (the id wins over the name), from its record's
// owner and its configuration's topology.users/groups. A topology whose
// package this nimbus cannot read yet is its owner's and the admins' only.
func (n *Nimbus) topologyACL(ctx context.Context, id, name string) (auth.TopologyACL, error) {
	v := n.newView(ctx)
	rid, err := v.resolve(id, name)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return auth.TopologyACL{}, fmt.Errorf("%w: %v", auth.ErrUnknownTopology, err)
		}
		return auth.TopologyACL{}, err
	}
	rec, err := v.topology(rid)
	if errors.Is(err, ErrNotFound) {
		return auth.TopologyACL{}, fmt.Errorf("%w: %v", auth.ErrUnknownTopology, err)
	}
	if err != nil {
		return auth.TopologyACL{}, err
	}
	return n.aclOf(ctx, rec), nil
}

// aclOf returns rec's ACL; without its configuration (a follower that has
// not copied the package yet), its owner's alone.
func (n *Nimbus) aclOf(ctx context.Context, rec cluster.TopologyRecord) auth.TopologyACL {
	m, err := n.model(ctx, rec)
	if err != nil {
		return auth.TopologyACL{ID: rec.ID, Owner: rec.Owner}
	}
	acl, err := auth.TopologyACLFromConfig(rec.ID, rec.Owner, m.outline.Config)
	if err != nil {
		n.log.Warn("topology ACL", "topology", rec.ID, "err", err)
		return auth.TopologyACL{ID: rec.ID, Owner: rec.Owner}
	}
	return acl
}

// forwardedSkipTap lets the REST gateway's calls, over the in-process
// link, past the submission tap: the gateway took their slot already.
// Everything from the network takes one, whatever metadata it sends.
func forwardedSkipTap(next tap.ServerInHandle) tap.ServerInHandle {
	return func(ctx context.Context, info *tap.Info) (context.Context, error) {
		if p, ok := peer.FromContext(ctx); ok {
			if _, link := p.AuthInfo.(auth.LinkInfo); link {
				return ctx, nil
			}
		}
		return next(ctx, info)
	}
}

// setOwner records the submitting principal as the topology's owner, in
// its record and as topology.submitter.user, replacing any the submission
// named: the owner may operate the topology, so nobody chooses it.
func (acc *accepted) setOwner(ctx context.Context) {
	p, _ := auth.FromContext(ctx)
	acc.owner = p.Name
	if p.Name == "" {
		delete(acc.sub.Config.Fields, auth.KeyTopologySubmitterUser)
		delete(acc.outline.Config, auth.KeyTopologySubmitterUser)
		return
	}
	acc.sub.Config.Fields[auth.KeyTopologySubmitterUser] = structpb.NewStringValue(p.Name)
	acc.outline.Config = acc.outline.Config.Merge(topology.Config{auth.KeyTopologySubmitterUser: p.Name})
}

// nimbusOnlyKeys are configuration keys the cluster sets for a topology's
// workers; a submission carrying one is refused.
var nimbusOnlyKeys = []string{zkacl.KeyTopologyAuthScheme, zkacl.KeyTopologyAuthPayload, zkacl.KeySuperACL}

// checkNimbusOnlyKeys refuses a topology configuration that sets what only
// the cluster may: the ZooKeeper credential its workers get, which is
// derived from the topology's secret (zkacl.DerivedTopologyCredential).
// Storm takes a submitted one; squall does not, since a submission naming
// another topology's credential would read that topology's state.
func checkNimbusOnlyKeys(conf topology.Config) error {
	for _, k := range nimbusOnlyKeys {
		if _, ok := conf[k]; ok {
			return invalidf("config: %s is set by the cluster (each topology's ZooKeeper credential is derived from its secret), not by a submission", k)
		}
	}
	return nil
}

// newTopologySecret makes and stores topology id's worker secret, which
// its workers prove they hold to each other (auth.DialHandshake).
func (n *Nimbus) newTopologySecret(ctx context.Context, id string) error {
	secret, err := auth.NewTopologySecret()
	if err != nil {
		return fmt.Errorf("topology %s: %w", id, err)
	}
	if err := n.state.SetTopologySecret(ctx, id, secret); err != nil {
		return unavailablef("write the worker secret of %s: %v", id, err)
	}
	return nil
}

// nodeSecurer is a cluster state with a SetACL pass
// (cluster.ZooKeeper.SecureNodes).
type nodeSecurer interface {
	SecureNodes(ctx context.Context) (cluster.SecureResult, error)
}

// secureZooKeeper runs the cluster state's SetACL pass, which closes the
// nodes made before ZooKeeper authentication was configured (it logs each
// one), retrying until it succeeds or the leadership ends. It does nothing
// without ZooKeeper authentication. A topology with nodes but no worker
// secret (made by hand) keeps its nodes as they are, and is reported in
// the log and as an error of the topology.
func (n *Nimbus) secureZooKeeper(ctx context.Context) {
	s, ok := n.state.(nodeSecurer)
	if !ok {
		return
	}
	delays := backoff.New(backoff.Policy{Min: time.Second, Max: 30 * time.Second})
	for {
		res, err := s.SecureNodes(ctx)
		if err == nil {
			if len(res.Changed) > 0 {
				n.log.Info("zookeeper nodes made without ACLs secured", "nodes", len(res.Changed))
			}
			for _, id := range res.WithoutSecret {
				n.reportNoSecret(ctx, id)
			}
			return
		}
		if ctx.Err() != nil {
			return
		}
		n.log.Warn("secure zookeeper nodes made without ACLs", "err", err)
		t := time.NewTimer(delays.Next())
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
}

// reportNoSecret says, in the log and as an error of topology id, that id
// has nodes in ZooKeeper but no worker secret: nimbus makes one for every
// topology it accepts, so these nodes were made by hand (or the secret
// deleted). Its nodes keep their ACLs, which name no credential of its
// own, and its workers cannot start without a secret.
func (n *Nimbus) reportNoSecret(ctx context.Context, id string) {
	const msg = "topology has no worker secret: its zookeeper nodes are left as they are (not secured) and its workers cannot start; kill and resubmit it"
	n.log.Error(msg, "topology", id)
	err := n.state.ReportError(ctx, id, cluster.ErrorInfo{
		Component: topology.SystemComponent,
		Host:      n.cfg.Host,
		Time:      n.clock.Now(),
		Message:   "nimbus: " + msg,
	})
	if err != nil && ctx.Err() == nil {
		n.log.Warn("report a topology without a worker secret", "topology", id, "err", err)
	}
}
