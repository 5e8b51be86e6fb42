package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"
)

// Leader election is ZooKeeper's recipe: each candidate creates an
// ephemeral sequential node under leader-lock, named <guid>-n_<seq> (the
// guid finds the node again if the create's answer is lost); the lowest
// sequence leads; every other candidate watches its predecessor only.

// errRenew means a candidacy must be created again: its node vanished with
// an expired session, or the session changed while it was being created.
var errRenew = errors.New("candidacy must be renewed")

// Campaign implements State.
func (z *ZooKeeper) Campaign(ctx context.Context, info NimbusInfo) (*Leadership, error) {
	if info.Host == "" || info.Port <= 0 {
		return nil, fmt.Errorf("campaign as %q: %w", info.Addr(), ErrInvalid)
	}
	info.IsLeader = false
	data, err := json.Marshal(info)
	if err != nil {
		return nil, fmt.Errorf("campaign as %s: %w", info.Addr(), err)
	}
	for {
		node, err := z.createCandidate(ctx, data)
		if err != nil {
			return nil, fmt.Errorf("campaign as %s: %w", info.Addr(), err)
		}
		if err := ctx.Err(); err != nil {
			z.withdraw(ctx, node)
			return nil, fmt.Errorf("campaign as %s: %w", info.Addr(), err)
		}
		// The node belongs to this session or to an earlier one; the client
		// reports a new session (onEvent) before it sends anything in it.
		// A node of an expired session is gone, which await notices.
		z.mu.Lock()
		sid := z.session
		z.mu.Unlock()
		l, err := z.await(ctx, node, sid, info)
		if err == nil {
			z.log.Info("leadership won", "leader", info.Addr(), "node", node)
			return l, nil
		}
		z.withdraw(ctx, node)
		if !errors.Is(err, errRenew) {
			return nil, fmt.Errorf("campaign as %s: %w", info.Addr(), err)
		}
		z.log.Info("renewing election candidacy", "leader", info.Addr())
	}
}

// createCandidate creates this campaign's candidate node and returns its
// path. The create itself is not abandoned when ctx ends, lest it create a
// node nobody knows of, which could lead with no one acting as leader; the
// caller withdraws the node instead. It is bounded by the session timeout
// (within which the client answers or fails every request), after which
// the node is searched for like after a lost answer.
func (z *ZooKeeper) createCandidate(ctx context.Context, data []byte) (string, error) {
	var guid [16]byte
	_, _ = rand.Read(guid[:])
	prefix := hex.EncodeToString(guid[:]) + "-n_"
	dir := z.dir(dirLeaderLock)
	for delay := 20 * time.Millisecond; ; delay = min(2*delay, time.Second) {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), z.cfg.SessionTimeout)
		created, err := call(cctx, z, func() (string, error) {
			return z.conn.Create(dir+"/"+prefix, data, zk.FlagEphemeral|zk.FlagSequence, z.acl)
		})
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			err = zk.ErrConnectionClosed // outcome unknown
		}
		switch {
		case err == nil:
			return created, nil
		case errors.Is(err, zk.ErrNoNode):
			if err := z.ensurePath(ctx, dir); err != nil {
				return "", err
			}
			continue
		case errors.Is(err, zk.ErrNoServer): // not sent
			if err := sleep(ctx, z.ctx, delay); err != nil {
				return "", err
			}
			continue
		case !ambiguous(err):
			return "", err
		}
		// The answer was lost: look for the node before creating another.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), z.cfg.SessionTimeout)
		kids, err := z.children(lctx, dir)
		cancel()
		if err != nil {
			return "", err
		}
		for _, k := range kids {
			if strings.HasPrefix(k, prefix) {
				return dir + "/" + k, nil
			}
		}
		if err := sleep(ctx, z.ctx, delay); err != nil {
			return "", err
		}
	}
}

// await waits until candidate node leads, and grants the leadership.
// sid is the session the node was created in, or a later one (in which the
// node no longer exists).
func (z *ZooKeeper) await(ctx context.Context, node string, sid int64, info NimbusInfo) (*Leadership, error) {
	name := path.Base(node)
	for {
		kids, err := z.candidates(ctx)
		if err != nil {
			return nil, err
		}
		i := slices.Index(kids, name)
		if i < 0 {
			return nil, errRenew // gone with an expired session
		}
		if i == 0 {
			l, err := z.grant(node, sid, info)
			if l != nil || err != nil {
				return l, err
			}
			// Disconnected: look again once the connection is back.
			if err := sleep(ctx, z.ctx, 100*time.Millisecond); err != nil {
				return nil, err
			}
			continue
		}
		type watched struct {
			ok bool
			ch <-chan zk.Event
		}
		pred := z.dir(dirLeaderLock) + "/" + kids[i-1]
		w, err := retry(ctx, z, true, func() (watched, error) {
			ok, _, ch, err := z.conn.ExistsW(pred)
			return watched{ok, ch}, err
		})
		if err != nil {
			return nil, err
		}
		if !w.ok {
			continue
		}
		select {
		case <-w.ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-z.ctx.Done():
			return nil, ErrClosed
		}
	}
}

