package cluster

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/squallstream/squall/auth/zkacl"
)

// With ZooKeeper authentication on (Config.Auth), the daemons own every
// node, and each topology's credential, derived from its worker secret
// (zkacl.DerivedTopologyCredential), reads its storms/<id> and
// assignments/<id> and writes under its workerbeats/<id> and errors/<id>:
// what its workers read and write, and nothing else (docs/security.md).

// topologyCredential returns topology id's credential, derived from its
// worker secret; zero if it has none yet.
func (z *ZooKeeper) topologyCredential(ctx context.Context, id string) (zkacl.Credential, error) {
	secret, _, err := z.get(ctx, z.node(dirSecrets, id))
	switch {
	case errors.Is(err, zk.ErrNoNode):
		return zkacl.Credential{}, nil
	case err != nil:
		return zkacl.Credential{}, fmt.Errorf("read the worker secret of %s: %w", id, err)
	}
	return zkacl.DerivedTopologyCredential(id, secret), nil
}

// topologyACL returns the ACL of a node of kind that topology id's
// credential concerns. Before the topology has its secret it is the
// daemons' alone: SetTopologySecret grants the topology its nodes.
func (z *ZooKeeper) topologyACL(ctx context.Context, id string, kind zkacl.Kind) ([]zk.ACL, error) {
	if !z.policy.Enabled() || z.policy.Worker {
		return z.acl, nil
	}
	cred, err := z.topologyCredential(ctx, id)
	if err != nil || cred.IsZero() {
		return z.acl, err
	}
	return z.policy.ACL(kind, cred)
}

// grantTopology gives topology id's credential its nodes, as far as they
// exist: read on storms/<id> and assignments/<id>; workerbeats/<id> and
// errors/<id>, where its workers create their nodes, are created. Nothing
// without ACLs, or before the topology has its secret.
func (z *ZooKeeper) grantTopology(ctx context.Context, id string) error {
	if !z.policy.Enabled() || z.policy.Worker {
		return nil
	}
	cred, err := z.topologyCredential(ctx, id)
	if err != nil || cred.IsZero() {
		return err
	}
	state, err := z.policy.ACL(zkacl.KindTopologyState, cred)
	if err != nil {
		return err
	}
	shared, err := z.policy.ACL(zkacl.KindTopologyShared, cred)
	if err != nil {
		return err
	}
	for _, p := range []string{z.node(dirStorms, id), z.node(dirAssignments, id)} {
		if err := z.setACL(ctx, p, state); err != nil && !errors.Is(err, zk.ErrNoNode) {
			return fmt.Errorf("grant %s: %w", p, err)
		}
	}
	for _, p := range []string{z.node(dirWorkerBeats, id), z.node(dirErrors, id)} {
		_, err := z.createACL(ctx, p, nil, zk.FlagPersistent, true, shared)
		if errors.Is(err, zk.ErrNodeExists) {
			err = z.setACL(ctx, p, shared)
		}
		if err != nil {
			return fmt.Errorf("grant %s: %w", p, err)
		}
	}
	return nil
}

// setACL sets p's ACL.
func (z *ZooKeeper) setACL(ctx context.Context, p string, acl []zk.ACL) error {
	_, err := retry(ctx, z, true, func() (*zk.Stat, error) { return z.conn.SetACL(p, acl, -1) })
	return err
}

// watchNode returns a channel signalling changes of node p (created,
// changed, deleted), with the semantics State documents. It uses exists
// watches, which need no right on the node: a worker watches its own
// topology's nodes without listing the others.
func (z *ZooKeeper) watchNode(ctx context.Context, p string) <-chan struct{} {
	return z.watchWith(func(out chan<- struct{}) { z.watchNodeLoop(ctx, p, out) })
}

