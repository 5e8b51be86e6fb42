package cluster

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-zookeeper/zk"
)

// dirSecrets holds each topology's worker secret (secrets/<id>), which
// only the cluster's daemons may read (zkacl.KindSecret).
const dirSecrets = "secrets"

// MaxSecretBytes bounds a topology secret as stored.
const MaxSecretBytes = 1024

// SetTopologySecret implements State.
func (z *ZooKeeper) SetTopologySecret(ctx context.Context, id string, secret []byte) error {
	if err := checkSecret(id, secret); err != nil {
		return fmt.Errorf("set topology secret: %w", err)
	}
	p := z.node(dirSecrets, id)
	if _, err := z.create(ctx, p, secret, zk.FlagPersistent, true); err != nil && !errors.Is(err, zk.ErrNodeExists) {
		return fmt.Errorf("set topology secret %s: %w", id, err)
	}
	if err := z.put(ctx, p, secret); err != nil {
		return fmt.Errorf("set topology secret %s: %w", id, err)
	}
	if err := z.grantTopology(ctx, id); err != nil {
		return fmt.Errorf("set topology secret %s: %w", id, err)
	}
	return nil
}

// GetTopologySecret implements State.
func (z *ZooKeeper) GetTopologySecret(ctx context.Context, id string) ([]byte, error) {
	if err := checkID("topology", id); err != nil {
		return nil, fmt.Errorf("get topology secret: %w", err)
	}
	data, _, err := z.get(ctx, z.node(dirSecrets, id))
	if err != nil {
		return nil, fmt.Errorf("get topology secret %s: %w", id, notFound(err))
	}
	return data, nil
}

// deleteSecret removes id's secret, if it has one.
func (z *ZooKeeper) deleteSecret(ctx context.Context, id string) error {
	err := z.deleteNode(ctx, z.node(dirSecrets, id))
	if err != nil && !errors.Is(notFound(err), ErrNotFound) {
		return fmt.Errorf("delete topology secret %s: %w", id, err)
	}
	return nil
}

// SetTopologySecret implements State.
func (s *MemorySession) SetTopologySecret(ctx context.Context, id string, secret []byte) error {
	if err := checkSecret(id, secret); err != nil {
		return fmt.Errorf("set topology secret: %w", err)
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.m.mu.Unlock()
	s.m.secrets[id] = append([]byte(nil), secret...)
	return nil
}

// GetTopologySecret implements State.
func (s *MemorySession) GetTopologySecret(ctx context.Context, id string) ([]byte, error) {
	if err := checkID("topology", id); err != nil {
		return nil, fmt.Errorf("get topology secret: %w", err)
	}
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.m.mu.Unlock()
	secret, ok := s.m.secrets[id]
	if !ok {
		return nil, fmt.Errorf("get topology secret %s: %w", id, ErrNotFound)
	}
	return append([]byte(nil), secret...), nil
}

func checkSecret(id string, secret []byte) error {
	if err := checkID("topology", id); err != nil {
		return err
	}
	if len(secret) == 0 || len(secret) > MaxSecretBytes {
		return fmt.Errorf("%w: a secret of %d bytes (want 1 to %d)", ErrInvalid, len(secret), MaxSecretBytes)
	}
	return nil
}