// grant makes the candidate node, which leads, a Leadership if its session
// sid is still the current, connected one. It returns nil, nil if the
// connection is down, and errRenew if the session changed.
func (z *ZooKeeper) grant(node string, sid int64, info NimbusInfo) (*Leadership, error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	switch {
	case z.closed:
		return nil, ErrClosed
	case z.session != sid:
		return nil, errRenew
	case !z.connected:
		return nil, nil
	}
	var l *Leadership
	l = newLeadership(info, func(ctx context.Context) error { return z.resign(ctx, l) })
	z.leaderships[l] = node
	z.wg.Go(func() { z.watchLeadership(l, node) })
	return l, nil
}

// watchLeadership ends l if its node is deleted (by an operator, say).
func (z *ZooKeeper) watchLeadership(l *Leadership, node string) {
	type watched struct {
		ok bool
		ch <-chan zk.Event
	}
	for !l.IsLost() {
		w, err := retry(z.ctx, z, true, func() (watched, error) {
			ok, _, ch, err := z.conn.ExistsW(node)
			return watched{ok, ch}, err
		})
		switch {
		case z.ctx.Err() != nil || l.IsLost():
			return
		case err != nil:
			z.log.Warn("watch election node", "node", node, "err", err)
			select {
			case <-time.After(time.Second):
			case <-l.Lost():
			case <-z.ctx.Done():
			}
			continue
		case !w.ok:
			z.mu.Lock()
			if _, live := z.leaderships[l]; live {
				delete(z.leaderships, l)
				l.end()
				z.log.Warn("leadership lost: election node deleted", "leader", l.info.Addr(), "node", node)
			}
			z.mu.Unlock()
			return
		}
		select {
		case <-w.ch:
		case <-l.Lost():
		case <-z.ctx.Done():
		}
	}
}

// resign ends l and deletes its node.
func (z *ZooKeeper) resign(ctx context.Context, l *Leadership) error {
	z.mu.Lock()
	node, live := z.leaderships[l]
	delete(z.leaderships, l)
	z.mu.Unlock()
	if !live {
		return nil // ended earlier; its node was queued for deletion then
	}
	z.log.Info("leadership resigned", "leader", l.info.Addr())
	if err := z.deleteIfExists(ctx, node); err != nil {
		z.queueStale(node)
		return fmt.Errorf("resign leadership: %w", err)
	}
	return nil
}

// withdraw deletes a candidate node that no campaign waits on any more,
// leaving it to the maintenance goroutine if that fails now.
func (z *ZooKeeper) withdraw(ctx context.Context, node string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), z.cfg.SessionTimeout)
	defer cancel()
	if err := z.deleteIfExists(ctx, node); err != nil {
		z.queueStale(node)
	}
}

// queueStale queues node for deletion by the maintenance goroutine.
func (z *ZooKeeper) queueStale(node string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if !z.closed {
		z.stale = append(z.stale, node)
		z.wake()
	}
}

// candidates returns the names of the candidate nodes, lowest sequence
// first.
func (z *ZooKeeper) candidates(ctx context.Context) ([]string, error) {
	kids, err := z.children(ctx, z.dir(dirLeaderLock))
	if err != nil {
		return nil, err
	}
	kids = slices.DeleteFunc(kids, func(k string) bool { return seqOf(k) < 0 })
	slices.SortFunc(kids, compareSeqNames)
	return kids, nil
}

// Leader implements State.
func (z *ZooKeeper) Leader(ctx context.Context) (NimbusInfo, bool, error) {
	for {
		kids, err := z.candidates(ctx)
		if err != nil {
			return NimbusInfo{}, false, fmt.Errorf("read leader: %w", err)
		}
		if len(kids) == 0 {
			return NimbusInfo{}, false, nil
		}
		var info NimbusInfo
		err = z.getJSON(ctx, z.dir(dirLeaderLock)+"/"+kids[0], &info)
		switch {
		case errors.Is(err, zk.ErrNoNode):
			continue // the leader just left; look again
		case err != nil:
			return NimbusInfo{}, false, fmt.Errorf("read leader: %w", err)
		}
		info.IsLeader = true
		return info, true, nil
	}
}

// sleep waits for d, or returns the error of whichever context ends first
// (ErrClosed for the State's).
func sleep(ctx, state context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-state.Done():
		return ErrClosed
	}
}