// watchNodeLoop keeps an exists watch armed on p, arming it again before
// each signal (see watchLoop).
func (z *ZooKeeper) watchNodeLoop(ctx context.Context, p string, out chan<- struct{}) {
	delay := 50 * time.Millisecond
	for {
		ch, err := retry(ctx, z, true, func() (<-chan zk.Event, error) {
			_, _, ch, err := z.conn.ExistsW(p)
			return ch, err
		})
		if err != nil {
			if ctx.Err() != nil || z.ctx.Err() != nil {
				return
			}
			z.log.Warn("arm zookeeper watch", "node", p, "err", err)
			if sleep(ctx, z.ctx, delay) != nil {
				return
			}
			delay = min(2*delay, 2*time.Second)
			continue
		}
		delay = 50 * time.Millisecond
		select {
		case out <- struct{}{}:
		default:
		}
		select {
		case <-ctx.Done():
			return
		case <-z.ctx.Done():
			return
		case <-ch:
		}
	}
}

// ACLChange is a node whose ACL SecureNodes set.
type ACLChange struct {
	Path string
	ACL  []zk.ACL
}

// SecureNodes is the SetACL pass for nodes made before ZooKeeper
// authentication was configured: it walks the root and sets the planned
// ACL (see securePass.planned) on every node anyone may use (world:anyone), and on
// every node of a topology whose credential it does not name (made by a
// squall that gave all nodes to the daemons alone), logging each change,
// and returns them. Other nodes are left alone, so running it again
// changes nothing. Without a daemon credential it does nothing. A
// topology's nodes wait for its worker secret (their ACL needs its
// credential): they are left as they are, and their topologies returned
// (SecureResult.WithoutSecret) for the caller to report.
func (z *ZooKeeper) SecureNodes(ctx context.Context) (SecureResult, error) {
	if !z.policy.Enabled() || z.policy.Worker {
		return SecureResult{}, nil
	}
	pass := &securePass{z: z, creds: map[string]zkacl.Credential{}}
	err := pass.tree(ctx, z.root)
	for id, cred := range pass.creds {
		if cred.IsZero() {
			pass.res.WithoutSecret = append(pass.res.WithoutSecret, id)
		}
	}
	slices.Sort(pass.res.WithoutSecret)
	return pass.res, err
}

// SecureResult is what SecureNodes did and left undone.
type SecureResult struct {
	// Changed are the nodes whose ACL it set.
	Changed []ACLChange
	// WithoutSecret are the topologies that have nodes but no worker
	// secret (nodes made by hand: nimbus makes the secret of every
	// topology it accepts), whose nodes it left as they were.
	WithoutSecret []string
}

// securePass is one run of SecureNodes.
type securePass struct {
	z     *ZooKeeper
	creds map[string]zkacl.Credential // topology id → credential, zero if none
	res   SecureResult
}

// tree secures p and everything under it.
func (s *securePass) tree(ctx context.Context, p string) error {
	if err := s.node(ctx, p); err != nil {
		return fmt.Errorf("secure %s: %w", p, err)
	}
	kids, err := s.z.children(ctx, p)
	if err != nil {
		return fmt.Errorf("secure %s: %w", p, err)
	}
	for _, k := range kids {
		if err := s.tree(ctx, p+"/"+k); err != nil {
			return err
		}
	}
	return nil
}

