package nimbus

import (
	"github.com/squallstream/squall/internal/backoff"

	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/metadata"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/cluster"
)

// replicaOf is the gRPC metadata key a nimbus sets on the package
// downloads it makes to hold a copy, naming itself; the nimbus serving
// the download remembers it for replicationCount.
const replicaOf = "squall-replica"

// replicate keeps this nimbus's packages in step with the topologies in
// the cluster state, so that it can take over as leader: it copies each
// package it lacks from the leader (or, when it leads, from any nimbus
// that has it) and, unless it leads, removes the packages of topologies
// that are gone. It runs on every change of the topologies, and after a
// failure again with backoff, until ctx ends.
func (n *Nimbus) replicate(ctx context.Context) {
	changes := n.state.WatchTopologies(ctx)
	b := backoff.New(backoff.Policy{Min: 500 * time.Millisecond, Max: 30 * time.Second})
	var (
		retry <-chan time.Time
		timer *time.Timer
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-changes:
			if !ok {
				changes = nil // the state is closed
				continue
			}
		case <-retry:
		}
		err := n.syncPackages(ctx)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			b.Reset()
			retry = nil
			continue
		}
		d := b.Next()
		n.log.Warn("copy packages", "err", err, "retry", d)
		if timer != nil {
			timer.Stop()
		}
		timer = time.NewTimer(d)
		retry = timer.C
	}
}

// syncPackages makes one round of replicate.
func (n *Nimbus) syncPackages(ctx context.Context) error {
	ids, err := n.state.ListTopologies(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		rec, err := n.state.GetTopology(ctx, id)
		if errors.Is(err, cluster.ErrNotFound) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if n.store.has(id, rec.PackageDigest) {
			continue
		}
		if err := n.fetch(ctx, rec); err != nil {
			errs = append(errs, err)
		}
	}
	if n.currentLeader() == nil {
		removed, err := n.store.prune(func() (map[string]bool, error) {
			ids, err := n.state.ListTopologies(ctx)
			if err != nil {
				return nil, err
			}
			live := make(map[string]bool, len(ids))
			for _, id := range ids {
				live[id] = true
			}
			return live, nil
		})
		for _, id := range removed {
			n.models.forget(id)
			n.log.Info("package removed", "topology", id)
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// fetch copies topology rec's package from the leader, or from the other
// nimbuses if this one leads or the leader does not have it.
func (n *Nimbus) fetch(ctx context.Context, rec cluster.TopologyRecord) error {
	self := n.info().Addr()
	var sources []string
	leader, ok, err := n.state.Leader(ctx)
	if err != nil {
		return err
	}
	if ok && leader.Addr() != self {
		sources = append(sources, leader.Addr())
	}
	nimbuses, err := n.state.ListNimbuses(ctx)
	if err != nil {
		return err
	}
	for _, nb := range nimbuses {
		if a := nb.Addr(); a != self && (!ok || a != leader.Addr()) {
			sources = append(sources, a)
		}
	}
	if len(sources) == 0 {
		return fmt.Errorf("copy package of %s: no other nimbus to copy it from", rec.ID)
	}
	var errs []error
	for _, addr := range sources {
		err := n.fetchFrom(ctx, addr, rec)
		if err == nil {
			return nil
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// fetchFrom downloads topology rec's package from the nimbus at addr and
// installs it.
func (n *Nimbus) fetchFrom(ctx context.Context, addr string, rec cluster.TopologyRecord) error {
	conn, err := n.conn(addr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, replicaOf, n.info().Addr())
	stream, err := api.NewNimbusClient(conn).DownloadPackage(ctx,
		&api.DownloadPackageRequest{TopologyId: rec.ID, Digest: rec.PackageDigest})
	if err != nil {
		return fmt.Errorf("copy package of %s from %s: %w", rec.ID, addr, err)
	}
	w, err := n.store.create()
	if err != nil {
		return err
	}
	m, err := api.ReceivePackage(stream, w.resources(), w.binary())
	if err != nil {
		w.abort()
		return fmt.Errorf("copy package of %s from %s: %w", rec.ID, addr, err)
	}
	staged, err := w.finish(m.GetSubmission())
	if err != nil {
		return err
	}
	if staged.digest != rec.PackageDigest {
		n.store.discard(staged)
		return fmt.Errorf("copy package of %s from %s: got digest %s, want %s", rec.ID, addr, staged.digest, rec.PackageDigest)
	}
	n.store.installing.RLock()
	defer n.store.installing.RUnlock()
	if err := n.store.install(staged, rec.ID); err != nil {
		n.store.discard(staged)
		return err
	}
	n.log.Info("package copied", "topology", rec.ID, "from", addr, "digest", rec.PackageDigest)
	return nil
}

// noteReplica remembers that the nimbus a download's metadata names holds
// a copy of the package with digest.
func (n *Nimbus) noteReplica(ctx context.Context, digest string) {
	md, ok := metadata.FromIncomingContext(ctx)
	if !ok || len(md.Get(replicaOf)) == 0 {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.replicas == nil {
		n.replicas = make(map[string]map[string]bool)
	}
	if n.replicas[digest] == nil {
		n.replicas[digest] = make(map[string]bool)
	}
	n.replicas[digest][md.Get(replicaOf)[0]] = true
}

// forgetReplicas forgets the copies of a removed package.
func (n *Nimbus) forgetReplicas(digest string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.replicas, digest)
}

// replicationCount returns how many live nimbuses hold topology rec's
// package, as far as this nimbus knows: itself if it does, the leader
// (which holds every package it accepted or copied), and the nimbuses
// that copied the package from this one.
func (n *Nimbus) replicationCount(rec cluster.TopologyRecord, nimbuses []cluster.NimbusInfo) int32 {
	self := n.info().Addr()
	var count int32
	if n.store.has(rec.ID, rec.PackageDigest) {
		count++
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, nb := range nimbuses {
		a := nb.Addr()
		if a != self && (nb.IsLeader || n.replicas[rec.PackageDigest][a]) {
			count++
		}
	}
	return count
}
