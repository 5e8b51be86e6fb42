package cluster

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/go-zookeeper/zk"
)

// RegisterSupervisor implements State.
func (z *ZooKeeper) RegisterSupervisor(ctx context.Context, info SupervisorInfo) error {
	if err := checkID("supervisor", info.ID); err != nil {
		return fmt.Errorf("register supervisor: %w", err)
	}
	data, err := json.Marshal(info)
	if err != nil {
		return fmt.Errorf("register supervisor %s: %w", info.ID, err)
	}
	if err := z.register(ctx, z.node(dirSupervisors, info.ID), data); err != nil {
		return fmt.Errorf("register supervisor %s: %w", info.ID, err)
	}
	return nil
}

// GetSupervisor implements State.
func (z *ZooKeeper) GetSupervisor(ctx context.Context, id string) (SupervisorInfo, error) {
	var info SupervisorInfo
	if err := checkID("supervisor", id); err != nil {
		return info, fmt.Errorf("get supervisor: %w", err)
	}
	if err := z.getJSON(ctx, z.node(dirSupervisors, id), &info); err != nil {
		return SupervisorInfo{}, fmt.Errorf("get supervisor %s: %w", id, notFound(err))
	}
	return info, nil
}

// ListSupervisors implements State.
func (z *ZooKeeper) ListSupervisors(ctx context.Context) ([]string, error) {
	ids, err := z.listNames(ctx, z.dir(dirSupervisors))
	if err != nil {
		return nil, fmt.Errorf("list supervisors: %w", err)
	}
	return ids, nil
}

// WatchSupervisors implements State.
func (z *ZooKeeper) WatchSupervisors(ctx context.Context) <-chan struct{} {
	return z.watchDir(ctx, z.dir(dirSupervisors))
}

// RegisterNimbus implements State.
func (z *ZooKeeper) RegisterNimbus(ctx context.Context, info NimbusInfo) error {
	if info.Host == "" || info.Port <= 0 {
		return fmt.Errorf("register nimbus %q: %w", info.Addr(), ErrInvalid)
	}
	info.IsLeader = false
	data, err := json.Marshal(info)
	if err != nil {
		return fmt.Errorf("register nimbus %s: %w", info.Addr(), err)
	}
	if err := z.register(ctx, z.node(dirNimbuses, info.Addr()), data); err != nil {
		return fmt.Errorf("register nimbus %s: %w", info.Addr(), err)
	}
	return nil
}

// ListNimbuses implements State.
func (z *ZooKeeper) ListNimbuses(ctx context.Context) ([]NimbusInfo, error) {
	dir := z.dir(dirNimbuses)
	names, err := z.children(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("list nimbuses: %w", err)
	}
	leader, hasLeader, err := z.Leader(ctx)
	if err != nil {
		return nil, fmt.Errorf("list nimbuses: %w", err)
	}
	var out []NimbusInfo
	for _, n := range names {
		var info NimbusInfo
		err := z.getJSON(ctx, dir+"/"+n, &info)
		switch {
		case errors.Is(err, zk.ErrNoNode):
			continue // gone meanwhile
		case err != nil:
			return nil, fmt.Errorf("list nimbuses: %w", err)
		}
		info.IsLeader = hasLeader && info.Addr() == leader.Addr()
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b NimbusInfo) int { return cmp.Compare(a.Addr(), b.Addr()) })
	return out, nil
}

// register remembers data as the content of this session's ephemeral node
// p, for re-creation after an expiry, and writes it.
func (z *ZooKeeper) register(ctx context.Context, p string, data []byte) error {
	select {
	case z.regSem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-z.ctx.Done():
		return ErrClosed
	}
	defer func() { <-z.regSem }()
	z.regs[p] = data
	return z.writeEphemeral(ctx, p, data)
}

// registerAll re-creates every registration, after a session expiry.
func (z *ZooKeeper) registerAll(ctx context.Context) error {
	select {
	case z.regSem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-z.regSem }()
	var errs []error
	for p, data := range z.regs {
		if err := z.writeEphemeral(ctx, p, data); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p, err))
			continue
		}
		z.log.Info("re-registered after session expiry", "path", p)
	}
	return errors.Join(errs...)
}

// writeEphemeral makes p an ephemeral node of this session holding data:
// it creates it, updates it if this session owns it, and replaces it if
// another session does. Callers hold regSem.
func (z *ZooKeeper) writeEphemeral(ctx context.Context, p string, data []byte) error {
	type existing struct {
		ok   bool
		stat *zk.Stat
	}
	const maxAttempts = 10
	var err error
	for range maxAttempts {
		_, err = z.create(ctx, p, data, zk.FlagEphemeral, true)
		if !errors.Is(err, zk.ErrNodeExists) {
			return err
		}
		var cur existing
		cur, err = retry(ctx, z, true, func() (existing, error) {
			ok, stat, err := z.conn.Exists(p)
			return existing{ok, stat}, err
		})
		switch {
		case err != nil:
			return err
		case !cur.ok:
			continue // gone meanwhile; create again
		case cur.stat.EphemeralOwner == z.conn.SessionID():
			_, err = retry(ctx, z, true, func() (*zk.Stat, error) { return z.conn.Set(p, data, cur.stat.Version) })
			if !errors.Is(err, zk.ErrBadVersion) && !errors.Is(err, zk.ErrNoNode) {
				return err
			}
		default:
			z.log.Info("replacing node of another session", "path", p, "owner", sessionHex(cur.stat.EphemeralOwner))
			_, err = call(ctx, z, func() (struct{}, error) { return struct{}{}, z.conn.Delete(p, cur.stat.Version) })
			if err != nil && !errors.Is(err, zk.ErrBadVersion) && !errors.Is(err, zk.ErrNoNode) {
				return err
			}
		}
	}
	if err == nil {
		err = zk.ErrNodeExists
	}
	return fmt.Errorf("write ephemeral node %s: gave up after %d attempts: %w", p, maxAttempts, err)
}