// node sets p's planned ACL if p is open, or is a topology's node whose
// credential its ACL does not name (made by a squall that gave every node
// to the daemons alone).
func (s *securePass) node(ctx context.Context, p string) error {
	z := s.z
	for {
		type got struct {
			acl  []zk.ACL
			stat *zk.Stat
		}
		g, err := retry(ctx, z, true, func() (got, error) {
			acl, stat, err := z.conn.GetACL(p)
			return got{acl, stat}, err
		})
		if errors.Is(err, zk.ErrNoNode) {
			return nil // deleted meanwhile
		}
		if err != nil {
			return err
		}
		open := zkacl.IsOpen(g.acl)
		acl, topoID, err := s.planned(ctx, p)
		switch {
		case errors.Is(err, zkacl.ErrNoTopologyCredential):
			if open {
				// The caller reports the topology once (SecureResult.WithoutSecret).
				z.log.Debug("zookeeper node left open: its topology has no worker secret", "path", p)
			}
			return nil
		case err != nil:
			return err
		case !open && (topoID == "" || hasID(g.acl, topoID)):
			return nil
		}
		_, err = retry(ctx, z, true, func() (*zk.Stat, error) { return z.conn.SetACL(p, acl, g.stat.Aversion) })
		switch {
		case errors.Is(err, zk.ErrNoNode):
			return nil
		case errors.Is(err, zk.ErrBadVersion):
			continue // changed meanwhile (grantTopology): look again
		case err != nil:
			return err
		}
		z.log.Info("zookeeper ACL set on a node made without it", "path", p, "was", aclString(g.acl), "acl", aclString(acl))
		s.res.Changed = append(s.res.Changed, ACLChange{Path: p, ACL: acl})
		return nil
	}
}

// planned returns the ACL node p gets by its place under the root,
// and for a topology's node the digest id of the topology's credential:
//
//	storms/<id>, assignments/<id>               KindTopologyState
//	workerbeats/<id>, errors/<id>               KindTopologyShared
//	workerbeats/<id>/..., errors/<id>/...       KindWorker
//	secrets/<id>                                KindSecret
//	the root, its directories, everything else  KindDaemon
func (s *securePass) planned(ctx context.Context, p string) ([]zk.ACL, string, error) {
	z := s.z
	rel := strings.TrimPrefix(strings.TrimPrefix(p, z.root), "/")
	parts := strings.Split(rel, "/")
	daemon := func() ([]zk.ACL, string, error) {
		acl, err := z.policy.ACL(zkacl.KindDaemon, zkacl.Credential{})
		return acl, "", err
	}
	if rel == "" || len(parts) < 2 {
		return daemon()
	}
	dir, id := parts[0], fromNodeName(parts[1])
	var kind zkacl.Kind
	switch {
	case dir == dirSecrets:
		acl, err := z.policy.ACL(zkacl.KindSecret, zkacl.Credential{})
		return acl, "", err
	case (dir == dirStorms || dir == dirAssignments) && len(parts) == 2:
		kind = zkacl.KindTopologyState
	case (dir == dirWorkerBeats || dir == dirErrors) && len(parts) == 2:
		kind = zkacl.KindTopologyShared
	case dir == dirWorkerBeats || dir == dirErrors:
		kind = zkacl.KindWorker
	default:
		return daemon()
	}
	cred, ok := s.creds[id]
	if !ok {
		var err error
		if cred, err = z.topologyCredential(ctx, id); err != nil {
			return nil, "", err
		}
		s.creds[id] = cred
	}
	if cred.IsZero() {
		return nil, "", fmt.Errorf("%s: %w", path.Join(dir, id), zkacl.ErrNoTopologyCredential)
	}
	topoID, err := zkacl.DigestID(cred)
	if err != nil {
		return nil, "", err
	}
	var acl []zk.ACL
	if kind == zkacl.KindWorker {
		acl, err = z.policy.WorkerNodeACL(cred)
	} else {
		acl, err = z.policy.ACL(kind, cred)
	}
	return acl, topoID, err
}

// hasID reports whether acl names the digest id.
func hasID(acl []zk.ACL, id string) bool {
	for _, a := range acl {
		if a.Scheme == zkacl.SchemeDigest && a.ID == id {
			return true
		}
	}
	return false
}

// aclString shows an ACL as "scheme:id:perms,...", ids included (they are
// digests, not passwords).
func aclString(acl []zk.ACL) string {
	parts := make([]string, len(acl))
	for i, a := range acl {
		parts[i] = fmt.Sprintf("%s:%s:%d", a.Scheme, a.ID, a.Perms)
	}
	return strings.Join(parts, ",")
}
